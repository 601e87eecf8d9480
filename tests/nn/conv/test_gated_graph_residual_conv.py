import pytest
import torch
import torch_geometric.typing
from torch_geometric import EdgeIndex
from torch_geometric.nn import ResGatedGraphConv, Sequential
from torch_geometric.utils import to_torch_coo_tensor, to_torch_csr_tensor

from pyg_ext.blocks.highway import Highway
from pyg_ext.blocks.residual import Residual
from pyg_ext.nn.conv.gated_graph_residual_conv import GatedGraphResidualConv

pytestmark = pytest.mark.filterwarnings('ignore:Sparse CSR tensor support:UserWarning',
                                        'ignore:Sparse invariant checks:UserWarning')


@pytest.fixture
def graph(directed_graph):
    """``directed_graph`` (no duplicate edges) with 3 edge features per edge."""
    edge_index, _, num_nodes = directed_graph
    return edge_index, torch.randn(edge_index.size(1), 3), num_nodes


def dense_reference(conv, x, edge_index, edge_attr=None):
    """The layer's formula over a dense [N_dst, N_src] grid of edges (no duplicate edges)."""
    x_src, x_dst = (x, x) if isinstance(x, torch.Tensor) else x
    n_src, n_dst, f = x_src.size(-2), x_dst.size(-2), conv.out_channels
    mask = torch.zeros(n_dst, n_src)
    mask[edge_index[1], edge_index[0]] = 1.0
    logits = ((x_dst @ conv.lin_dst.weight.t() + conv.lin_dst.bias)[:, None]
              + (x_src @ conv.lin_src.weight.t())[None])  # [N_dst, N_src, F]
    if edge_attr is not None:
        edge_term = torch.zeros(n_dst, n_src, f)
        edge_term[edge_index[1], edge_index[0]] = edge_attr @ conv.lin_edge.weight.t()
        logits = logits + edge_term
    eta = torch.sigmoid(logits) * mask[..., None]
    value = x_src @ conv.lin_value.weight.t() + conv.lin_value.bias  # [N_src, F]
    agg = (eta * value[None]).sum(dim=1)
    if conv.normalize:
        agg = agg / (eta.sum(dim=1) + conv.eps)
    c = agg
    if conv.lin_root is not None:
        c = c + x_dst @ conv.lin_root.weight.t()
    if conv.bias is not None:
        c = c + conv.bias
    if conv.update_name == 'plain':
        return c
    if conv.update_name == 'residual':
        proj = conv.node_update.projection
        skip = x_dst if proj is None else x_dst @ proj.weight.t()
        return skip + torch.relu(c)
    gate = conv.node_update.gate
    t = torch.sigmoid(x_dst @ gate.weight.t() + gate.bias)
    return t * torch.relu(c) + (1 - t) * x_dst


def copy_from_pyg(conv, ref, edge_dim=0):
    """Copy a ResGatedGraphConv's weights into a plain GatedGraphResidualConv."""
    f_dst = ref.lin_key.weight.size(1) - edge_dim
    f_src = ref.lin_query.weight.size(1) - edge_dim
    with torch.no_grad():
        conv.lin_dst.weight.copy_(ref.lin_key.weight[:, :f_dst])
        conv.lin_dst.bias.copy_(ref.lin_key.bias + ref.lin_query.bias)
        conv.lin_src.weight.copy_(ref.lin_query.weight[:, :f_src])
        conv.lin_value.weight.copy_(ref.lin_value.weight[:, :f_src])
        conv.lin_value.bias.copy_(ref.lin_value.bias)
        if edge_dim:
            conv.lin_edge.weight.copy_(ref.lin_key.weight[:, f_dst:]
                                       + ref.lin_query.weight[:, f_src:])
            ref.lin_value.weight[:, f_src:] = 0.0  # our value map does not read e_ij
        conv.lin_root.weight.copy_(ref.lin_skip.weight)
        ref.bias.normal_()
        conv.bias.copy_(ref.bias)


