import pytest
import torch
import torch_geometric.nn
from torch.testing import assert_close
from torch_geometric import EdgeIndex
from torch_geometric.nn import ChebConv as PyGChebConv
from torch_geometric.utils import to_torch_csr_tensor

from pyg_ext.nn.conv.cheb_conv import ChebConv

pytestmark = pytest.mark.filterwarnings('ignore:Sparse CSR tensor support:UserWarning',
                                        'ignore:Sparse invariant checks:UserWarning')
TOL = dict(atol=1e-5, rtol=1e-5)


def randomize_bias(conv):
    with torch.no_grad():
        if conv.bias is not None:
            conv.bias.normal_()
    return conv


def sparse_laplacian_t(edge_index, edge_weight, num_nodes, normalization='sym'):
    index, weight = ChebConv.scaled_laplacian(edge_index, edge_weight, num_nodes, normalization)
    return to_torch_csr_tensor(index.flip(0), weight, size=(num_nodes, num_nodes))


def grads(module):
    return {name: p.grad.clone() for name, p in module.named_parameters()}


def test_repr_and_parameters():
    conv = ChebConv(16, 32, K=3)
    assert isinstance(conv, torch_geometric.nn.ChebConv)
    assert str(conv) == 'ChebConv(16, 32, K=3, normalization=sym)'
    assert str(ChebConv(16, 32, K=2, normalization=None)) == (
        'ChebConv(16, 32, K=2, normalization=None)')
    assert len(conv.lins) == 3 and conv.K == 3
    assert all(lin.weight.shape == (32, 16) and lin.bias is None for lin in conv.lins)
    assert ChebConv(4, 8, K=1, bias=False).bias is None


def test_same_seed_same_weights_as_pyg():
    # PyG's parameters and PyG's reset_parameters: a seed gives PyG's initial weights.
    torch.manual_seed(1)
    ref = PyGChebConv(6, 5, K=3)
    torch.manual_seed(1)
    conv = ChebConv(6, 5, K=3)
    assert conv.state_dict().keys() == ref.state_dict().keys()
    for name, value in ref.state_dict().items():
        assert torch.equal(conv.state_dict()[name], value), name
    with torch.no_grad():
        for p in conv.parameters():
            p.fill_(3.0)
    conv.reset_parameters()
    assert conv.bias.abs().sum() == 0
    bound = (6.0 / (6 + 5)) ** 0.5  # glorot
    assert all(0 < lin.weight.abs().max() <= bound for lin in conv.lins)


@pytest.mark.parametrize('K', [1, 2, 3])
@pytest.mark.parametrize('normalization', [None, 'sym', 'rw'])
@pytest.mark.parametrize('shape', [(), (2, 3)])
def test_state_dict_both_ways_equal_outputs_and_gradients(directed_graph, K, normalization,
                                                          shape):
    edge_index, edge_weight, N = directed_graph
    lam = torch.tensor(5.0) if normalization is None else None  # None: L = D - A
    x = torch.randn(*shape, N, 3)

    def check(ours, ref):
        out, expected = ours(x, edge_index, edge_weight, lambda_max=lam), ref(
            x, edge_index, edge_weight, lambda_max=lam)
        assert out.shape == (*shape, N, 5)
        assert_close(out, expected, **TOL)
        g = torch.randn_like(out)
        (out * g).sum().backward()
        (expected * g).sum().backward()
        assert_close(grads(ours), grads(ref), **TOL)

    ref = randomize_bias(PyGChebConv(3, 5, K, normalization=normalization))
    conv = ChebConv(3, 5, K, normalization=normalization)
    conv.load_state_dict(ref.state_dict())  # PyG -> ours, no key mapping
    check(conv, ref)
    conv = randomize_bias(ChebConv(3, 5, K, normalization=normalization))
    ref = PyGChebConv(3, 5, K, normalization=normalization)
    ref.load_state_dict(conv.state_dict())  # ours -> PyG
    check(conv, ref)


@pytest.mark.parametrize('lam', [3.0, torch.tensor(3.0)])
def test_lambda_max_and_batch_as_pyg(directed_graph, lam):
    # Two graphs in one batch, each with its own lambda_max, as in PyG's forward.
    edge_index, edge_weight, N = directed_graph
    ref = randomize_bias(PyGChebConv(3, 4, 3, normalization=None))
    conv = ChebConv(3, 4, 3, normalization=None)
    conv.load_state_dict(ref.state_dict())
    x = torch.randn(N, 3)
    assert_close(conv(x, edge_index, edge_weight, lambda_max=lam),
                 ref(x, edge_index, edge_weight, lambda_max=lam), **TOL)
    two = torch.cat([edge_index, edge_index + N], dim=1)
    w2, x2 = edge_weight.repeat(2), torch.randn(2 * N, 3)
    batch = torch.arange(2).repeat_interleave(N)
    lams = torch.tensor([3.0, 6.0])
    out = conv(x2, two, w2, batch, lams)
    assert_close(out, ref(x2, two, w2, batch, lams), **TOL)
    assert_close(out[N:], conv(x2[N:], edge_index, edge_weight, lambda_max=6.0), **TOL)


