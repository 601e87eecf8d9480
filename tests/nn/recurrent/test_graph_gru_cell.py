import copy

import pytest
import torch
from torch.testing import assert_close
from torch_geometric.nn import GCNConv
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from pyg_ext.blocks.recurrent import Recurrent
from pyg_ext.nn.conv.cheb_conv import ChebConv
from pyg_ext.nn.conv.diff_conv import DiffConv
from pyg_ext.nn.recurrent.graph_gru_cell import GraphGRUCell

pytestmark = pytest.mark.filterwarnings('ignore:Sparse CSR tensor support:UserWarning',
                                        'ignore:Sparse invariant checks:UserWarning')
TOL = dict(atol=1e-5, rtol=1e-5)
F, H = 3, 4

CELLS = {
    'cheb': lambda: GraphGRUCell.gconv_gru(F, H, K=3),
    'diff': lambda: GraphGRUCell.dcgru(F, H, K=2),
    'gcn': lambda: GraphGRUCell.tgcn(F, H),
}


def out_slice(conv, a, b):
    """A copy of ``conv`` restricted to its output channels a:b (weights sliced)."""
    part = copy.deepcopy(conv)
    with torch.no_grad():
        if isinstance(conv, GCNConv):
            part.lin.weight = torch.nn.Parameter(conv.lin.weight[a:b].clone())
        elif isinstance(conv, ChebConv):
            for lin in part.lins:  # Theta_k^T: [F_out, F_in]
                lin.weight = torch.nn.Parameter(lin.weight[a:b].clone())
        else:
            part.weight = torch.nn.Parameter(conv.weight[..., a:b].clone())
        part.bias = torch.nn.Parameter(conv.bias[a:b].clone())
    part.out_channels = b - a
    return part


def randomize_biases(cell):
    with torch.no_grad():
        for name, p in cell.named_parameters():
            if name.endswith('bias'):
                p.normal_()


@pytest.mark.parametrize('kind', list(CELLS))
def test_fused_equals_separate_gate_convs(directed_graph, kind):
    edge_index, edge_weight, N = directed_graph
    cell = CELLS[kind]()
    randomize_biases(cell)
    W_r, W_z, W_n = (out_slice(cell.input_map, i * H, (i + 1) * H) for i in range(3))
    U_r, U_z = (out_slice(cell.hidden_map, i * H, (i + 1) * H) for i in range(2))
    C = cell.candidate_map
    x, h = torch.randn(2, N, F), torch.randn(2, N, H)
    g = (edge_index, edge_weight)
    r = torch.sigmoid(W_r(x, *g) + U_r(h, *g))
    z = torch.sigmoid(W_z(x, *g) + U_z(h, *g))
    n = torch.tanh(W_n(x, *g) + C(r * h, *g))
    assert_close(cell(x, h, *g), z * h + (1 - z) * n, **TOL)


def dense_diffusion(conv, x, edge_index, edge_weight, N):
    """DCRNN's diffusion convolution computed densely (W[i, j] = weight of i -> j)."""
    W = torch.zeros(N, N).index_put_((edge_index[0], edge_index[1]), edge_weight,
                                     accumulate=True)
    d_out, d_in = W.sum(1), W.sum(0)
    P_f = torch.where(d_out > 0, 1 / d_out, torch.zeros_like(d_out))[:, None] * W
    P_b = torch.where(d_in > 0, 1 / d_in, torch.zeros_like(d_in))[:, None] * W.t()
    K, theta = conv.K, conv.weight
    out = x @ theta[0] + conv.bias
    for k in range(1, K + 1):
        out = out + torch.linalg.matrix_power(P_f, k) @ x @ theta[k]
        out = out + torch.linalg.matrix_power(P_b, k) @ x @ theta[K + k]
    return out


def test_dcgru_equals_dcrnn_formula(directed_graph):
    edge_index, edge_weight, N = directed_graph
    cell = GraphGRUCell.dcgru(F, H, K=2)
    randomize_biases(cell)
    x, h = torch.randn(2, N, F), torch.randn(2, N, H)

    def gconv(conv, v):
        return dense_diffusion(conv, v, edge_index, edge_weight, N)

    gx, gh = gconv(cell.input_map, x), gconv(cell.hidden_map, h)
    r = torch.sigmoid(gx[..., :H] + gh[..., :H])
    u = torch.sigmoid(gx[..., H:2 * H] + gh[..., H:])
    c = torch.tanh(gx[..., 2 * H:] + gconv(cell.candidate_map, r * h))
    assert_close(cell(x, h, edge_index, edge_weight), u * h + (1 - u) * c, **TOL)


