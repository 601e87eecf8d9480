import pytest
import torch
from torch import nn

from pyg_ext.blocks.dense_temporal_stack import DenseTemporalStack
from pyg_ext.blocks.gated_temporal_conv import GatedTemporalConv
from pyg_ext.blocks.receptive_field import receptive_field
from pyg_ext.blocks.residual_temporal_stack import ResidualTemporalStack
from pyg_ext.blocks.temporal_conv import TemporalConv
from pyg_ext.blocks.transposed_temporal_conv import TransposedTemporalConv


def influence(model, x: torch.Tensor):
    """Input steps with a non-zero gradient from the last output step: (count, span)."""
    x = x.clone().requires_grad_()
    out = model(x)
    grad, = torch.autograd.grad(out[:, -1].sum(), x)
    steps = grad.abs().flatten(2).sum(-1).sum(0).nonzero().flatten()  # over time (dim 1)
    return steps.numel(), int(steps.max() - steps.min()) + 1


def torch_stack(kernels, strides, dilations):
    """Plain torch Conv1d layers (positive weights, so no gradients cancel) on [B, T, F]."""
    convs = []
    for k, s, d in zip(kernels, strides, dilations):
        conv = nn.Conv1d(2, 2, k, stride=s, dilation=d).double()
        with torch.no_grad():
            conv.weight.uniform_(0.1, 1.0)
        convs.append(conv)
    body = nn.Sequential(*convs)
    return lambda x: body(x.transpose(1, 2)).transpose(1, 2)  # [B, T', F]


NO_HOLES = [  # kernels, strides, dilations
    ([3], [1], [1]),
    ([2, 2, 2, 2], [1, 1, 1, 1], [1, 2, 4, 8]),  # WaveNet
    ([3, 3, 3], [1, 1, 1], [1, 3, 9]),  # TCN
    ([3, 3, 3], [2, 2, 1], [1, 1, 1]),  # strided
    ([4, 3, 2], [2, 1, 2], [1, 2, 1]),  # strided and dilated
    ([5, 3, 3, 2], [3, 2, 1, 1], [1, 1, 1, 3]),
]
WITH_HOLES = [
    ([2], [1], [4]),  # dilation larger than the kernel covers
    ([1, 2], [2, 1], [1, 1]),  # stride larger than the kernel covers
    ([5, 3, 3], [2, 3, 1], [1, 1, 2]),
]


@pytest.mark.parametrize('kernels, strides, dilations', NO_HOLES)
def test_matches_measured(kernels, strides, dilations):
    r = receptive_field(kernels, strides, dilations)
    x = torch.randn(1, r + 20, 2, dtype=torch.float64)
    count, span = influence(torch_stack(kernels, strides, dilations), x)
    assert count == span == r


@pytest.mark.parametrize('kernels, strides, dilations', WITH_HOLES)
def test_is_the_span_when_steps_are_skipped(kernels, strides, dilations):
    r = receptive_field(kernels, strides, dilations)
    x = torch.randn(1, r + 20, 2, dtype=torch.float64)
    count, span = influence(torch_stack(kernels, strides, dilations), x)
    assert span == r and count < r


def test_closed_form_by_hand():
    assert receptive_field([3]) == 3
    assert receptive_field([2] * 4, dilations=[1, 2, 4, 8]) == 16
    assert receptive_field([3, 3, 3], strides=[2, 2, 1]) == 1 + 2 + 2 * 2 + 2 * 4
    assert receptive_field([]) == 1


def test_of_modules():
    x = torch.randn(2, 40, 3, 3)  # [B, T, N, F]
    models = [
        TemporalConv(3, 3, 3),
        nn.Sequential(TemporalConv(3, 4, 3, stride=2), nn.ReLU(),
                      TemporalConv(4, 3, 2, padding='valid')),
        ResidualTemporalStack([GatedTemporalConv(3, 3, 2, dilation=d) for d in (1, 2, 4)]),
        ResidualTemporalStack([TemporalConv(3, 5, 3, padding='valid'),
                               TemporalConv(5, 5, 2, dilation=3)]),
        DenseTemporalStack(3, 2, 3, kernel_size=2, dilation=[1, 2, 4], act='tanh'),
    ]
    expected = [3, 1 + 2 + 1 * 2, 8, 6, 8]
    for model, r in zip(models, expected):
        model.double()
        assert receptive_field(model) == r
        count, span = influence(model, x.double())
        assert count == span == r, model


def test_errors():
    with pytest.raises(ValueError, match='pass one of each per layer'):
        receptive_field([3, 3], strides=[1])
    with pytest.raises(ValueError, match='must hold positive integers'):
        receptive_field([3, 0])
    with pytest.raises(ValueError, match='pass kernel_sizes, strides and dilations'):
        receptive_field(nn.Sequential(TransposedTemporalConv(3, 3, 2)))
    with pytest.raises(ValueError, match='pass only the module'):
        receptive_field(TemporalConv(3, 3, 2), strides=[1])