def test_repr_and_parameters():
    conv = GatedGraphResidualConv(16, 16)
    assert str(conv) == "GatedGraphResidualConv(16, 16, update='highway')"
    assert isinstance(conv.node_update, Highway)
    assert torch.all(conv.node_update.gate.bias == -2.0)
    conv = GatedGraphResidualConv(16, 32, edge_dim=4, update='residual', normalize=True)
    assert str(conv) == ("GatedGraphResidualConv(16, 32, update='residual', edge_dim=4, "
                         "normalize=True)")
    assert isinstance(conv.node_update, Residual) and conv.node_update.projection is not None
    conv = GatedGraphResidualConv((8, 4), 6, update='plain', root_weight=False, bias=False)
    assert str(conv) == "GatedGraphResidualConv((8, 4), 6, update='plain')"
    assert conv.node_update is None and conv.lin_root is None and conv.bias is None
    assert conv.lin_edge is None


@pytest.mark.parametrize('edge_dim', [None, 3])
def test_plain_equals_pyg_res_gated_graph_conv(graph, edge_dim):
    edge_index, edge_attr, N = graph
    edge_attr = edge_attr if edge_dim else None
    conv = GatedGraphResidualConv(4, 6, edge_dim=edge_dim, update='plain')
    ref = ResGatedGraphConv(4, 6, edge_dim=edge_dim)
    copy_from_pyg(conv, ref, edge_dim or 0)
    x = torch.randn(N, 4)
    assert torch.allclose(conv(x, edge_index, edge_attr), ref(x, edge_index, edge_attr),
                          atol=1e-5)


def test_plain_bipartite_equals_pyg():
    edge_index = torch.tensor([[0, 1, 2, 6, 5, 3], [0, 0, 1, 2, 2, 3]])
    x = (torch.randn(7, 4), torch.randn(4, 5))
    conv = GatedGraphResidualConv((4, 5), 3, update='plain')
    ref = ResGatedGraphConv((4, 5), 3)
    copy_from_pyg(conv, ref)
    out = conv(x, edge_index)
    assert out.shape == (4, 3)
    assert torch.allclose(out, ref(x, edge_index), atol=1e-5)


@pytest.mark.parametrize('update', ['highway', 'residual', 'plain'])
@pytest.mark.parametrize('normalize', [False, True])
def test_dense_formula(graph, update, normalize):
    edge_index, edge_attr, N = graph
    conv = GatedGraphResidualConv(5, 5, edge_dim=3, update=update, normalize=normalize)
    torch.nn.init.normal_(conv.bias)
    x = torch.randn(N, 5)
    expected = dense_reference(conv, x, edge_index, edge_attr)
    assert torch.allclose(conv(x, edge_index, edge_attr), expected, atol=1e-5)


def test_residual_projects_a_changed_width(graph):
    edge_index, _, N = graph
    conv = GatedGraphResidualConv(4, 6, update='residual')
    x = torch.randn(N, 4)
    assert torch.allclose(conv(x, edge_index), dense_reference(conv, x, edge_index),
                          atol=1e-5)


def test_bipartite_highway_dense():
    edge_index = torch.tensor([[0, 1, 2, 6, 5, 3], [0, 0, 1, 2, 2, 3]])
    x = (torch.randn(7, 4), torch.randn(4, 5))
    conv = GatedGraphResidualConv((4, 5), 5, normalize=True)
    assert torch.allclose(conv(x, edge_index), dense_reference(conv, x, edge_index),
                          atol=1e-5)


def test_fresh_highway_is_close_to_identity(graph):
    edge_index, _, N = graph
    x = torch.randn(64, N, 16)
    conv = GatedGraphResidualConv(16, 16)
    gate = torch.sigmoid(conv.node_update.gate(x))
    assert 0.08 < gate.mean() < 0.18  # sigmoid(-2) = 0.12
    close = (conv(x, edge_index) - x).norm() / x.norm()
    open_gate = GatedGraphResidualConv(16, 16, gate_bias=0.0)
    far = (open_gate(x, edge_index) - x).norm() / x.norm()
    assert close < 0.25 and close < 0.5 * far
    shut = GatedGraphResidualConv(16, 16, gate_bias=-20.0)
    assert torch.allclose(shut(x, edge_index), x, atol=1e-6)
    with torch.no_grad():  # reset_parameters puts the highway bias back
        conv.node_update.gate.bias.fill_(3.0)
    conv.reset_parameters()
    assert torch.all(conv.node_update.gate.bias == -2.0)


