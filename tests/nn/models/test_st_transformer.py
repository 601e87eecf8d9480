import pytest
import torch
from torch_geometric.utils import to_dense_adj

from pyg_ext.blocks.attention_patterns import sliding_window_pattern
from pyg_ext.nn.models.st_transformer import STTransformer


def build(**kwargs):
    args = dict(in_channels=2, out_channels=3, hidden_channels=8, horizon=4, num_nodes=None,
                num_layers=2, heads=2)
    args.update(kwargs)
    return STTransformer(**args)


def test_shape_gradients_batch_permutation(directed_graph, reloaded):
    edge_index, edge_weight, N = directed_graph
    model = build()
    assert str(model) == ('STTransformer(2, 3, hidden_channels=8, horizon=4, num_layers=2, '
                          'hops=1)')
    x = torch.randn(3, 6, N, 2)
    out = model(x, edge_index, edge_weight)
    assert out.shape == (3, 4, N, 3)
    out.square().mean().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name

    model.eval()
    out = model(x, edge_index)
    assert torch.allclose(model(x[1:2], edge_index), out[1:2], atol=1e-5)
    perm = torch.randperm(N)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(N)
    assert torch.allclose(model(x[:, :, perm], inv[edge_index]), out[:, :, perm], atol=1e-5)
    assert torch.allclose(reloaded(model)(x, edge_index), out)


def test_node_mask_and_graph_locality(directed_graph):
    edge_index, _, N = directed_graph
    adj = to_dense_adj(edge_index, max_num_nodes=N)[0].t() + torch.eye(N)  # [i, j]: j -> i
    for hops in (1, 2):
        mask = build(hops=hops).node_mask(edge_index, N)
        assert torch.equal(~mask, torch.linalg.matrix_power(adj, hops) > 0)
    assert build(hops=None).node_mask(edge_index, N) is None

    model = build(num_layers=1).eval()
    x = torch.randn(1, 6, N, 2, requires_grad=True)
    grad, = torch.autograd.grad(model(x, edge_index)[:, :, 0].sum(), x)
    seen = grad.abs().sum(dim=(0, 1, 3)) > 0  # [N]
    assert torch.equal(seen, adj[0] > 0)  # one layer: node 0 and its in-neighbours only


def test_long_inputs_with_sparse_pattern(directed_graph):
    edge_index, _, N = directed_graph
    model = build(pattern=sliding_window_pattern(4))
    assert model(torch.randn(2, 40, N, 2), edge_index).shape == (2, 4, N, 3)


def test_errors(directed_graph):
    edge_index, _, N = directed_graph
    with pytest.raises(ValueError, match='hops=None'):
        build(hops=0)
    with pytest.raises(ValueError, match='in_channels=5'):
        build()(torch.randn(1, 6, N, 5), edge_index)
    with pytest.raises(ValueError, match=r'expected shape \[2, E\]'):
        build()(torch.randn(1, 6, N, 2), edge_index.t())