@pytest.mark.parametrize('normalization', [None, 'sym', 'rw'])
def test_scaled_laplacian_equals_pyg_norm(directed_graph, normalization):
    edge_index, edge_weight, N = directed_graph
    lam = 4.0 if normalization is None else None
    index, weight = ChebConv.scaled_laplacian(edge_index, edge_weight, N, normalization, lam)
    ref_index, ref_weight = PyGChebConv(3, 4, 2).__norm__(
        edge_index, N, edge_weight, normalization, lam, dtype=torch.float)
    assert torch.equal(index, ref_index)
    assert_close(weight, ref_weight)


def test_lazy_in_channels_as_pyg(directed_graph):
    edge_index, edge_weight, N = directed_graph
    conv = ChebConv(-1, 4, K=3)
    x = torch.randn(2, N, 3)
    out = conv(x, edge_index, edge_weight)
    assert out.shape == (2, N, 4)
    assert all(lin.weight.shape == (4, 3) for lin in conv.lins)
    ref = PyGChebConv(3, 4, K=3)
    ref.load_state_dict(conv.state_dict())
    assert_close(out, ref(x, edge_index, edge_weight), **TOL)


def test_dense_chebyshev_formula(directed_graph):
    # T_k(L^) with L^ = -D^-1/2 A D^-1/2 (sym, lambda_max = 2); PyG's A[i, j] sends i -> j
    # and D counts out-degrees.
    edge_index, edge_weight, N = directed_graph
    conv = randomize_bias(ChebConv(3, 4, K=3))
    A = torch.zeros(N, N).index_put_((edge_index[0], edge_index[1]), edge_weight)
    d = A.sum(1)
    inv = torch.where(d > 0, d.pow(-0.5), torch.zeros_like(d))
    L = -(inv[:, None] * A * inv[None, :]).t()  # rows = targets
    x = torch.randn(N, 3)
    T = [x, L @ x, 2 * L @ (L @ x) - x]
    expected = sum(t @ lin.weight.t() for t, lin in zip(T, conv.lins)) + conv.bias
    assert_close(conv(x, edge_index, edge_weight), expected, **TOL)


@pytest.mark.parametrize('K', [1, 2, 3])
@pytest.mark.parametrize('bias', [True, False])
def test_normalize_false_with_precomputed_laplacian(directed_graph, K, bias):
    # Every precomputed form (edge list, CSR, dense) gives PyG's output and PyG's gradients.
    edge_index, edge_weight, N = directed_graph
    ref = randomize_bias(PyGChebConv(3, 4, K, bias=bias))
    raw = ChebConv(3, 4, K, bias=bias, normalize=False)
    raw.load_state_dict(ref.state_dict())
    x = torch.randn(2, 5, N, 3)
    expected = ref(x, edge_index, edge_weight)
    g = torch.randn_like(expected)
    (expected * g).sum().backward()
    expected_grads = grads(ref)
    adj_t = sparse_laplacian_t(edge_index, edge_weight, N)
    graphs = {'edges': ChebConv.scaled_laplacian(edge_index, edge_weight, N),
              'csr': (adj_t, ), 'dense': (adj_t.to_dense(), )}
    for kind, graph in graphs.items():
        raw.zero_grad()
        out = raw(x, *graph)
        assert_close(out, expected, **TOL, msg=kind)
        assert_close(raw(x[0, 0], *graph), expected[0, 0], **TOL, msg=kind)
        (out * g).sum().backward()
        assert_close(grads(raw), expected_grads, **TOL, msg=kind)


def test_unweighted_precomputed_graph_has_unit_weights(directed_graph):
    edge_index, _, N = directed_graph
    raw = ChebConv(3, 4, K=3, normalize=False)
    x = torch.randn(N, 3)
    ones = torch.ones(edge_index.size(1))
    assert_close(raw(x, edge_index), raw(x, edge_index, ones), **TOL)


def test_pyg_edge_index_input(directed_graph):
    edge_index, edge_weight, N = directed_graph
    conv = ChebConv(3, 4, K=3)
    x = torch.randn(2, N, 3)
    out = conv(x, EdgeIndex(edge_index, sparse_size=(N, N)), edge_weight)
    assert_close(out, conv(x, edge_index, edge_weight), **TOL)


