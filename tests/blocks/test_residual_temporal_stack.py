import pytest
import torch
from torch import nn

from pyg_ext.blocks.gated_temporal_conv import GatedTemporalConv
from pyg_ext.blocks.pointwise_conv import PointwiseConv
from pyg_ext.blocks.residual_temporal_stack import ResidualTemporalStack
from pyg_ext.blocks.temporal_conv import TemporalConv
from pyg_ext.blocks.transposed_temporal_conv import TransposedTemporalConv


def make_layers():
    return [
        TemporalConv(3, 3, 2),  # same width, same length: identity shortcut
        GatedTemporalConv(3, 5, 2, padding='valid'),  # wider and 1 step shorter
        nn.Sequential(TemporalConv(5, 5, 3, dilation=2, padding='valid'), nn.ReLU()),
    ]


def test_formula(spatiotemporal, sequence):
    layers = make_layers()
    stack = ResidualTemporalStack(layers)
    assert isinstance(stack.projections[0], nn.Identity)
    assert isinstance(stack.projections[1], PointwiseConv)
    assert stack.projections[1].bias is None
    assert isinstance(stack.projections[2], nn.Identity)

    x = spatiotemporal  # [B=2, T=6, N=7, F=3]
    w = stack.projections[1].weight  # [5, 3]
    y1 = x + layers[0](x)  # [2, 6, 7, 3]
    y2 = y1[:, 1:] @ w.t() + layers[1](y1)  # [2, 5, 7, 5]
    y3 = y2[:, 4:] + layers[2](y2)  # [2, 1, 7, 5]: the most recent step is kept
    out = stack(x)
    assert out.shape == (2, 1, 7, 5)
    assert torch.allclose(out, y3, atol=1e-6)

    x = torch.randn(3, 11, 3)  # [B, T, F]
    y1 = x + layers[0](x)
    y2 = y1[:, 1:] @ w.t() + layers[1](y1)
    assert torch.allclose(stack(x), y2[:, 4:] + layers[2](y2), atol=1e-6)


def test_explicit_projection(sequence):
    layers = [TemporalConv(5, 4, 3), nn.Sequential(nn.Tanh())]
    proj = nn.Linear(5, 4)
    stack = ResidualTemporalStack(layers, projection=[proj, None])
    y1 = proj(sequence) + layers[0](sequence)
    assert torch.allclose(stack(sequence), y1 + torch.tanh(y1), atol=1e-6)
    assert str(stack) == 'ResidualTemporalStack(num_layers=2)'  # Tanh has no widths


def test_repr():
    assert str(ResidualTemporalStack(make_layers())) == 'ResidualTemporalStack(3, 5, num_layers=3)'
    stack = ResidualTemporalStack([nn.Tanh()], projection=[None])
    assert str(stack) == 'ResidualTemporalStack(num_layers=1)'


def test_errors():
    stack = ResidualTemporalStack(make_layers())
    with pytest.raises(ValueError, match='build the layer with in_channels=4'):
        stack(torch.randn(2, 6, 4))
    with pytest.raises(ValueError, match=r'x.unsqueeze\(0\)'):
        stack(torch.randn(6, 3))
    with pytest.raises(ValueError, match='pass projection='):
        ResidualTemporalStack([nn.Tanh()])
    with pytest.raises(ValueError, match='build layer 1 with in_channels=4'):
        ResidualTemporalStack([TemporalConv(3, 4, 2), TemporalConv(5, 4, 2)])
    with pytest.raises(ValueError, match='pass one module'):
        ResidualTemporalStack([TemporalConv(3, 4, 2)], projection=[])
    with pytest.raises(ValueError, match='is empty'):
        ResidualTemporalStack([])
    up = ResidualTemporalStack([TransposedTemporalConv(3, 3, 2, stride=2)])
    with pytest.raises(ValueError, match='layers that keep or shorten time'):
        up(torch.randn(2, 6, 3))


def test_reset_gradients_and_save_load(spatiotemporal, reloaded):
    stack = ResidualTemporalStack(make_layers())
    before = [p.detach().clone() for p in stack.parameters()]
    stack.reset_parameters()
    assert all(not torch.equal(a, b) for a, b in zip(before, stack.parameters()))

    stack(spatiotemporal).square().sum().backward()
    for name, p in stack.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name

    loaded = reloaded(stack)
    assert torch.equal(loaded(spatiotemporal), stack(spatiotemporal))
