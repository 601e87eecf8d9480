import pytest
import torch
import torch.nn.functional as F

from pyg_ext.blocks.temporal_conv import TemporalConv


def reference(conv: TemporalConv, x: torch.Tensor) -> torch.Tensor:
    """torch.nn.Conv1d with copied weights on a [B, T, F] input, padded by hand."""
    k, d = conv.kernel_size, conv.dilation
    same_symmetric = conv.padding == 'same' and not conv.causal
    ref = torch.nn.Conv1d(conv.in_channels, conv.out_channels, k, stride=conv.stride,
                          dilation=d, groups=conv.groups, bias=conv.bias is not None,
                          padding='same' if same_symmetric else 0).to(x.dtype)
    with torch.no_grad():
        ref.weight.copy_(conv.weight)
        if conv.bias is not None:
            ref.bias.copy_(conv.bias)
    h = x.transpose(1, 2)  # [B, F, T]
    if conv.padding == 'same' and conv.causal:
        h = F.pad(h, ((k - 1) * d, 0))
    return ref(h).transpose(1, 2)  # [B, T', H]


CONFIGS = [
    dict(kernel_size=3),
    dict(kernel_size=2, dilation=2),
    dict(kernel_size=3, dilation=3, bias=False),
    dict(kernel_size=3, causal=False),
    dict(kernel_size=4, dilation=2, causal=False),  # even total padding split 3 / 3
    dict(kernel_size=2, causal=False),  # odd total: the extra step goes right
    dict(kernel_size=3, padding='valid'),
    dict(kernel_size=2, dilation=4, padding='valid'),
    dict(kernel_size=3, stride=2),
    dict(kernel_size=3, stride=3, padding='valid'),
    dict(kernel_size=3, groups=2),
]


@pytest.mark.filterwarnings('ignore:Using padding=.same. with even kernel')  # the reference
@pytest.mark.parametrize('kwargs', CONFIGS)
def test_matches_conv1d(kwargs, sequence, spatiotemporal):
    conv = TemporalConv(4, 6, **kwargs).double()
    x = sequence[..., :4].double()  # [B=3, T=11, F=4]
    out = conv(x)
    expected = reference(conv, x)
    assert out.shape == expected.shape == (3, conv.output_length(11), 6)
    assert torch.allclose(out, expected)

    conv = TemporalConv(3, 4, **{**kwargs, 'groups': 1}).double()
    x = spatiotemporal.double()  # [B=2, T=6, N=7, F=3]
    out = conv(x)
    assert out.shape == (2, conv.output_length(6), 7, 4)
    for n in range(x.size(2)):
        assert torch.allclose(out[:, :, n], reference(conv, x[:, :, n]))


def test_lengths():
    x = torch.randn(2, 12, 4)
    assert TemporalConv(4, 4, 3, dilation=2)(x).shape[1] == 12
    assert TemporalConv(4, 4, 3, dilation=2, causal=False)(x).shape[1] == 12
    assert TemporalConv(4, 4, 3, dilation=2, padding='valid')(x).shape[1] == 12 - 4
    assert TemporalConv(4, 4, 3, stride=5)(x).shape[1] == 3  # ceil(12 / 5)


@pytest.mark.parametrize('kwargs', [dict(), dict(dilation=2, stride=2)])
def test_causal(kwargs):
    conv = TemporalConv(3, 4, 3, **kwargs)
    x = torch.randn(2, 10, 5, 3, requires_grad=True)
    out = conv(x)
    s = conv.stride
    for t in range(out.size(1)):
        grad, = torch.autograd.grad(out[:, t].sum(), x, retain_graph=True)
        assert grad[:, t * s + 1:].abs().sum() == 0  # nothing from the future
        assert grad[:, t * s].abs().sum() > 0  # but the present is seen


def test_extra_dims_and_non_contiguous():
    conv = TemporalConv(3, 4, 2, dilation=2)
    x = torch.randn(2, 6, 3, 5, 3)
    out = conv(x)
    assert out.shape == (2, 6, 3, 5, 4)
    assert torch.allclose(out.reshape(2, 6, 15, 4), conv(x.reshape(2, 6, 15, 3)), atol=1e-6)
    y = torch.randn(2, 3, 6, 7).permute(0, 2, 3, 1)  # non-contiguous [B, T, N, F]
    assert torch.allclose(conv(y), conv(y.contiguous()), atol=1e-6)


def test_repr():
    assert str(TemporalConv(16, 32, 3)) == 'TemporalConv(16, 32, kernel_size=3)'
    conv = TemporalConv(16, 32, 2, dilation=4, padding='valid', bias=False, groups=2)
    assert str(conv) == ("TemporalConv(16, 32, kernel_size=2, dilation=4, padding='valid', "
                         "groups=2, bias=False)")


def test_errors():
    conv = TemporalConv(3, 4, 3, padding='valid')
    with pytest.raises(ValueError, match='build the layer with in_channels=5'):
        conv(torch.randn(2, 6, 5))
    with pytest.raises(ValueError, match=r'x.unsqueeze\(0\)'):
        conv(torch.randn(6, 3))
    with pytest.raises(ValueError, match="needs at least 3; use padding='same'"):
        conv(torch.randn(2, 2, 3))
    with pytest.raises(ValueError, match="pass 'same'"):
        TemporalConv(3, 4, 3, padding='full')
    with pytest.raises(ValueError, match='pick a common divisor'):
        TemporalConv(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="'kernel_size' is 0; pass a positive integer"):
        TemporalConv(3, 4, 0)


def test_reset_parameters():
    conv = TemporalConv(3, 4, 3)
    before = [p.detach().clone() for p in conv.parameters()]
    conv.reset_parameters()
    assert all(not torch.equal(a, b) for a, b in zip(before, conv.parameters()))
    bound = 1 / (3 * 3) ** 0.5
    assert conv.bias.abs().max() <= bound


def test_gradients_and_save_load(spatiotemporal, reloaded):
    conv = TemporalConv(3, 4, 2, dilation=2)
    conv(spatiotemporal).square().sum().backward()
    for name, p in conv.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name

    loaded = reloaded(conv)
    assert torch.equal(loaded(spatiotemporal), conv(spatiotemporal))
    fresh = TemporalConv(3, 4, 2, dilation=2)
    fresh.load_state_dict(conv.state_dict())
    assert torch.equal(fresh(spatiotemporal), conv(spatiotemporal))


def test_compile_no_graph_breaks(sequence, spatiotemporal, graph_breaks):
    conv = TemporalConv(3, 4, 3, dilation=2)
    count, why = graph_breaks(conv, spatiotemporal)
    assert count == 0, why
    conv = TemporalConv(5, 4, 2, padding='valid', causal=False)
    count, why = graph_breaks(conv, sequence)
    assert count == 0, why