def test_batched_equals_per_slice(directed_graph):
    edge_index, edge_weight, N = directed_graph
    conv = ChebConv(3, 4, K=3)
    x = torch.randn(2, 4, N, 3)
    out = conv(x, edge_index, edge_weight)
    assert out.shape == (2, 4, N, 4)
    for b in range(2):
        for t in range(4):
            assert_close(out[b, t], conv(x[b, t], edge_index, edge_weight), **TOL)


def test_sparse_output_is_nodes_first_in_memory(directed_graph):
    edge_index, edge_weight, N = directed_graph
    conv = ChebConv(3, 4, K=2, normalize=False)
    out = conv(torch.randn(2, N, 3), sparse_laplacian_t(edge_index, edge_weight, N))
    assert out.shape == (2, N, 4)
    assert out.movedim(-2, 0).is_contiguous()  # fed back without a copy


def test_permutation_equivariance(directed_graph):
    edge_index, edge_weight, N = directed_graph
    conv = ChebConv(3, 4, K=3)
    x = torch.randn(2, N, 3)
    perm = torch.randperm(N)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(N)
    out = conv(x, edge_index, edge_weight)
    out_p = conv(x[:, perm], inv[edge_index], edge_weight)
    assert_close(out_p, out[:, perm], **TOL)


def test_gradients_and_save_load(directed_graph, reloaded):
    edge_index, edge_weight, N = directed_graph
    conv = ChebConv(3, 4, K=3, normalize=False)
    adj_t = sparse_laplacian_t(edge_index, edge_weight, N)
    x = torch.randn(2, N, 3, requires_grad=True)
    conv(x, adj_t).pow(2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name, p in conv.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    loaded = reloaded(conv)
    assert_close(loaded(x, adj_t), conv(x, adj_t))


@pytest.mark.parametrize('kind', ['edges', 'csr', 'dense'])
def test_compiles_without_graph_breaks(directed_graph, kind, graph_breaks):
    edge_index, edge_weight, N = directed_graph
    conv = ChebConv(3, 4, K=3, normalize=False)
    adj_t = sparse_laplacian_t(edge_index, edge_weight, N)
    graph = {'edges': ChebConv.scaled_laplacian(edge_index, edge_weight, N),
             'csr': (adj_t, ), 'dense': (adj_t.to_dense(), )}[kind]
    count, why = graph_breaks(conv, torch.randn(2, N, 3), *graph)
    assert count == 0, why


def test_errors(directed_graph):
    edge_index, edge_weight, N = directed_graph
    with pytest.raises(ValueError, match='must be >= 1'):
        ChebConv(3, 4, K=0)
    with pytest.raises(ValueError, match='normalization='):
        ChebConv(3, 4, K=2, normalization='left')
    conv = ChebConv(3, 4, K=2)
    with pytest.raises(ValueError, match='in_channels=5'):
        conv(torch.randn(N, 5), edge_index)
    with pytest.raises(ValueError, match=r'expected shape \[2, E\]'):
        conv(torch.randn(N, 3), edge_index.t())
    with pytest.raises(ValueError, match='one weight per column'):
        conv(torch.randn(N, 3), edge_index, edge_weight[:-1])
    with pytest.raises(ValueError, match='add a feature dimension'):
        conv(torch.randn(N), edge_index)
    adj_t = sparse_laplacian_t(edge_index, edge_weight, N)
    with pytest.raises(ValueError, match='normalize=False'):
        conv(torch.randn(N, 3), adj_t)
    with pytest.raises(ValueError, match="matrix's values"):
        ChebConv(3, 4, K=2, normalize=False)(torch.randn(N, 3), adj_t, edge_weight)
    with pytest.raises(ValueError, match=rf'expected \[{N + 1}, {N + 1}\]'):
        ChebConv(3, 4, K=2, normalize=False)(torch.randn(N + 1, 3), adj_t.to_dense())
    with pytest.raises(ValueError, match='normalize=False'):
        conv(torch.randn(N, 3), adj_t.to_dense())
    raw = ChebConv(3, 4, K=2, normalize=False)
    lap = ChebConv.scaled_laplacian(edge_index, edge_weight, N)
    with pytest.raises(ValueError, match='pass them to ChebConv.scaled_laplacian'):
        raw(torch.randn(N, 3), *lap, lambda_max=2.0)
    with pytest.raises(ValueError, match='pass them to ChebConv.scaled_laplacian'):
        raw(torch.randn(N, 3), *lap, torch.zeros(N, dtype=torch.long))
