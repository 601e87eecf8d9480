import pytest
import torch
import torch.nn.functional as F

from pyg_ext.blocks.gated_temporal_conv import GatedTemporalConv


def split_reference(layer: GatedTemporalConv, x: torch.Tensor):
    """Two separate torch.nn.Conv1d (P and Q) with the fused conv's halves copied in."""
    conv, h = layer.conv, layer.out_channels
    convs = []
    for half in (slice(0, h), slice(h, 2 * h)):
        ref = torch.nn.Conv1d(layer.in_channels, h, conv.kernel_size, dilation=conv.dilation,
                              bias=conv.bias is not None).to(x.dtype)
        with torch.no_grad():
            ref.weight.copy_(conv.weight[half])
            if conv.bias is not None:
                ref.bias.copy_(conv.bias[half])
        convs.append(ref)
    hx = x.transpose(1, 2)  # [B, F, T]
    if conv.padding == 'same':
        hx = F.pad(hx, ((conv.kernel_size - 1) * conv.dilation, 0))  # causal
    p, q = (ref(hx).transpose(1, 2) for ref in convs)  # [B, T', H]
    return p, q


@pytest.mark.parametrize('padding', ['same', 'valid'])
@pytest.mark.parametrize('bias', [True, False])
def test_formulas(padding, bias, sequence, spatiotemporal):
    for gate in ('glu', 'tanh'):
        layer = GatedTemporalConv(5, 4, 3, dilation=2, gate=gate, padding=padding,
                                  bias=bias).double()
        x = sequence.double()  # [B=3, T=11, F=5]
        p, q = split_reference(layer, x)
        expected = p * torch.sigmoid(q) if gate == 'glu' else torch.tanh(p) * torch.sigmoid(q)
        assert torch.allclose(layer(x), expected)

        layer = GatedTemporalConv(3, 4, 2, gate=gate, padding=padding, bias=bias).double()
        x = spatiotemporal.double()  # [B=2, T=6, N=7, F=3]
        out = layer(x)
        assert out.shape == (2, 6 if padding == 'same' else 5, 7, 4)
        for n in range(x.size(2)):
            p, q = split_reference(layer, x[:, :, n])
            expected = (p * torch.sigmoid(q) if gate == 'glu'
                        else torch.tanh(p) * torch.sigmoid(q))
            assert torch.allclose(out[:, :, n], expected)


def test_one_fused_conv():
    layer = GatedTemporalConv(3, 4, 2)
    assert layer.conv.out_channels == 8
    assert [name for name, _ in layer.named_parameters()] == ['conv.weight', 'conv.bias']


def test_causal():
    layer = GatedTemporalConv(3, 4, 3, dilation=2, gate='tanh')
    x = torch.randn(2, 9, 3, requires_grad=True)
    out = layer(x)
    for t in range(9):
        grad, = torch.autograd.grad(out[:, t].sum(), x, retain_graph=True)
        assert grad[:, t + 1:].abs().sum() == 0 and grad[:, t].abs().sum() > 0


def test_repr():
    assert str(GatedTemporalConv(16, 32, 3)) == 'GatedTemporalConv(16, 32, kernel_size=3)'
    layer = GatedTemporalConv(16, 32, 2, dilation=2, gate='tanh', padding='valid', bias=False)
    assert str(layer) == ("GatedTemporalConv(16, 32, kernel_size=2, gate='tanh', dilation=2, "
                          "padding='valid', bias=False)")


def test_errors():
    layer = GatedTemporalConv(3, 4, 2)
    with pytest.raises(ValueError, match='build the layer with in_channels=5'):
        layer(torch.randn(2, 6, 5))
    with pytest.raises(ValueError, match=r'x.unsqueeze\(0\)'):
        layer(torch.randn(6, 3))
    with pytest.raises(ValueError, match="pass 'glu'"):
        GatedTemporalConv(3, 4, 2, gate='relu')


def test_reset_gradients_and_save_load(spatiotemporal, reloaded):
    layer = GatedTemporalConv(3, 4, 2, gate='tanh')
    before = layer.conv.weight.detach().clone()
    layer.reset_parameters()
    assert not torch.equal(before, layer.conv.weight)

    layer(spatiotemporal).square().sum().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name

    loaded = reloaded(layer)
    assert torch.equal(loaded(spatiotemporal), layer(spatiotemporal))


def test_compile_no_graph_breaks(sequence, spatiotemporal, graph_breaks):
    layer = GatedTemporalConv(3, 4, 3, dilation=2)
    count, why = graph_breaks(layer, spatiotemporal)
    assert count == 0, why
    layer = GatedTemporalConv(5, 4, 2, gate='tanh', padding='valid')
    count, why = graph_breaks(layer, sequence)
    assert count == 0, why


def test_glu_shortcut_inside_the_gate(spatiotemporal):
    layer = GatedTemporalConv(3, 4, 2, padding='valid').double()
    x = spatiotemporal.double()  # [B=2, T=6, N=7, F=3]
    p, q = (t.view(2, 7, 5, 4).transpose(1, 2) for t in split_reference(
        layer, x.transpose(1, 2).reshape(14, 6, 3)))  # per node: [B, T'=5, N, H]
    s = torch.randn(2, 5, 7, 4, dtype=torch.double)
    assert torch.allclose(layer(x, s), (p + s) * torch.sigmoid(q))  # STGCN's code
    assert torch.allclose(layer(x, torch.zeros_like(s)), layer(x))
    with pytest.raises(ValueError, match='crop it to the last 5 steps'):
        layer(x, s[:, 1:])
    tanh = GatedTemporalConv(3, 4, 2, gate='tanh', padding='valid')
    with pytest.raises(ValueError, match="defined for gate='glu'"):
        tanh(spatiotemporal, s.float())
