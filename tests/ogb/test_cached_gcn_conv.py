import pytest
import torch
from torch_geometric.nn import GCNConv
from torch_geometric.utils import remove_self_loops, to_torch_csr_tensor, to_undirected

from pyg_ext.ogb.cached_gcn_conv import CachedGCNConv


def _graph(n=80, m=120):  # n=80, m=120: sparse enough (< 1/16 of all pairs) for CSR
    edge_index = remove_self_loops(to_undirected(torch.randint(0, n, (2, m)), num_nodes=n))[0]
    edge_index = torch.cat([edge_index, torch.tensor([[3], [3]])], 1)  # one self-loop
    return torch.randn(n, 6), edge_index


@pytest.mark.parametrize('channels', [(6, 16), (6, 4)])  # propagate first / transform first
@pytest.mark.parametrize('layout', ['csr', 'dense'])
def test_matches_pyg_gcn_conv_values_and_gradients(channels, layout, matches_pyg_conv):
    x, edge_index = _graph() if layout == 'csr' else _graph(n=12, m=60)  # dense: > 1/16
    ref = GCNConv(*channels, cached=True)
    with torch.no_grad():
        ref.bias.normal_()
    matches_pyg_conv(CachedGCNConv(*channels), ref, x, edge_index, layout)


def test_directed_sparse_adj_t_equals_edge_index():
    x = torch.randn(5, 3)
    edge_index = torch.tensor([[0, 0, 1, 3, 4], [1, 2, 2, 2, 0]])  # directed
    conv = CachedGCNConv(3, 2)
    out = conv(x, edge_index)
    conv2 = CachedGCNConv(3, 2)
    conv2.load_state_dict(conv.state_dict())
    adj_t = to_torch_csr_tensor(edge_index.flip(0), size=(5, 5))
    assert torch.allclose(conv2(x, adj_t), out, atol=1e-6)
    # dense formula: out = D^-1/2 (A + I) D^-1/2 X W + b with A[i, j] = 1 for j -> i
    a = torch.eye(5)
    a[edge_index[1], edge_index[0]] = 1
    d = a.sum(1).rsqrt()
    dense = (d[:, None] * a * d[None, :]) @ conv.lin(x) + conv.bias
    assert torch.allclose(out, dense, atol=1e-6)


def test_reset_clears_cache_repr_save_and_errors(tmp_path):
    x, edge_index = _graph()
    conv = CachedGCNConv(6, 8)
    conv(x, edge_index)
    assert conv._cache is not None
    conv.reset_parameters()
    assert conv._cache is None
    assert repr(conv) == 'CachedGCNConv(6, 8)'
    assert CachedGCNConv(6, 8, bias=False).bias is None
    out = conv(x, edge_index)
    torch.save(conv, tmp_path / 'c.pt')
    assert torch.allclose(torch.load(tmp_path / 'c.pt', weights_only=False)(x, edge_index), out)
    with pytest.raises(ValueError, match='build the layer with in_channels=5'):
        CachedGCNConv(6, 8)(torch.randn(80, 5), edge_index)
    with pytest.raises(ValueError, match="'adj' has shape"):
        CachedGCNConv(6, 8)(x, edge_index.t())


def test_dense_storage_for_dense_graphs_gives_the_same_result():
    n = 12
    edge_index = remove_self_loops(to_undirected(torch.randint(0, n, (2, 60)), num_nodes=n))[0]
    x = torch.randn(n, 4, requires_grad=True)
    conv, ref = CachedGCNConv(4, 4), GCNConv(4, 4, cached=True)
    with torch.no_grad():
        ref.lin.weight.copy_(conv.lin.weight)
    out = conv(x, edge_index)
    assert conv._cache[0].layout == torch.strided  # > 1/16 of all pairs: stored dense
    assert torch.allclose(out, ref(x, edge_index), atol=1e-5)
    out.sum().backward()
    grad = x.grad.clone()
    x.grad = None
    ref(x, edge_index).sum().backward()
    assert torch.allclose(grad, x.grad, atol=1e-5)