def test_batched_time_layout_matches_slices(graph):
    edge_index, edge_attr, N = graph
    conv = GatedGraphResidualConv(3, 3, edge_dim=3, normalize=True)
    x = torch.randn(2, 4, N, 3)  # [B, T, N, F]
    out = conv(x, edge_index, edge_attr)
    assert out.shape == (2, 4, N, 3)
    for b in range(2):
        for t in range(4):
            assert torch.allclose(out[b, t], conv(x[b, t], edge_index, edge_attr), atol=1e-6)
    # Time-varying edge features [B, T, E, F_e] broadcast the same way.
    varying = edge_attr.expand(2, 4, -1, -1).clone()
    varying[1, 2] = torch.randn_like(edge_attr)
    out = conv(x, edge_index, varying)
    assert torch.allclose(out[1, 2], conv(x[1, 2], edge_index, varying[1, 2]), atol=1e-6)


def test_permutation_equivariance(graph):
    edge_index, edge_attr, N = graph
    conv = GatedGraphResidualConv(4, 4, edge_dim=3, normalize=True)
    x = torch.randn(N, 4)
    perm = torch.randperm(N)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(N)
    out = conv(x, edge_index, edge_attr)
    assert torch.allclose(conv(x[perm], inv[edge_index], edge_attr), out[perm], atol=1e-5)


@pytest.mark.parametrize('shape', [(), (2, 3)])
@pytest.mark.parametrize('edge_dim', [None, 3])
def test_edge_index_formats_agree(graph, shape, edge_dim):
    edge_index, edge_attr, N = graph
    edge_attr = edge_attr if edge_dim else None
    conv = GatedGraphResidualConv(4, 4, edge_dim=edge_dim, normalize=True)
    x = torch.randn(*shape, N, 4)
    expected = conv(x, edge_index, edge_attr)

    ei = EdgeIndex(edge_index, sparse_size=(N, N))
    assert torch.allclose(conv(x, ei, edge_attr), expected, atol=1e-6)
    ei_sorted, perm = ei.sort_by('col')
    attr_sorted = None if edge_attr is None else edge_attr[perm]
    assert torch.allclose(conv(x, ei_sorted, attr_sorted), expected, atol=1e-6)

    # torch.sparse adj_t[i, j] for the edge j -> i; edge features as hybrid values.
    for to_sparse in (to_torch_coo_tensor, to_torch_csr_tensor):
        adj_t = to_sparse(edge_index.flip(0), edge_attr, size=(N, N))
        assert torch.allclose(conv(x, adj_t), expected, atol=1e-6)


@pytest.mark.skipif(not torch_geometric.typing.WITH_TORCH_SPARSE,
                    reason='torch_sparse is not installed')
def test_sparse_tensor_agrees(graph):  # pragma: no cover - needs torch_sparse
    from torch_geometric.typing import SparseTensor
    edge_index, _, N = graph
    conv = GatedGraphResidualConv(4, 4)
    x = torch.randn(2, N, 4)
    adj_t = SparseTensor(row=edge_index[1], col=edge_index[0], sparse_sizes=(N, N))
    assert torch.allclose(conv(x, adj_t), conv(x, edge_index), atol=1e-6)


def test_inside_pyg_sequential(graph):
    edge_index, edge_attr, N = graph
    conv1 = GatedGraphResidualConv(3, 8, edge_dim=3, update='residual')
    conv2 = GatedGraphResidualConv(8, 8, edge_dim=3)
    model = Sequential('x, edge_index, edge_attr', [
        (conv1, 'x, edge_index, edge_attr -> x'),
        (conv2, 'x, edge_index, edge_attr -> x'),
    ])
    x = torch.randn(2, N, 3)
    expected = conv2(conv1(x, edge_index, edge_attr), edge_index, edge_attr)
    assert torch.allclose(model(x, edge_index, edge_attr), expected)


@pytest.mark.parametrize('update', ['highway', 'residual'])
def test_gradients_reach_every_parameter(graph, update):
    edge_index, edge_attr, N = graph
    conv = GatedGraphResidualConv(4, 4, edge_dim=3, update=update, normalize=True)
    x = torch.randn(2, N, 4, requires_grad=True)
    edge_attr = edge_attr.clone().requires_grad_()
    conv(x, edge_index, edge_attr).square().sum().backward()
    for name, param in conv.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert x.grad.abs().sum() > 0 and edge_attr.grad.abs().sum() > 0


