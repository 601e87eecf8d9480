import pytest
import torch

from pyg_ext.nn.models.astgcn import ASTGCN


def test_recent_component(directed_graph, reloaded):
    edge_index, edge_weight, N = directed_graph
    model = ASTGCN(in_channels=2, out_channels=3, hidden_channels=8, horizon=4, num_nodes=N,
                   input_steps=6)
    assert list(model.components) == ['recent'] and model.fusion is None
    assert str(model) == ('ASTGCN(2, 3, hidden_channels=8, horizon=4, num_nodes=7, '
                          "components=['recent'])")
    x = torch.randn(3, 6, N, 2)
    out = model(x, edge_index, edge_weight)
    assert out.shape == (3, 4, N, 3)
    out.square().mean().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name

    model.eval()
    out = model(x, edge_index, edge_weight)
    assert torch.allclose(model(x[1:2], edge_index, edge_weight), out[1:2], atol=1e-5)
    assert torch.allclose(reloaded(model)(x, edge_index, edge_weight), out)


def test_polynomials(directed_graph):
    edge_index, edge_weight, N = directed_graph
    model = ASTGCN(2, 1, 8, 2, num_nodes=N, input_steps=4, K=4)
    polys = model.cheb_polynomials(edge_index, edge_weight, N, torch.double)
    lap = polys[1]
    assert torch.allclose(polys[0], torch.eye(N, dtype=torch.double))
    assert torch.allclose(polys[3], 4 * lap @ lap @ lap - 3 * lap)


def test_fusion_of_three_components(directed_graph):
    edge_index, edge_weight, N = directed_graph
    model = ASTGCN(2, 1, 8, horizon=3, num_nodes=N, input_steps=4, daily_steps=6,
                   weekly_steps=5, time_stride=2)
    x, xd, xw = torch.randn(2, 4, N, 2), torch.randn(2, 6, N, 2), torch.randn(2, 5, N, 2)
    out = model(x, edge_index, edge_weight, x_daily=xd, x_weekly=xw)
    assert out.shape == (2, 3, N, 1)
    parts = []
    for name, h in (('recent', x), ('daily', xd), ('weekly', xw)):
        polys = model.cheb_polynomials(edge_index, edge_weight, N, x.dtype)
        for block in model.components[name]:
            h = block(h, polys)
        y = model.heads[name](h.permute(0, 2, 1, 3).reshape(2, N, -1)).view(2, N, 3, 1)
        parts.append(model.fusion[name] * y.transpose(1, 2))
    assert torch.allclose(out, sum(parts), atol=1e-6)
    with pytest.raises(ValueError, match=r'pass x_daily=\[B, 6, N, 2\]'):
        model(x, edge_index, edge_weight, x_weekly=xw)


def test_errors(directed_graph):
    edge_index, _, N = directed_graph
    with pytest.raises(ValueError, match='pass num_nodes=N'):
        ASTGCN(2, 1, 8, 3)
    model = ASTGCN(2, 1, 8, 3, num_nodes=N, input_steps=4)
    with pytest.raises(ValueError, match='build it with daily_steps=5'):
        model(torch.randn(1, 4, N, 2), edge_index, x_daily=torch.randn(1, 5, N, 2))
    with pytest.raises(ValueError, match='in_channels=3'):
        model(torch.randn(1, 4, N, 3), edge_index)
    with pytest.raises(ValueError, match='num_steps=5'):
        model(torch.randn(1, 5, N, 2), edge_index)
