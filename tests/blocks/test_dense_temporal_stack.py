import pytest
import torch

from pyg_ext.blocks.dense_temporal_stack import DenseTemporalStack


def test_formula(spatiotemporal, sequence):
    stack = DenseTemporalStack(3, growth_rate=4, num_layers=3, kernel_size=2,
                               dilation=[1, 2, 4])
    assert stack.out_channels == 3 + 3 * 4
    assert [conv.in_channels for conv in stack.convs] == [3, 7, 11]
    assert [conv.dilation for conv in stack.convs] == [1, 2, 4]
    c0, c1, c2 = stack.convs
    x = spatiotemporal  # [B=2, T=6, N=7, F=3]
    h1 = torch.relu(c0(x))
    h2 = torch.relu(c1(torch.cat([x, h1], dim=-1)))
    h3 = torch.relu(c2(torch.cat([x, h1, h2], dim=-1)))
    expected = torch.cat([x, h1, h2, h3], dim=-1)  # [2, 6, 7, 15]
    assert torch.allclose(stack(x), expected, atol=1e-6)

    x = torch.randn(3, 11, 3)  # [B, T, F]
    h1 = torch.relu(c0(x))
    h2 = torch.relu(c1(torch.cat([x, h1], dim=-1)))
    h3 = torch.relu(c2(torch.cat([x, h1, h2], dim=-1)))
    assert torch.allclose(stack(x), torch.cat([x, h1, h2, h3], dim=-1), atol=1e-6)


def test_valid_crops_to_recent_steps(sequence):
    stack = DenseTemporalStack(5, growth_rate=2, num_layers=2, kernel_size=3,
                               padding='valid', act=None)
    c0, c1 = stack.convs
    x = sequence  # [B=3, T=11, F=5]
    h1 = c0(x)  # [3, 9, 2]
    z1 = torch.cat([x[:, 2:], h1], dim=-1)  # [3, 9, 7]
    h2 = c1(z1)  # [3, 7, 2]
    expected = torch.cat([z1[:, 2:], h2], dim=-1)  # [3, 7, 9]
    out = stack(x)
    assert out.shape == (3, 7, 9)
    assert torch.allclose(out, expected, atol=1e-6)


def test_activation_and_causality():
    stack = DenseTemporalStack(3, 2, 2, 3, act='leaky_relu', act_kwargs=dict(negative_slope=0.3))
    assert isinstance(stack.act, torch.nn.LeakyReLU) and stack.act.negative_slope == 0.3
    x = torch.randn(2, 8, 3, requires_grad=True)
    out = stack(x)
    for t in range(8):
        grad, = torch.autograd.grad(out[:, t].sum(), x, retain_graph=True)
        assert grad[:, t + 1:].abs().sum() == 0 and grad[:, t].abs().sum() > 0


def test_repr():
    stack = DenseTemporalStack(16, growth_rate=8, num_layers=3, kernel_size=2)
    assert str(stack) == 'DenseTemporalStack(16, growth_rate=8, num_layers=3, kernel_size=2)'


def test_errors():
    stack = DenseTemporalStack(3, 2, 2, 3)
    with pytest.raises(ValueError, match='build the layer with in_channels=5'):
        stack(torch.randn(2, 6, 5))
    with pytest.raises(ValueError, match=r'x.unsqueeze\(0\)'):
        stack(torch.randn(6, 3))
    with pytest.raises(ValueError, match='pass one int, or one per layer'):
        DenseTemporalStack(3, 2, 3, 3, dilation=[1, 2])
    with pytest.raises(ValueError, match="'growth_rate' is 0"):
        DenseTemporalStack(3, 0, 3, 3)


def test_reset_gradients_and_save_load(spatiotemporal, reloaded):
    stack = DenseTemporalStack(3, 2, 3, 2, act='prelu')
    before = [p.detach().clone() for p in stack.convs.parameters()]
    stack.reset_parameters()
    assert all(not torch.equal(a, b) for a, b in zip(before, stack.convs.parameters()))

    stack(spatiotemporal).square().sum().backward()
    for name, p in stack.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name

    loaded = reloaded(stack)
    assert torch.equal(loaded(spatiotemporal), stack(spatiotemporal))
