import pytest
import torch
from torch_geometric.utils import to_torch_coo_tensor, to_torch_csr_tensor

from pyg_ext.nn.conv import diff_conv
from pyg_ext.nn.conv.diff_conv import DiffConv
from pyg_ext.nn.conv.diffusion_supports import DiffusionSupports, diffusion_transitions

pytestmark = pytest.mark.filterwarnings('ignore:Sparse CSR tensor support:UserWarning',
                                        'ignore:Sparse invariant checks:UserWarning')


@pytest.fixture
def graph(directed_graph):
    """``directed_graph`` plus node 7 (in-edge 3 -> 7 only) and an isolated node 8."""
    edge_index, edge_weight, num_nodes = directed_graph
    edge_index = torch.cat([edge_index, torch.tensor([[3], [7]])], dim=1)
    edge_weight = torch.cat([edge_weight, torch.tensor([0.8])])
    return edge_index, edge_weight, num_nodes + 2


def dense_transitions(edge_index, edge_weight, N, normalize=True):
    """The paper's P_f = D_O^{-1} W and P_b = D_I^{-1} W^T, densely."""
    W = torch.zeros(N, N).index_put((edge_index[0], edge_index[1]), edge_weight,
                                    accumulate=True)
    if not normalize:
        return W, W.t()
    d_out, d_in = W.sum(dim=1), W.sum(dim=0)
    inv_out = torch.where(d_out > 0, 1.0 / d_out, torch.zeros_like(d_out))
    inv_in = torch.where(d_in > 0, 1.0 / d_in, torch.zeros_like(d_in))
    return inv_out[:, None] * W, inv_in[:, None] * W.t()


def test_is_reexported_from_diff_conv():
    assert diff_conv.DiffusionSupports is DiffusionSupports
    assert 'DiffusionSupports' in diff_conv.__all__
    # DiffConv.transitions is the function of this file
    assert DiffConv.transitions is diffusion_transitions


def test_fields_and_defaults(graph):
    edge_index, edge_weight, N = graph
    assert DiffusionSupports._fields == ('forward', 'forward_weight', 'backward',
                                         'backward_weight', 'num_nodes', 'normalize',
                                         'forward_t', 'backward_t')
    # Six positional fields, as before the transposes existed: the transposes are None.
    supports = DiffusionSupports(edge_index.flip(0), edge_weight, edge_index, edge_weight,
                                 N, False)
    assert supports.forward_t is None and supports.backward_t is None
    assert len(supports[:4]) == 4 and supports.num_nodes == N


@pytest.mark.parametrize('normalize', [True, False])
def test_csr_supports_hold_four_matrices_and_match_the_formula(graph, normalize):
    edge_index, edge_weight, N = graph
    adj_t = to_torch_csr_tensor(edge_index.flip(0), edge_weight, size=(N, N))
    supports = DiffConv.transitions(adj_t, normalize=normalize)
    ops = (supports.forward, supports.backward, supports.forward_t, supports.backward_t)
    assert all(op.layout == torch.sparse_csr and op.shape == (N, N) for op in ops)
    assert supports.forward_weight is None and supports.backward_weight is None
    assert supports.num_nodes == N and supports.normalize == normalize
    P_f, P_b = dense_transitions(edge_index, edge_weight, N, normalize)
    torch.testing.assert_close(supports.forward.to_dense(), P_f)
    torch.testing.assert_close(supports.backward.to_dense(), P_b)
    torch.testing.assert_close(supports.forward_t.to_dense(), P_f.t())
    torch.testing.assert_close(supports.backward_t.to_dense(), P_b.t())


def test_coo_adjacency_gives_csr_supports(graph):
    edge_index, edge_weight, N = graph
    adj_t = to_torch_coo_tensor(edge_index.flip(0), edge_weight, size=(N, N))
    supports = DiffConv.transitions(adj_t)
    assert supports.forward_t.layout == torch.sparse_csr
    torch.testing.assert_close(supports.forward_t.to_dense(),
                               dense_transitions(edge_index, edge_weight, N)[0].t())


def test_edge_index_supports_have_no_transposes(graph):
    edge_index, edge_weight, N = graph
    supports = DiffConv.transitions(edge_index, edge_weight, N)
    assert supports.forward_t is None and supports.backward_t is None
    assert supports.forward.shape == (2, edge_index.size(1))
    P_f, P_b = dense_transitions(edge_index, edge_weight, N)
    for op, weight, expected in ((supports.forward, supports.forward_weight, P_f),
                                 (supports.backward, supports.backward_weight, P_b)):
        # adj_t convention: entry (target, source) of the operator's rows
        got = torch.zeros(N, N).index_put((op[1], op[0]), weight, accumulate=True)
        torch.testing.assert_close(got, expected)


def test_transposes_carry_gradients_to_edge_weight(graph):
    edge_index, edge_weight, N = graph
    w1 = edge_weight.clone().requires_grad_()
    supports = DiffConv.transitions(to_torch_csr_tensor(edge_index.flip(0), w1, size=(N, N)))
    assert supports.forward_t.requires_grad and supports.backward_t.requires_grad
    (supports.forward_t.values().sum() + 2 * supports.backward_t.values().sum()).backward()
    w2 = edge_weight.clone().requires_grad_()
    P_f, P_b = dense_transitions(edge_index, w2, N)
    (P_f.sum() + 2 * P_b.sum()).backward()
    torch.testing.assert_close(w1.grad, w2.grad)


def test_hand_built_csr_supports_without_transposes(graph):
    # Transposes left out: DiffConv falls back to torch's backward, same numbers.
    edge_index, edge_weight, N = graph
    adj_t = to_torch_csr_tensor(edge_index.flip(0), edge_weight, size=(N, N))
    full = DiffConv.transitions(adj_t)
    bare = full._replace(forward_t=None, backward_t=None)
    conv = DiffConv(3, 4, K=2)
    x = torch.randn(2, N, 3, requires_grad=True)
    out = conv(x, full)
    grad_x, = torch.autograd.grad(out.square().sum(), x)
    out_bare = conv(x, bare)
    grad_bare, = torch.autograd.grad(out_bare.square().sum(), x)
    torch.testing.assert_close(out_bare, out)
    torch.testing.assert_close(grad_bare, grad_x)


def test_save_load_roundtrip(graph, reloaded):
    edge_index, edge_weight, N = graph
    supports = DiffConv.transitions(to_torch_csr_tensor(edge_index.flip(0), edge_weight,
                                                        size=(N, N)))
    loaded = reloaded(supports)
    assert isinstance(loaded, DiffusionSupports) and loaded.num_nodes == N
    for a, b in zip(loaded, supports):
        if isinstance(a, torch.Tensor):
            assert torch.equal(a.to_dense(), b.to_dense())
        else:
            assert a == b
