import warnings

import pytest
import torch
import torch_geometric.typing
from torch.profiler import profile
from torch_geometric import EdgeIndex
from torch_geometric.nn import Sequential
from torch_geometric.utils import to_torch_coo_tensor, to_torch_csr_tensor

from pyg_ext.nn.conv import diff_conv
from pyg_ext.nn.conv.diff_conv import DiffConv, DiffusionSupports

# The sparse CSR "beta" notice from torch is not what these tests are about.
pytestmark = pytest.mark.filterwarnings('ignore:Sparse CSR tensor support:UserWarning',
                                        'ignore:Sparse invariant checks:UserWarning')


@pytest.fixture
def graph(directed_graph):
    """``directed_graph`` plus node 7 (in-edge 3 -> 7 only: zero out-degree) and an isolated
    node 8 (zero in- and out-degree)."""
    edge_index, edge_weight, num_nodes = directed_graph
    edge_index = torch.cat([edge_index, torch.tensor([[3], [7]])], dim=1)
    edge_weight = torch.cat([edge_weight, torch.tensor([0.8])])
    return edge_index, edge_weight, num_nodes + 2


def dense_diffusion(conv, x, edge_index, edge_weight, num_nodes, normalize=True):
    """The paper's formula, computed densely: W[i, j] = weight of the edge i -> j."""
    W = torch.zeros(num_nodes, num_nodes)
    W.index_put_((edge_index[0], edge_index[1]), edge_weight, accumulate=True)
    if normalize:
        d_out, d_in = W.sum(dim=1), W.sum(dim=0)
        inv_out = torch.where(d_out > 0, 1.0 / d_out, torch.zeros_like(d_out))
        inv_in = torch.where(d_in > 0, 1.0 / d_in, torch.zeros_like(d_in))
        P_f, P_b = inv_out[:, None] * W, inv_in[:, None] * W.t()
    else:
        P_f, P_b = W, W.t()
    K, theta = conv.K, conv.weight
    out = x @ theta[0]
    for k in range(1, K + 1):
        out = out + torch.linalg.matrix_power(P_f, k) @ x @ theta[k]
        out = out + torch.linalg.matrix_power(P_b, k) @ x @ theta[K + k]
    return out if conv.bias is None else out + conv.bias


def test_repr_and_parameters():
    conv = DiffConv(16, 32, K=2)
    assert str(conv) == 'DiffConv(16, 32, K=2)'
    assert conv.weight.shape == (5, 16, 32)  # one shared Theta_0 + 2K blocks
    assert DiffConv(4, 8, K=1, bias=False).bias is None


@pytest.mark.parametrize('K', [1, 2, 3])
def test_dense_formula_directed_weighted(graph, K):
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K)
    torch.nn.init.normal_(conv.bias)
    x = torch.randn(N, 3)
    out = conv(x, edge_index, edge_weight)
    assert out.shape == (N, 4)
    expected = dense_diffusion(conv, x, edge_index, edge_weight, N)
    assert torch.allclose(out, expected, atol=1e-5)


def test_direction_is_not_symmetric(graph):
    # Swapping the two directions' weights must change the result on a directed graph.
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=1)
    x = torch.randn(N, 3)
    out = conv(x, edge_index, edge_weight)
    assert not torch.allclose(out, conv(x, edge_index.flip(0), edge_weight), atol=1e-3)
    assert not torch.allclose(out, conv(x, edge_index), atol=1e-3)  # weights matter


def test_zero_out_degree_row(graph):
    # Node 7 has no out-edges and node 8 no edges: their forward diffusion is zero.
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 2, K=2, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[1:3] = torch.randn(2, 3, 2)  # forward blocks only
    out = conv(torch.randn(N, 3), edge_index, edge_weight)
    assert torch.isfinite(out).all()
    assert torch.equal(out[7], torch.zeros(2)) and torch.equal(out[8], torch.zeros(2))


