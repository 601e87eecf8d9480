import pytest
import torch

from pyg_ext.blocks.pointwise_conv import PointwiseConv


def reference(layer: PointwiseConv) -> torch.nn.Conv1d:
    ref = torch.nn.Conv1d(layer.in_channels, layer.out_channels, kernel_size=1,
                          bias=layer.bias is not None)
    with torch.no_grad():
        ref.weight.copy_(layer.weight.unsqueeze(-1))  # [H, F, 1]
        if layer.bias is not None:
            ref.bias.copy_(layer.bias)
    return ref


@pytest.mark.parametrize('bias', [True, False])
def test_matches_conv1d(bias, sequence, spatiotemporal):
    layer = PointwiseConv(5, 4, bias=bias)
    expected = reference(layer)(sequence.transpose(1, 2)).transpose(1, 2)
    assert torch.allclose(layer(sequence), expected, atol=1e-6)

    layer = PointwiseConv(3, 4, bias=bias)
    ref = reference(layer)
    out = layer(spatiotemporal)
    assert out.shape == (2, 6, 7, 4)
    for n in range(7):
        expected = ref(spatiotemporal[:, :, n].transpose(1, 2)).transpose(1, 2)
        assert torch.allclose(out[:, :, n], expected, atol=1e-6)


def test_repr():
    assert str(PointwiseConv(16, 32)) == 'PointwiseConv(16, 32)'
    assert str(PointwiseConv(16, 32, bias=False)) == 'PointwiseConv(16, 32, bias=False)'


def test_errors():
    layer = PointwiseConv(3, 4)
    with pytest.raises(ValueError, match='build the layer with in_channels=5'):
        layer(torch.randn(2, 6, 5))
    with pytest.raises(ValueError, match=r'x.unsqueeze\(0\)'):
        layer(torch.randn(6, 3))
    with pytest.raises(ValueError, match="'out_channels' is 0; pass a positive integer"):
        PointwiseConv(3, 0)


def test_reset_gradients_and_save_load(spatiotemporal, reloaded):
    layer = PointwiseConv(3, 4)
    before = [p.detach().clone() for p in layer.parameters()]
    layer.reset_parameters()
    assert all(not torch.equal(a, b) for a, b in zip(before, layer.parameters()))

    layer(spatiotemporal).square().sum().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name

    loaded = reloaded(layer)
    assert torch.equal(loaded(spatiotemporal), layer(spatiotemporal))
