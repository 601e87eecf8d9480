import io

import pytest
import torch
from torch.testing import assert_close
from torch_geometric import EdgeIndex
from torch_geometric.nn import ChebConv as PyGChebConv
from torch_geometric.utils import to_torch_csr_tensor

from pyg_ext.nn.conv.cheb_conv import ChebConv

pytestmark = pytest.mark.filterwarnings('ignore:Sparse CSR tensor support:UserWarning',
                                        'ignore:Sparse invariant checks:UserWarning')
TOL = dict(atol=1e-5, rtol=1e-5)


def copy_from_pyg(conv, ref):
    with torch.no_grad():
        for k, lin in enumerate(ref.lins):
            conv.weight[k].copy_(lin.weight.t())
        if ref.bias is not None:
            ref.bias.normal_()
            conv.bias.copy_(ref.bias)


def sparse_laplacian_t(edge_index, edge_weight, num_nodes, normalization='sym'):
    index, weight = ChebConv.scaled_laplacian(edge_index, edge_weight, num_nodes, normalization)
    return to_torch_csr_tensor(index.flip(0), weight, size=(num_nodes, num_nodes))


def test_repr_and_parameters():
    conv = ChebConv(16, 32, K=3)
    assert str(conv) == 'ChebConv(16, 32, K=3, normalization=sym)'
    assert conv.weight.shape == (3, 16, 32)
    assert ChebConv(4, 8, K=1, bias=False).bias is None


@pytest.mark.parametrize('K', [1, 2, 3, 4])
@pytest.mark.parametrize('normalization', ['sym', 'rw'])
def test_equals_pyg_cheb_conv(directed_graph, K, normalization):
    edge_index, edge_weight, N = directed_graph
    ref = PyGChebConv(3, 5, K, normalization=normalization)
    conv = ChebConv(3, 5, K, normalization=normalization)
    copy_from_pyg(conv, ref)
    x = torch.randn(N, 3)
    assert_close(conv(x, edge_index, edge_weight), ref(x, edge_index, edge_weight), **TOL)


def test_equals_pyg_without_normalization(directed_graph):
    edge_index, edge_weight, N = directed_graph
    ref = PyGChebConv(3, 5, 3, normalization=None)
    conv = ChebConv(3, 5, 3, normalization=None)
    copy_from_pyg(conv, ref)
    x = torch.randn(N, 3)
    lam = torch.tensor(7.0)
    assert_close(conv(x, edge_index, edge_weight, lambda_max=lam),
                 ref(x, edge_index, edge_weight, lambda_max=lam), **TOL)


def test_dense_chebyshev_formula(directed_graph):
    # T_k(L^) with L^ = -D^-1/2 A D^-1/2 (sym, lambda_max = 2); PyG's A[i, j] sends i -> j
    # and D counts out-degrees.
    edge_index, edge_weight, N = directed_graph
    conv = ChebConv(3, 4, K=3)
    A = torch.zeros(N, N).index_put_((edge_index[0], edge_index[1]), edge_weight)
    d = A.sum(1)
    inv = torch.where(d > 0, d.pow(-0.5), torch.zeros_like(d))
    L = -(inv[:, None] * A * inv[None, :]).t()  # rows = targets
    x = torch.randn(N, 3)
    T = [x, L @ x, 2 * L @ (L @ x) - x]
    expected = sum(t @ w for t, w in zip(T, conv.weight)) + conv.bias
    assert_close(conv(x, edge_index, edge_weight), expected, **TOL)


@pytest.mark.parametrize('K', [1, 2, 3])
def test_normalize_false_with_precomputed_laplacian(directed_graph, K):
    edge_index, edge_weight, N = directed_graph
    conv = ChebConv(3, 4, K)
    raw = ChebConv(3, 4, K, normalize=False)
    raw.load_state_dict(conv.state_dict())
    x = torch.randn(2, 5, N, 3)
    expected = conv(x, edge_index, edge_weight)
    lap_index, lap_weight = ChebConv.scaled_laplacian(edge_index, edge_weight, N)
    assert_close(raw(x, lap_index, lap_weight), expected, **TOL)
    # A sparse L^T (CSR) takes the sparse-matmul path and gives the same answer.
    adj_t = sparse_laplacian_t(edge_index, edge_weight, N)
    assert_close(raw(x, adj_t), expected, **TOL)
    assert_close(raw(x[0, 0], adj_t), expected[0, 0], **TOL)
    # So does the dense matrix (batched dense matmuls).
    assert_close(raw(x, adj_t.to_dense()), expected, **TOL)
    assert_close(raw(x[0, 0], adj_t.to_dense()), expected[0, 0], **TOL)


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


def test_gradients_and_save_load(directed_graph):
    edge_index, edge_weight, N = directed_graph
    conv = ChebConv(3, 4, K=3, normalize=False)
    adj_t = sparse_laplacian_t(edge_index, edge_weight, N)
    x = torch.randn(2, N, 3, requires_grad=True)
    conv(x, adj_t).pow(2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name, p in conv.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    buf = io.BytesIO()
    torch.save(conv, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=False)
    assert_close(loaded(x, adj_t), conv(x, adj_t))


def test_compiles_without_graph_breaks(directed_graph):
    edge_index, edge_weight, N = directed_graph
    conv = ChebConv(3, 4, K=3, normalize=False)
    lap_index, lap_weight = ChebConv.scaled_laplacian(edge_index, edge_weight, N)
    explain = torch._dynamo.explain(conv)(torch.randn(2, N, 3), lap_index, lap_weight)
    assert explain.graph_break_count == 0


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