def test_unnormalized(graph):
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=2, normalize=False)
    x = torch.randn(N, 3)
    expected = dense_diffusion(conv, x, edge_index, edge_weight, N, normalize=False)
    assert torch.allclose(conv(x, edge_index, edge_weight), expected, atol=1e-4)


def test_default_edge_weight_is_one(graph):
    edge_index, _, N = graph
    conv = DiffConv(3, 4, K=2)
    x = torch.randn(N, 3)
    ones = torch.ones(edge_index.size(1))
    assert torch.allclose(conv(x, edge_index), dense_diffusion(conv, x, edge_index, ones, N),
                          atol=1e-5)


def test_batched_time_layout_matches_slices(graph):
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 5, K=2)
    x = torch.randn(2, 4, N, 3)  # [B, T, N, F]
    out = conv(x, edge_index, edge_weight)
    assert out.shape == (2, 4, N, 5)
    for b in range(2):
        for t in range(4):
            assert torch.allclose(out[b, t], conv(x[b, t], edge_index, edge_weight), atol=1e-6)


def test_permutation_equivariance(graph):
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=3)
    x = torch.randn(N, 3)
    perm = torch.randperm(N)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(N)
    out = conv(x, edge_index, edge_weight)
    out_perm = conv(x[perm], inv[edge_index], edge_weight)
    assert torch.allclose(out_perm, out[perm], atol=1e-5)


@pytest.mark.parametrize('shape', [(), (2, 3)])
def test_edge_index_formats_agree(graph, shape):
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=2)
    x = torch.randn(*shape, N, 3)
    expected = conv(x, edge_index, edge_weight)

    # EdgeIndex, unsorted and sorted by target (the latter aggregates by segments).
    ei = EdgeIndex(edge_index, sparse_size=(N, N))
    assert torch.allclose(conv(x, ei, edge_weight), expected, atol=1e-6)
    ei_sorted, perm = ei.sort_by('col')
    assert torch.allclose(conv(x, ei_sorted, edge_weight[perm]), expected, atol=1e-6)

    # torch.sparse adjacency in PyG's transposed convention: adj_t[j, i] = W[i, j].
    for to_sparse in (to_torch_coo_tensor, to_torch_csr_tensor):
        adj_t = to_sparse(edge_index.flip(0), edge_weight, size=(N, N))
        assert torch.allclose(conv(x, adj_t), expected, atol=1e-6)


@pytest.mark.skipif(not torch_geometric.typing.WITH_TORCH_SPARSE,
                    reason='torch_sparse is not installed')
def test_sparse_tensor_agrees(graph):  # pragma: no cover - needs torch_sparse
    from torch_geometric.typing import SparseTensor
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=2)
    x = torch.randn(2, N, 3)
    adj_t = SparseTensor(row=edge_index[1], col=edge_index[0], value=edge_weight,
                         sparse_sizes=(N, N))
    assert torch.allclose(conv(x, adj_t), conv(x, edge_index, edge_weight), atol=1e-6)


def _edge_index_backward(conv, x, edge_index, edge_weight):
    """The reference: backward of conv(x, edge_index, w).square().sum() on the edge list, w a
    learnable copy of edge_weight. Returns w and x's gradient, and clears x.grad."""
    w = edge_weight.clone().requires_grad_()
    conv(x, edge_index, w).square().sum().backward()
    grad_x = x.grad.clone()
    x.grad = None
    return w, grad_x


def test_sparse_gradients_match(graph):
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=2)
    x = torch.randn(N, 3, requires_grad=True)
    w1, grad_x = _edge_index_backward(conv, x, edge_index, edge_weight)
    w2 = edge_weight.clone().requires_grad_()
    conv(x, to_torch_csr_tensor(edge_index.flip(0), w2, size=(N, N))).square().sum().backward()
    assert torch.allclose(x.grad, grad_x, atol=1e-5)
    assert torch.allclose(w2.grad, w1.grad, atol=1e-5)


