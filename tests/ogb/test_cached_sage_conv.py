import pytest
import torch
from torch_geometric.nn import SAGEConv
from torch_geometric.utils import to_torch_csr_tensor, to_undirected

from pyg_ext.ogb.cached_sage_conv import CachedSAGEConv


def _graph(n, m):
    edge_index = to_undirected(torch.randint(0, n, (2, m)), num_nodes=n)
    edge_index = torch.cat([edge_index, torch.tensor([[3], [3]])], 1)  # one self-loop
    return torch.randn(n, 6), edge_index[:, edge_index[1] != n - 1]  # node n-1: no neighbour


@pytest.mark.parametrize('channels', [(6, 16), (6, 4)])  # aggregate first / transform first
@pytest.mark.parametrize('layout', ['csr', 'dense'])
def test_matches_pyg_sage_conv_values_and_gradients(channels, layout, matches_pyg_conv):
    x, edge_index = _graph(80, 120) if layout == 'csr' else _graph(12, 60)  # dense: > 1/16
    ref = SAGEConv(*channels)
    with torch.no_grad():
        ref.lin_l.bias.normal_()
    matches_pyg_conv(CachedSAGEConv(*channels), ref, x, edge_index, layout)


def test_dense_formula_sparse_adj_t_and_ignored_weights():
    x = torch.randn(5, 3)
    edge_index = torch.tensor([[0, 0, 1, 3, 4, 4], [1, 2, 2, 2, 0, 0]])  # directed, 4->0 twice
    conv = CachedSAGEConv(3, 2)
    out = conv(x, edge_index)
    # x'_i = W_1 x_i + W_2 mean_{j -> i} x_j + b, duplicates counted, 0 without neighbours
    a = torch.zeros(5, 5)
    a.index_put_((edge_index[1], edge_index[0]), torch.ones(6), accumulate=True)
    mean = a / a.sum(1, keepdim=True).clamp(min=1)
    dense = conv.lin_l(mean @ x) + conv.lin_r(x)
    assert torch.allclose(out, dense, atol=1e-6)
    assert torch.allclose(out[3], conv.lin_l.bias + conv.lin_r(x[3]), atol=1e-6)  # no in-edge
    # The runners' weighted CSR adj_t: weights are ignored, as by SAGEConv on OGB's adj_t.
    adj_t = to_torch_csr_tensor(edge_index.flip(0), torch.rand(6) + 0.5, size=(5, 5))
    conv2 = CachedSAGEConv(3, 2)
    conv2.load_state_dict(conv.state_dict())
    assert torch.allclose(conv2(x, adj_t), out, atol=1e-6)


def test_reset_clears_cache_repr_save_no_bias_and_errors(tmp_path):
    x, edge_index = _graph(80, 120)
    conv = CachedSAGEConv(6, 8)
    conv(x, edge_index)
    assert conv._cache is not None
    conv.reset_parameters()
    assert conv._cache is None
    assert repr(conv) == 'CachedSAGEConv(6, 8)'
    out = conv(x, edge_index)
    torch.save(conv, tmp_path / 'c.pt')
    assert torch.allclose(torch.load(tmp_path / 'c.pt', weights_only=False)(x, edge_index), out)
    ref = SAGEConv(6, 4, bias=False)
    ours = CachedSAGEConv(6, 4, bias=False)
    ours.load_state_dict(ref.state_dict())  # the same parameter names
    assert ours.lin_l.bias is None
    assert torch.allclose(ours(x, edge_index), ref(x, edge_index), atol=1e-5)
    with pytest.raises(ValueError, match='build the layer with in_channels=5'):
        CachedSAGEConv(6, 8)(torch.randn(80, 5), edge_index)
    with pytest.raises(ValueError, match="'adj' has shape"):
        CachedSAGEConv(6, 8)(x, edge_index.t())