def test_tgcn_equals_authors_concatenated_form(directed_graph):
    # T-GCN's code: gates = sigmoid(A^ [x, h] W + b), c = tanh(A^ [x, r * h] W_c + b_c).
    edge_index, edge_weight, N = directed_graph
    cell = GraphGRUCell.tgcn(F, H)
    randomize_biases(cell)
    ei, w = gcn_norm(edge_index, edge_weight, N, add_self_loops=True)
    A = torch.zeros(N, N).index_put_((ei[1], ei[0]), w, accumulate=True)  # rows = targets
    W = torch.cat([cell.input_map.lin.weight[:2 * H], cell.hidden_map.lin.weight], dim=1).t()
    b = cell.input_map.bias[:2 * H] + cell.hidden_map.bias
    W_c = torch.cat([cell.input_map.lin.weight[2 * H:], cell.candidate_map.lin.weight], 1).t()
    b_c = cell.input_map.bias[2 * H:] + cell.candidate_map.bias
    x, h = torch.randn(2, N, F), torch.randn(2, N, H)
    gates = torch.sigmoid(A @ torch.cat([x, h], -1) @ W + b)
    r, u = gates[..., :H], gates[..., H:]
    c = torch.tanh(A @ torch.cat([x, r * h], -1) @ W_c + b_c)
    assert_close(cell(x, h, edge_index, edge_weight), u * h + (1 - u) * c, **TOL)


def test_agcrn_equals_authors_cell():
    # AGCRN's code: z_r = sigmoid(gate([x, h])), z resets, r updates, on one weight pool.
    N, D, K = 5, 3, 2
    cell = GraphGRUCell.agcrn(F, H, K=K, embedding_dim=D)
    with torch.no_grad():
        for m in (cell.input_map, cell.hidden_map, cell.candidate_map):
            m.bias_pool.normal_()
    emb, adj = torch.randn(N, D), torch.randn(N, N).softmax(1)
    x, h = torch.randn(2, N, F), torch.randn(2, N, H)

    def avwgcn(pool, bias_pool, v):
        x_g = torch.stack([v, adj @ v], dim=2)  # [B, N, K, C] with supports I, A
        return torch.einsum('bnki,nkio->bno', x_g, torch.einsum('nd,dkio->nkio', emb, pool)) \
            + emb @ bias_pool

    gate_pool = torch.cat([cell.input_map.weight_pool[..., :2 * H],
                           cell.hidden_map.weight_pool], dim=2)
    gate_bias = cell.input_map.bias_pool[:, :2 * H] + cell.hidden_map.bias_pool
    upd_pool = torch.cat([cell.input_map.weight_pool[..., 2 * H:],
                          cell.candidate_map.weight_pool], dim=2)
    upd_bias = cell.input_map.bias_pool[:, 2 * H:] + cell.candidate_map.bias_pool
    z_r = torch.sigmoid(avwgcn(gate_pool, gate_bias, torch.cat([x, h], -1)))
    z, r = z_r[..., :H], z_r[..., H:]
    hc = torch.tanh(avwgcn(upd_pool, upd_bias, torch.cat([x, z * h], -1)))
    assert_close(cell(x, h, adj, emb), r * h + (1 - r) * hc, **TOL)


@pytest.mark.parametrize('kind', list(CELLS))
def test_single_graph_equals_batch_slices(directed_graph, kind):
    edge_index, edge_weight, N = directed_graph
    cell = CELLS[kind]()
    x, h = torch.randn(3, N, F), torch.randn(3, N, H)
    out = cell(x, h, edge_index, edge_weight)
    assert out.shape == (3, N, H)
    for b in range(3):
        assert_close(cell(x[b], h[b], edge_index, edge_weight), out[b], **TOL)
    assert_close(cell(x, None, edge_index, edge_weight),
                 cell(x, torch.zeros(3, N, H), edge_index, edge_weight), **TOL)


@pytest.mark.parametrize('kind', list(CELLS))
def test_permutation_equivariance(directed_graph, kind):
    edge_index, edge_weight, N = directed_graph
    cell = CELLS[kind]()
    x, h = torch.randn(2, N, F), torch.randn(2, N, H)
    perm = torch.randperm(N)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(N)
    out = cell(x, h, edge_index, edge_weight)
    out_p = cell(x[:, perm], h[:, perm], inv[edge_index], edge_weight)
    assert_close(out_p, out[:, perm], **TOL)