def test_inside_pyg_sequential(graph):
    edge_index, edge_weight, N = graph
    conv1, conv2 = DiffConv(3, 8, K=2), DiffConv(8, 2, K=1)
    model = Sequential('x, edge_index, edge_weight', [
        (conv1, 'x, edge_index, edge_weight -> x'),
        torch.nn.ReLU(),
        (conv2, 'x, edge_index, edge_weight -> x'),
    ])
    x = torch.randn(2, 3, N, 3)
    expected = conv2(conv1(x, edge_index, edge_weight).relu(), edge_index, edge_weight)
    assert torch.allclose(model(x, edge_index, edge_weight), expected)


def test_gradients_reach_every_parameter(graph):
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=2)
    edge_weight = edge_weight.clone().requires_grad_()
    conv(torch.randn(2, N, 3), edge_index, edge_weight).square().sum().backward()
    for name, param in conv.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert (conv.weight.grad.flatten(1).abs().sum(dim=1) > 0).all()  # every Theta block
    assert edge_weight.grad is not None and edge_weight.grad.abs().sum() > 0


def test_save_load_roundtrip(graph, reloaded):
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=2)
    x = torch.randn(N, 3)
    loaded = reloaded(conv)
    assert str(loaded) == str(conv)
    assert torch.equal(loaded(x, edge_index, edge_weight), conv(x, edge_index, edge_weight))

    fresh = DiffConv(3, 4, K=2)
    fresh.load_state_dict(reloaded(conv.state_dict(), weights_only=True))
    assert torch.equal(fresh(x, edge_index, edge_weight), conv(x, edge_index, edge_weight))


def test_compiles_without_graph_breaks(graph, graph_breaks):
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=2)
    count, why = graph_breaks(conv, torch.randn(2, 3, N, 3), edge_index, edge_weight)
    assert count == 0, why


def test_cached_transitions(graph, monkeypatch):
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=2, cached=True)
    calls = []
    transitions = conv.transitions
    monkeypatch.setattr(conv, 'transitions', lambda *a: calls.append(1) or transitions(*a))
    x = torch.randn(N, 3)
    out = conv(x, edge_index, edge_weight)
    assert conv(x, edge_index, edge_weight).equal(out) and len(calls) == 1  # cache hit
    assert conv(torch.randn(5, N, 3), edge_index, edge_weight).shape == (5, N, 4)
    assert len(calls) == 1
    # The cache holds the first graph: another edge weighting on the same edges is ignored,
    # until reset_parameters() clears it.
    other = torch.rand(edge_index.size(1))
    conv(x, edge_index, other)
    assert len(calls) == 1
    conv.reset_parameters()
    assert conv._cached is None
    out = conv(x, edge_index, other)
    assert len(calls) == 2
    assert torch.allclose(out, dense_diffusion(conv, x, edge_index, other, N), atol=1e-5)

    uncached = DiffConv(3, 4, K=2)
    monkeypatch.setattr(uncached, 'transitions', lambda *a: calls.append(1) or transitions(*a))
    uncached(x, edge_index, edge_weight)
    uncached(x, edge_index, edge_weight)
    assert len(calls) == 4 and uncached._cached is None


def test_cached_rejects_a_different_graph_size(graph):
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=1, cached=True)
    conv(torch.randn(N, 3), edge_index, edge_weight)
    with pytest.raises(ValueError, match='use cached=False for changing graphs'):
        conv(torch.randn(N, 3), edge_index[:, :5], edge_weight[:5])
    with pytest.raises(ValueError, match='call reset_parameters'):
        conv(torch.randn(N + 1, 3), edge_index, edge_weight)


