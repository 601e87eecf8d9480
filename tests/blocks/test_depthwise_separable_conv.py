import pytest
import torch
import torch.nn.functional as F

from pyg_ext.blocks.depthwise_separable_conv import DepthwiseSeparableConv


def reference(layer: DepthwiseSeparableConv, x: torch.Tensor) -> torch.Tensor:
    """torch Conv1d(groups=F) then a 1x1 Conv1d, weights copied, on a [B, T, F] input."""
    dw, pw = layer.depthwise, layer.pointwise
    depthwise = torch.nn.Conv1d(layer.in_channels, dw.out_channels, dw.kernel_size,
                                dilation=dw.dilation, groups=layer.in_channels, bias=False,
                                padding='same' if not dw.causal and dw.padding == 'same'
                                else 0).to(x.dtype)
    pointwise = torch.nn.Conv1d(dw.out_channels, layer.out_channels, 1,
                                bias=pw.bias is not None).to(x.dtype)
    with torch.no_grad():
        depthwise.weight.copy_(dw.weight)
        pointwise.weight.copy_(pw.weight.unsqueeze(-1))
        if pw.bias is not None:
            pointwise.bias.copy_(pw.bias)
    h = x.transpose(1, 2)  # [B, F, T]
    if dw.causal and dw.padding == 'same':
        h = F.pad(h, ((dw.kernel_size - 1) * dw.dilation, 0))
    return pointwise(depthwise(h)).transpose(1, 2)  # [B, T', H]


@pytest.mark.parametrize('kwargs', [
    dict(),
    dict(dilation=2, depth_multiplier=2),
    dict(causal=False, bias=False),
    dict(padding='valid', depth_multiplier=3),
])
def test_matches_torch(kwargs, sequence, spatiotemporal):
    layer = DepthwiseSeparableConv(5, 4, 3, **kwargs).double()
    x = sequence.double()  # [B=3, T=11, F=5]
    assert torch.allclose(layer(x), reference(layer, x))

    layer = DepthwiseSeparableConv(3, 4, 3, **kwargs).double()
    x = spatiotemporal.double()  # [B=2, T=6, N=7, F=3]
    out = layer(x)
    assert out.shape == (2, 6 if kwargs.get('padding') != 'valid' else 4, 7, 4)
    for n in range(7):
        assert torch.allclose(out[:, :, n], reference(layer, x[:, :, n]))


@pytest.mark.parametrize('f, h, k, m, bias', [(5, 4, 3, 1, True), (8, 16, 2, 3, False)])
def test_parameter_count(f, h, k, m, bias):
    layer = DepthwiseSeparableConv(f, h, k, depth_multiplier=m, bias=bias)
    count = sum(p.numel() for p in layer.parameters())
    assert count == f * m * k + f * m * h + (h if bias else 0)


def test_causal():
    layer = DepthwiseSeparableConv(3, 4, 2, dilation=3)
    x = torch.randn(2, 9, 3, requires_grad=True)
    out = layer(x)
    for t in range(9):
        grad, = torch.autograd.grad(out[:, t].sum(), x, retain_graph=True)
        assert grad[:, t + 1:].abs().sum() == 0 and grad[:, t].abs().sum() > 0


def test_repr():
    assert (str(DepthwiseSeparableConv(16, 32, 3))
            == 'DepthwiseSeparableConv(16, 32, kernel_size=3)')
    layer = DepthwiseSeparableConv(16, 32, 3, dilation=2, causal=False, depth_multiplier=2,
                                   bias=False)
    assert str(layer) == ('DepthwiseSeparableConv(16, 32, kernel_size=3, dilation=2, '
                          'causal=False, depth_multiplier=2, bias=False)')


def test_errors():
    layer = DepthwiseSeparableConv(3, 4, 2)
    with pytest.raises(ValueError, match='build the layer with in_channels=5'):
        layer(torch.randn(2, 6, 5))
    with pytest.raises(ValueError, match=r'x.unsqueeze\(0\)'):
        layer(torch.randn(6, 3))
    with pytest.raises(ValueError, match="'depth_multiplier' is 0"):
        DepthwiseSeparableConv(3, 4, 2, depth_multiplier=0)


def test_reset_gradients_and_save_load(spatiotemporal, reloaded):
    layer = DepthwiseSeparableConv(3, 4, 2, depth_multiplier=2)
    before = [p.detach().clone() for p in layer.parameters()]
    layer.reset_parameters()
    assert all(not torch.equal(a, b) for a, b in zip(before, layer.parameters()))

    layer(spatiotemporal).square().sum().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name

    loaded = reloaded(layer)
    assert torch.equal(loaded(spatiotemporal), layer(spatiotemporal))
