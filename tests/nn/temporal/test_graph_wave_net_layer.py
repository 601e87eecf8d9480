import pytest
import torch

from pyg_ext.nn.conv.diff_conv import DiffConv
from pyg_ext.nn.temporal.graph_wave_net_layer import GraphWaveNetLayer


def test_matches_dense_formula(directed_graph):
    edge_index, edge_weight, N = directed_graph
    layer = GraphWaveNetLayer(4, 6, 5, kernel_size=2, dilation=2, K=2).double().eval()
    with torch.no_grad():
        layer.norm.running_mean.uniform_(-1, 1)
        layer.norm.running_var.uniform_(0.5, 2)
    x = torch.randn(2, 7, N, 4, dtype=torch.double)
    adj = torch.rand(N, N, dtype=torch.double).softmax(dim=1)
    powers = torch.stack([adj, adj @ adj])
    out, skip = layer(x, edge_index, edge_weight, powers, skip_steps=2)
    assert out.shape == (2, 5, N, 4) and skip.shape == (2, 2, N, 5)

    h = layer.tcn(x)  # [B, 5, N, 6]
    assert torch.allclose(skip, h[:, -2:] @ layer.skip.weight.t() + layer.skip.bias)
    diff = DiffConv(6, 4, 2).double()
    diff.load_state_dict(layer.diff_conv.state_dict())
    w = layer.adaptive_weight.view(2, 6, 4)
    z = diff(h, edge_index, edge_weight) + (adj @ h) @ w[0] + (adj @ adj @ h) @ w[1]
    z = z + x[:, 2:]
    norm = layer.norm
    expected = (z - norm.running_mean) / (norm.running_var + norm.eps).sqrt()
    expected = expected * norm.weight + norm.bias
    assert torch.allclose(out, expected, atol=1e-10)


def test_last_layer_without_graph_conv(directed_graph):
    edge_index, _, N = directed_graph
    layer = GraphWaveNetLayer(4, 6, 5, graph_conv=False)
    assert layer.diff_conv is None and layer.adaptive_weight is None
    out, skip = layer(torch.randn(2, 3, N, 4), edge_index)
    assert out.shape == (2, 2, N, 6) and skip.shape == (2, 1, N, 5)
    assert str(layer) == ('GraphWaveNetLayer(4, 6, 5, kernel_size=2, dilation=1, '
                          'graph_conv=False)')


def test_gradients_save_load_errors(directed_graph, reloaded):
    edge_index, edge_weight, N = directed_graph
    layer = GraphWaveNetLayer(4, 4, 8, dilation=2)
    assert str(layer) == 'GraphWaveNetLayer(4, 4, 8, kernel_size=2, dilation=2)'
    x = torch.randn(2, 6, N, 4)
    powers = torch.rand(2, N, N)
    out, skip = layer(x, edge_index, edge_weight, powers)
    (out.square().sum() + skip.square().sum()).backward()
    for name, param in layer.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name

    layer.eval()
    loaded = reloaded(layer)
    assert torch.allclose(loaded(x, edge_index, edge_weight, powers)[0],
                          layer(x, edge_index, edge_weight, powers)[0])
    with pytest.raises(ValueError, match='pass adaptive_powers'):
        layer(x, edge_index, edge_weight)
    with pytest.raises(ValueError, match='needs at least 3'):
        layer(x[:, :2], edge_index, edge_weight, powers)


def test_precomputed_supports_match(directed_graph):
    edge_index, edge_weight, N = directed_graph
    layer = GraphWaveNetLayer(4, 6, 5, dilation=2).eval()
    x = torch.randn(2, 6, N, 4)
    powers = torch.rand(2, N, N)
    supports = DiffConv.transitions(edge_index, edge_weight, N)
    out, skip = layer(x, supports, None, powers)
    expected, expected_skip = layer(x, edge_index, edge_weight, powers)
    assert torch.allclose(out, expected, atol=1e-6) and torch.equal(skip, expected_skip)
    with pytest.raises(ValueError, match=f'num_nodes={N + 1}'):
        layer(torch.randn(2, 6, N + 1, 4), supports, None, torch.rand(2, N + 1, N + 1))