def test_errors_name_the_fix(graph):
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=2)
    x = torch.randn(N, 3)
    with pytest.raises(ValueError, match=r'expected shape \[2, E\].*pass edge_index.t\(\)'):
        conv(x, edge_index.t(), edge_weight)
    with pytest.raises(ValueError, match=r'call edge_index.long\(\)'):
        conv(x, edge_index.float(), edge_weight)
    with pytest.raises(ValueError, match=r'expected shape \[11\]'):
        conv(x, edge_index, edge_weight[:-1])
    with pytest.raises(ValueError, match='build the layer with in_channels=5'):
        conv(torch.randn(N, 5), edge_index, edge_weight)
    with pytest.raises(ValueError, match=r'expected \[N, F\] or \[\*, N, F\]'):
        conv(torch.randn(N), edge_index, edge_weight)
    adj_t = to_torch_coo_tensor(edge_index.flip(0), edge_weight, size=(N + 1, N + 1))
    with pytest.raises(ValueError, match=rf'expected \[{N}, {N}\]'):
        conv(x, adj_t)
    adj_t = to_torch_coo_tensor(edge_index.flip(0), edge_weight, size=(N, N))
    with pytest.raises(ValueError, match="put the weights in the sparse matrix's values"):
        conv(x, adj_t, edge_weight)
    with pytest.raises(ValueError, match='must be >= 0'):
        DiffConv(3, 4, K=-1)


@pytest.mark.parametrize('normalize', [True, False])
@pytest.mark.parametrize('row', [0, 1])
def test_out_of_range_index_is_clear(graph, normalize, row):
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=2, normalize=normalize)
    x = torch.randn(N, 3)
    bad = edge_index.clone()
    bad[row, 4] = N
    with pytest.raises(IndexError, match=rf"refers to node {N}, but 'x' has {N} nodes"):
        conv(x, bad, edge_weight)
    bad[row, 4] = -1
    with pytest.raises(IndexError, match="refers to node -1.*relabel the nodes"):
        conv(x, bad, edge_weight)


def test_sparse_inputs_do_not_warn_about_conversion(graph):
    # The transitions are built once as CSR, so PyG's spmm never converts COO per call.
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=2)
    adj_t = to_torch_coo_tensor(edge_index.flip(0), edge_weight, size=(N, N))
    with warnings.catch_warnings():
        warnings.filterwarnings('error', message='Converting sparse tensor to CSR')
        conv(torch.randn(N, 3), adj_t)


@pytest.mark.parametrize('normalize', [True, False])
@pytest.mark.parametrize('sparse', [False, True])
def test_precomputed_supports_match(graph, normalize, sparse):
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=2, normalize=normalize)
    torch.nn.init.normal_(conv.bias)
    x = torch.randn(2, N, 3)
    if sparse:  # CSR operators
        supports = DiffConv.transitions(to_torch_csr_tensor(edge_index.flip(0), edge_weight,
                                                            size=(N, N)), normalize=normalize)
        assert supports.forward.layout == torch.sparse_csr and supports.forward_weight is None
    else:
        supports = DiffConv.transitions(edge_index, edge_weight, N, normalize=normalize)
    assert isinstance(supports, DiffusionSupports) and supports.num_nodes == N
    out = conv(x, supports)
    assert torch.allclose(out, conv(x, edge_index, edge_weight), atol=1e-6)
    expected = dense_diffusion(conv, x, edge_index, edge_weight, N, normalize=normalize)
    assert torch.allclose(out, expected, atol=1e-4)
    # The same supports serve layers of other sizes, [N, F] and [B, T, N, F] inputs alike.
    other = DiffConv(3, 2, K=1, normalize=normalize)
    x4 = torch.randn(2, 3, N, 3)
    assert torch.allclose(other(x4, supports), other(x4, edge_index, edge_weight), atol=1e-6)


def test_precomputed_supports_skip_normalisation(graph, monkeypatch):
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=2, cached=True)
    supports = DiffConv.transitions(edge_index, edge_weight, N)
    calls = []
    monkeypatch.setattr(conv, 'transitions', lambda *a: calls.append(1))
    conv(torch.randn(N, 3), supports)
    conv(torch.randn(2, N, 3), supports)
    assert calls == [] and conv._cached is None  # no normalisation, cache untouched