def test_normalising_once(directed_graph):
    edge_index, edge_weight, N = directed_graph
    x, h = torch.randn(2, N, F), torch.randn(2, N, H)
    # Chebyshev: normalize=False cells take the scaled Laplacian computed once.
    cell = GraphGRUCell.gconv_gru(F, H, K=3)
    raw = GraphGRUCell.gconv_gru(F, H, K=3, normalize=False)
    raw.load_state_dict(cell.state_dict())
    lap = ChebConv.scaled_laplacian(edge_index, edge_weight, N)
    assert_close(raw(x, h, *lap), cell(x, h, edge_index, edge_weight), **TOL)
    # GCN: normalize=False cells take gcn_norm's graph.
    cell = GraphGRUCell.tgcn(F, H)
    raw = GraphGRUCell.tgcn(F, H, normalize=False)
    raw.load_state_dict(cell.state_dict())
    norm = gcn_norm(edge_index, edge_weight, N, add_self_loops=True)
    assert_close(raw(x, h, *norm), cell(x, h, edge_index, edge_weight), **TOL)
    # Diffusion: cached=True computes the transitions on the first call only.
    cell = GraphGRUCell.dcgru(F, H, K=2)
    cached = GraphGRUCell.dcgru(F, H, K=2, cached=True)
    cached.load_state_dict(cell.state_dict())
    assert_close(cached(x, h, edge_index, edge_weight), cell(x, h, edge_index, edge_weight))
    assert all(isinstance(m, DiffConv) and m._cached is not None
               for m in (cached.input_map, cached.hidden_map, cached.candidate_map))


@pytest.mark.parametrize('kind', list(CELLS))
def test_recurrent_unroll_equals_step_loop(directed_graph, kind):
    edge_index, edge_weight, N = directed_graph
    cell = CELLS[kind]()
    seq = torch.randn(2, 5, N, F)  # [B, T, N, F]
    out, state = Recurrent(cell)(seq, None, edge_index, edge_weight)
    h = None
    for t in range(5):
        h = cell(seq[:, t], h, edge_index, edge_weight)
        assert_close(out[:, t], h, **TOL)
    assert_close(state[0], h, **TOL)


@pytest.mark.parametrize('kind', list(CELLS))
def test_gradients_and_save_load(directed_graph, kind, reloaded):
    edge_index, edge_weight, N = directed_graph
    cell = CELLS[kind]()
    seq = torch.randn(2, 3, N, F)
    out, _ = Recurrent(cell)(seq, None, edge_index, edge_weight)
    out.pow(2).sum().backward()
    for name, p in cell.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    x, h = seq[:, 0], torch.randn(2, N, H)
    assert_close(reloaded(cell)(x, h, edge_index, edge_weight),
                 cell(x, h, edge_index, edge_weight))


def test_repr_and_fused_widths():
    cell = GraphGRUCell.dcgru(2, 64, K=2)
    assert str(cell) == 'GraphGRUCell(2, 64, DiffConv(64, 64, K=2))'
    assert (cell.input_map.out_channels, cell.hidden_map.out_channels,
            cell.candidate_map.out_channels) == (192, 128, 64)
    assert not cell.reset_after
    assert str(GraphGRUCell.gconv_gru(2, 8, K=3)) == \
        'GraphGRUCell(2, 8, ChebConv(8, 8, K=3, normalization=sym))'
    assert str(GraphGRUCell(2, 8, lambda i, o: GCNConv(i, o))) == \
        'GraphGRUCell(2, 8, GCNConv(8, 8))'
    assert str(GraphGRUCell.tgcn(2, 8, gate_bias=1.0)) == \
        'GraphGRUCell(2, 8, GCNConv(8, 8), gate_bias=1.0)'


def test_errors(directed_graph):
    edge_index, edge_weight, N = directed_graph
    with pytest.raises(ValueError, match='must be a callable'):
        GraphGRUCell(F, H, conv=GCNConv(F, H))
    with pytest.raises(ValueError, match='must return a torch.nn.Module'):
        GraphGRUCell(F, H, conv=lambda i, o: torch.zeros(i, o))
    cell = GraphGRUCell.tgcn(F, H)
    with pytest.raises(ValueError, match=f'in_channels={F + 1}'):
        cell(torch.randn(2, N, F + 1), None, edge_index, edge_weight)
    with pytest.raises(ValueError, match='hidden_size'):
        cell(torch.randn(2, N, F), torch.randn(2, N, H + 1), edge_index, edge_weight)


@pytest.mark.parametrize('dense', [True, False])
def test_compiles_without_graph_breaks(directed_graph, dense, graph_breaks):
    # With the graph normalised once outside (normalize=False), one step has no graph break.
    edge_index, edge_weight, N = directed_graph
    cell = GraphGRUCell.gconv_gru(F, H, K=3, normalize=False)
    index, weight = ChebConv.scaled_laplacian(edge_index, edge_weight, N)
    op = torch.zeros(N, N).index_put_((index[1], index[0]), weight, accumulate=True)
    args = (op, ) if dense else (index, weight)
    x, h = torch.randn(2, N, F), torch.randn(2, N, H)
    count, why = graph_breaks(cell, x, h, *args)
    assert count == 0, why
    agcrn = GraphGRUCell.agcrn(F, H, K=2, embedding_dim=2)
    count, why = graph_breaks(agcrn, x, h, torch.rand(N, N), torch.randn(N, 2))
    assert count == 0, why