def test_save_load_roundtrip(graph, reloaded):
    edge_index, edge_attr, N = graph
    conv = GatedGraphResidualConv(4, 4, edge_dim=3, normalize=True)
    x = torch.randn(N, 4)
    loaded = reloaded(conv)
    assert str(loaded) == str(conv)
    assert torch.equal(loaded(x, edge_index, edge_attr), conv(x, edge_index, edge_attr))

    fresh = GatedGraphResidualConv(4, 4, edge_dim=3, normalize=True)
    fresh.load_state_dict(reloaded(conv.state_dict(), weights_only=True))
    assert torch.equal(fresh(x, edge_index, edge_attr), conv(x, edge_index, edge_attr))


def test_compiles_without_graph_breaks(graph, graph_breaks):
    edge_index, edge_attr, N = graph
    conv = GatedGraphResidualConv(3, 3, edge_dim=3, normalize=True)
    count, why = graph_breaks(conv, torch.randn(2, 3, N, 3), edge_index, edge_attr)
    assert count == 0, why


def test_errors_name_the_fix(graph):
    edge_index, edge_attr, N = graph
    conv = GatedGraphResidualConv(4, 4, edge_dim=3)
    x = torch.randn(N, 4)
    with pytest.raises(ValueError, match=r'expected shape \[2, E\].*pass edge_index.t\(\)'):
        conv(x, edge_index.t(), edge_attr)
    with pytest.raises(ValueError, match=r'call edge_index.long\(\)'):
        conv(x, edge_index.float(), edge_attr)
    with pytest.raises(ValueError, match=r'expected shape \[10, 3\]'):
        conv(x, edge_index, edge_attr[:-1])
    with pytest.raises(ValueError, match=r'expected shape \[10, 3\]'):
        conv(x, edge_index, edge_attr[:, 0])
    with pytest.raises(ValueError, match="'edge_attr' has 2 features"):
        conv(x, edge_index, edge_attr[:, :2])
    with pytest.raises(ValueError, match='pass edge_attr of shape \\[E, 3\\]'):
        conv(x, edge_index)
    with pytest.raises(ValueError, match='build it with edge_dim=3'):
        GatedGraphResidualConv(4, 4)(x, edge_index, edge_attr)
    adj_t = to_torch_coo_tensor(edge_index.flip(0), edge_attr, size=(N, N))
    with pytest.raises(ValueError, match="put the edge features in the sparse matrix"):
        conv(x, adj_t, edge_attr)
    with pytest.raises(ValueError, match='the sparse adjacency has no edge features'):
        conv(x, to_torch_csr_tensor(edge_index.flip(0), size=(N, N)))
    with pytest.raises(ValueError, match='the sparse adjacency has edge features'):
        GatedGraphResidualConv(4, 4)(x, adj_t)
    with pytest.raises(ValueError, match='build the layer with in_channels=5'):
        conv(torch.randn(N, 5), edge_index, edge_attr)
    with pytest.raises(ValueError, match=r'expected \[N, F\] or \[\*, N, F\]'):
        conv(torch.randn(N), edge_index, edge_attr)
    with pytest.raises(ValueError, match=r"use one of \['highway', 'residual', 'plain'\]"):
        GatedGraphResidualConv(4, 4, update='gru')
    with pytest.raises(ValueError, match="use update='residual'.*out_channels=4"):
        GatedGraphResidualConv(4, 6)


@pytest.mark.parametrize('row', [0, 1])
def test_out_of_range_index_is_clear(graph, row):
    edge_index, edge_attr, N = graph
    conv = GatedGraphResidualConv(4, 4, edge_dim=3)
    bad = edge_index.clone()
    bad[row, 4] = N
    with pytest.raises(IndexError, match=rf'larger than {N - 1} \(got {N}\).*valid indices'):
        conv(torch.randn(N, 4), bad, edge_attr)
    bad[row, 4] = -1
    with pytest.raises(IndexError, match='Found negative indices'):
        conv(torch.randn(N, 4), bad, edge_attr)