def test_precomputed_supports_gradients(graph):
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=2)
    x = torch.randn(2, N, 3, requires_grad=True)
    w1, grad_x = _edge_index_backward(conv, x, edge_index, edge_weight)
    grads = {name: p.grad.clone() for name, p in conv.named_parameters()}
    conv.zero_grad()
    w2 = edge_weight.clone().requires_grad_()
    conv(x, DiffConv.transitions(edge_index, w2, N)).square().sum().backward()
    for name, param in conv.named_parameters():
        assert param.grad.abs().sum() > 0, name
        assert torch.allclose(param.grad, grads[name], atol=1e-5), name
    assert torch.allclose(x.grad, grad_x, atol=1e-5)
    assert torch.allclose(w2.grad, w1.grad, atol=1e-5)  # back through the normalisation


def test_precomputed_supports_compile_without_graph_breaks(graph, graph_breaks):
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=2)
    supports = DiffConv.transitions(edge_index, edge_weight, N)
    count, why = graph_breaks(conv, torch.randn(2, 3, N, 3), supports)
    assert count == 0, why


def test_precomputed_supports_errors_name_the_fix(graph):
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=2)
    x = torch.randn(N, 3)
    supports = DiffConv.transitions(edge_index, edge_weight, N)
    with pytest.raises(ValueError, match=rf"graph of {N} nodes, but 'x' has {N + 1}.*"
                                         rf"num_nodes={N + 1}\)"):
        conv(torch.randn(N + 1, 3), supports)
    csr = DiffConv.transitions(to_torch_csr_tensor(edge_index.flip(0), edge_weight,
                                                   size=(N + 1, N + 1)))
    with pytest.raises(ValueError, match=rf"graph of {N + 1} nodes, but 'x' has {N}"):
        conv(x, csr)
    # Node 8 is isolated: without num_nodes, N is read as edge_index.max() + 1 = N - 1.
    with pytest.raises(ValueError, match=rf"graph of {N - 1} nodes.*num_nodes={N}\)"):
        conv(x, DiffConv.transitions(edge_index, edge_weight))
    with pytest.raises(ValueError, match='pass edge_weight to DiffConv.transitions'):
        conv(x, supports, edge_weight)
    with pytest.raises(ValueError, match=r'transitions\(\.\.\., normalize=False\)'):
        DiffConv(3, 4, K=2, normalize=False)(x, supports)
    with pytest.raises(ValueError, match=r'dtype=torch.float64\)'):
        conv.double()(x.double(), supports)
    with pytest.raises(ValueError, match=r'expected shape \[11\]'):
        DiffConv.transitions(edge_index, edge_weight[:-1], N)


def csr_supports(edge_index, edge_weight, N, normalize=True):
    adj_t = to_torch_csr_tensor(edge_index.flip(0), edge_weight, size=(N, N))
    return DiffConv.transitions(adj_t, normalize=normalize)


@pytest.mark.parametrize('K', [1, 2, 3])
@pytest.mark.parametrize('shape', [(), (2, ), (2, 3)])
@pytest.mark.parametrize('bias', [True, False])
def test_csr_fast_path_equals_dense_formula(graph, K, shape, bias):
    # The key reference: the paper's formula on the asymmetric weighted graph, computed
    # densely, against the nodes-first CSR path that DCRNN and Graph WaveNet use.
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K, bias=bias)
    if bias:
        torch.nn.init.normal_(conv.bias)
    x = torch.randn(*shape, N, 3)
    out = conv(x, csr_supports(edge_index, edge_weight, N))
    assert out.shape == (*shape, N, 4)
    expected = dense_diffusion(conv, x, edge_index, edge_weight, N)
    assert torch.allclose(out, expected, atol=1e-5)


