import pytest
import torch

from pyg_ext.blocks.transposed_temporal_conv import TransposedTemporalConv

CONFIGS = [
    dict(kernel_size=3),
    dict(kernel_size=2, stride=2),
    dict(kernel_size=3, stride=2, padding=1, output_padding=1),
    dict(kernel_size=4, stride=3, dilation=2, output_padding=2, bias=False),
    dict(kernel_size=3, stride=1, padding=2, dilation=3, output_padding=2),
]


def reference(layer: TransposedTemporalConv, x: torch.Tensor) -> torch.Tensor:
    ref = torch.nn.ConvTranspose1d(
        layer.in_channels, layer.out_channels, layer.kernel_size, stride=layer.stride,
        padding=layer.padding, output_padding=layer.output_padding, dilation=layer.dilation,
        bias=layer.bias is not None).to(x.dtype)
    with torch.no_grad():
        ref.weight.copy_(layer.weight)
        if layer.bias is not None:
            ref.bias.copy_(layer.bias)
    return ref(x.transpose(1, 2)).transpose(1, 2)  # [B, T', H]


@pytest.mark.parametrize('kwargs', CONFIGS)
def test_matches_conv_transpose1d(kwargs, sequence, spatiotemporal):
    layer = TransposedTemporalConv(5, 4, **kwargs).double()
    x = sequence.double()  # [B=3, T=11, F=5]
    out = layer(x)
    expected = reference(layer, x)
    assert out.shape == expected.shape
    assert torch.allclose(out, expected)

    layer = TransposedTemporalConv(3, 4, **kwargs).double()
    x = spatiotemporal.double()  # [B=2, T=6, N=7, F=3]
    out = layer(x)
    for n in range(7):
        assert torch.allclose(out[:, :, n], reference(layer, x[:, :, n]))


@pytest.mark.parametrize('kwargs', CONFIGS)
@pytest.mark.parametrize('T', [1, 4, 9])
def test_output_length(kwargs, T):
    layer = TransposedTemporalConv(3, 2, **kwargs)
    k, s = kwargs['kernel_size'], kwargs.get('stride', 1)
    p, op, d = kwargs.get('padding', 0), kwargs.get('output_padding', 0), kwargs.get('dilation', 1)
    expected = (T - 1) * s - 2 * p + d * (k - 1) + op + 1
    assert layer.output_length(T) == expected
    assert layer(torch.randn(2, T, 5, 3)).shape == (2, expected, 5, 2)


def test_inverts_strided_conv_length():
    # a stride-2 conv maps T=9 and T=10 to 5 steps; output_padding picks which comes back
    conv = torch.nn.Conv1d(3, 3, 3, stride=2, padding=1)
    for T, op in ((9, 0), (10, 1)):
        T_down = conv(torch.randn(1, 3, T)).size(-1)
        up = TransposedTemporalConv(3, 3, 3, stride=2, padding=1, output_padding=op)
        assert up.output_length(T_down) == T


def test_repr():
    assert (str(TransposedTemporalConv(16, 32, 3))
            == 'TransposedTemporalConv(16, 32, kernel_size=3)')
    layer = TransposedTemporalConv(16, 32, 4, stride=2, padding=1, bias=False)
    assert str(layer) == ('TransposedTemporalConv(16, 32, kernel_size=4, stride=2, padding=1, '
                          'bias=False)')


def test_errors():
    layer = TransposedTemporalConv(3, 4, 2)
    with pytest.raises(ValueError, match='build the layer with in_channels=5'):
        layer(torch.randn(2, 6, 5))
    with pytest.raises(ValueError, match=r'x.unsqueeze\(0\)'):
        layer(torch.randn(6, 3))
    with pytest.raises(ValueError, match='must be smaller than stride=2 or dilation=1'):
        TransposedTemporalConv(3, 4, 2, stride=2, output_padding=2)
    with pytest.raises(ValueError, match='lower padding or pass a longer input'):
        TransposedTemporalConv(3, 4, 2, padding=3)(torch.randn(2, 2, 3))
    with pytest.raises(ValueError, match='pass non-negative integers'):
        TransposedTemporalConv(3, 4, 2, padding=-1)


def test_reset_gradients_and_save_load(spatiotemporal, reloaded):
    layer = TransposedTemporalConv(3, 4, 3, stride=2)
    before = [p.detach().clone() for p in layer.parameters()]
    layer.reset_parameters()
    assert all(not torch.equal(a, b) for a, b in zip(before, layer.parameters()))
    bound = 1 / (4 * 3) ** 0.5  # ConvTranspose1d's fan-in: out_channels * kernel_size
    assert layer.bias.abs().max() <= bound

    layer(spatiotemporal).square().sum().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name

    loaded = reloaded(layer)
    assert torch.equal(loaded(spatiotemporal), layer(spatiotemporal))