def test_csr_fast_path_is_used(graph, monkeypatch):
    # Every diffusion step of a CSR graph goes through csr_matmul, none through propagate.
    edge_index, edge_weight, N = graph
    calls = []
    csr_matmul = diff_conv.csr_matmul
    monkeypatch.setattr(diff_conv, 'csr_matmul', lambda *a: calls.append(1) or csr_matmul(*a))
    conv = DiffConv(3, 4, K=3)

    def no_message_passing(*args, **kwargs):
        raise AssertionError('propagate was called on CSR supports')

    monkeypatch.setattr(conv, 'propagate', no_message_passing)
    x = torch.randn(2, N, 3)
    conv(x, csr_supports(edge_index, edge_weight, N))
    assert len(calls) == 2 * 3
    adj_t = to_torch_coo_tensor(edge_index.flip(0), edge_weight, size=(N, N))
    conv(x, adj_t)  # a COO adjacency is normalised into CSR supports
    assert len(calls) == 4 * 3


def test_csr_fast_path_gradients_without_sparse_transposes(graph):
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=2)
    torch.nn.init.normal_(conv.bias)
    x = torch.randn(2, 3, N, 3, requires_grad=True)
    conv(x, edge_index, edge_weight).square().sum().backward()  # message-passing reference
    grads = {name: p.grad.clone() for name, p in conv.named_parameters()}
    grad_x = x.grad.clone()
    conv.zero_grad()
    x.grad = None
    out = conv(x, csr_supports(edge_index, edge_weight, N))
    with profile() as prof:
        out.square().sum().backward()
    names = {event.key for event in prof.key_averages()}
    assert not names & {'aten::_to_sparse_csr', 'aten::sort'}, names
    for name, param in conv.named_parameters():
        assert torch.allclose(param.grad, grads[name], atol=1e-5), name
    assert (conv.weight.grad.flatten(1).abs().sum(dim=1) > 0).all()  # every Theta block
    assert torch.allclose(x.grad, grad_x, atol=1e-5)


def test_csr_fast_path_learnable_edge_weight_falls_back(graph):
    # Values that require grad: torch's sparse backward, and gradients reach edge_weight.
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=2)
    x = torch.randn(2, N, 3, requires_grad=True)
    w1, grad_x = _edge_index_backward(conv, x, edge_index, edge_weight)
    w2 = edge_weight.clone().requires_grad_()
    supports = csr_supports(edge_index, w2, N)
    assert supports.forward.requires_grad
    conv(x, supports).square().sum().backward()
    assert torch.allclose(w2.grad, w1.grad, atol=1e-5)
    assert torch.allclose(x.grad, grad_x, atol=1e-5)


def test_csr_fast_path_output_is_nodes_first(graph):
    # The output is a [*, N, F] view of [N, *, F] memory, so feeding it back (a recurrent
    # state) folds without a copy; odd strides in the input are handled.
    edge_index, edge_weight, N = graph
    conv = DiffConv(4, 4, K=2)
    supports = csr_supports(edge_index, edge_weight, N)
    out = conv(torch.randn(2, 3, N, 4), supports)  # [B, T, N, F]
    assert out.movedim(-2, 0).is_contiguous()
    assert out.movedim(-2, 0).reshape(N, -1).data_ptr() == out.data_ptr()
    assert torch.allclose(conv(out, supports), conv(out.contiguous(), supports), atol=1e-6)
    gappy = torch.randn(N, 2, 2, 4)[:, 0].movedim(0, 1)  # nodes-first, strided rows
    sliced = torch.randn(2, N, 6)[..., 1:5]  # a slice of a wider feature dim
    for x in (gappy, sliced):
        assert torch.allclose(conv(x, supports), conv(x.contiguous(), supports), atol=1e-6)


def test_csr_cached_save_load_roundtrip(graph, reloaded):
    edge_index, edge_weight, N = graph
    conv = DiffConv(3, 4, K=2, cached=True)
    adj_t = to_torch_csr_tensor(edge_index.flip(0), edge_weight, size=(N, N))
    x = torch.randn(2, N, 3)
    out = conv(x, adj_t)
    assert conv._cached.forward_t is not None  # the cache holds all four CSR matrices
    loaded = reloaded(conv)
    assert torch.equal(loaded(x, adj_t), out)
