import pytest
import torch
from torch.testing import assert_close
from torch_geometric.nn import GCNConv

from pyg_ext.blocks.recurrent import Recurrent
from pyg_ext.nn.conv.cheb_conv import ChebConv
from pyg_ext.nn.recurrent.graph_lstm_cell import GraphLSTMCell

TOL = dict(atol=1e-5, rtol=1e-5)
F, H = 3, 4


def dense_cheb(conv, x, edge_index, edge_weight, N):
    """Chebyshev filter with L^ = -D^-1/2 A D^-1/2 (sym, lambda_max = 2), dense."""
    A = torch.zeros(N, N).index_put_((edge_index[0], edge_index[1]), edge_weight)
    d = A.sum(1)
    inv = torch.where(d > 0, d.pow(-0.5), torch.zeros_like(d))
    L = -(inv[:, None] * A * inv[None, :]).t()
    T = [x, L @ x]
    for _ in range(2, conv.K):
        T.append(2 * L @ T[-1] - T[-2])
    return sum(t @ lin.weight.t() for t, lin in zip(T, conv.lins)) + conv.bias


def test_gconv_lstm_equals_seo_formula(directed_graph):
    # Seo et al. (2018), model 2: Chebyshev gates with peepholes on c (c' for the output).
    edge_index, edge_weight, N = directed_graph
    cell = GraphLSTMCell.gconv_lstm(F, H, K=3)
    with torch.no_grad():
        cell.input_map.bias.normal_()
        cell.hidden_map.bias.normal_()
    x, h, c = torch.randn(2, N, F), torch.randn(2, N, H), torch.randn(2, N, H)
    gx = dense_cheb(cell.input_map, x, edge_index, edge_weight, N)
    gh = dense_cheb(cell.hidden_map, h, edge_index, edge_weight, N)
    g = gx + gh
    i = torch.sigmoid(g[..., :H] + cell.weight_ci * c)
    f = torch.sigmoid(g[..., H:2 * H] + cell.weight_cf * c)
    c_new = f * c + i * torch.tanh(g[..., 2 * H:3 * H])
    o = torch.sigmoid(g[..., 3 * H:] + cell.weight_co * c_new)
    h_new, c_out = cell(x, (h, c), edge_index, edge_weight)
    assert_close(c_out, c_new, **TOL)
    assert_close(h_new, o * torch.tanh(c_new), **TOL)


def test_without_peepholes_equals_separate_convs(directed_graph):
    edge_index, edge_weight, N = directed_graph
    cell = GraphLSTMCell(F, H, lambda i, o: GCNConv(i, o))
    assert cell.weight_ci is None
    x, h, c = torch.randn(2, N, F), torch.randn(2, N, H), torch.randn(2, N, H)
    gates = []
    for k in range(4):  # separate GCNs per gate with the sliced weights
        wx = cell.input_map.lin.weight[k * H:(k + 1) * H]
        wh = cell.hidden_map.lin.weight[k * H:(k + 1) * H]
        conv_x, conv_h = GCNConv(F, H), GCNConv(H, H)
        with torch.no_grad():
            conv_x.lin.weight.copy_(wx)
            conv_h.lin.weight.copy_(wh)
        gates.append(conv_x(x, edge_index, edge_weight) + conv_h(h, edge_index, edge_weight))
    i, f, g, o = gates
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_new, c_out = cell(x, (h, c), edge_index, edge_weight)
    assert_close(c_out, c_new, **TOL)
    assert_close(h_new, torch.sigmoid(o) * torch.tanh(c_new), **TOL)


def test_batch_slices_permutation_and_normalising_once(directed_graph):
    edge_index, edge_weight, N = directed_graph
    cell = GraphLSTMCell.gconv_lstm(F, H, K=2)
    x = torch.randn(3, N, F)
    h, c = cell(x, None, edge_index, edge_weight)
    assert h.shape == c.shape == (3, N, H)
    for b in range(3):
        hb, cb = cell(x[b], None, edge_index, edge_weight)
        assert_close(hb, h[b], **TOL)
        assert_close(cb, c[b], **TOL)
    perm = torch.randperm(N)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(N)
    hp, _ = cell(x[:, perm], None, inv[edge_index], edge_weight)
    assert_close(hp, h[:, perm], **TOL)
    raw = GraphLSTMCell.gconv_lstm(F, H, K=2, normalize=False)
    raw.load_state_dict(cell.state_dict())
    lap = ChebConv.scaled_laplacian(edge_index, edge_weight, N)
    assert_close(raw(x, None, *lap)[0], h, **TOL)


def test_gradients_and_save_load(directed_graph, reloaded):
    edge_index, edge_weight, N = directed_graph
    cell = GraphLSTMCell.gconv_lstm(F, H, K=2)
    out, _ = Recurrent(cell)(torch.randn(2, 4, N, F), None, edge_index, edge_weight)
    out.pow(2).sum().backward()
    for name, p in cell.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    x = torch.randn(2, N, F)
    assert_close(reloaded(cell)(x, None, edge_index, edge_weight)[0],
                 cell(x, None, edge_index, edge_weight)[0])


def test_repr_and_errors(directed_graph):
    edge_index, edge_weight, N = directed_graph
    cell = GraphLSTMCell.gconv_lstm(2, 8, K=3)
    assert str(cell) == ('GraphLSTMCell(2, 8, ChebConv(8, 32, K=3, normalization=sym), '
                         'peephole=True)')
    assert cell.input_map.out_channels == 32 and cell.hidden_map.out_channels == 32
    with pytest.raises(ValueError, match='must be a callable'):
        GraphLSTMCell(F, H, conv=None)
    with pytest.raises(ValueError, match='in_channels=5'):
        cell(torch.randn(N, 5), None, edge_index, edge_weight)
    with pytest.raises(ValueError, match=r'pair \(h, c\)'):
        cell(torch.randn(N, 2), torch.randn(N, 8), edge_index, edge_weight)


def test_compiles_without_graph_breaks(directed_graph, graph_breaks):
    edge_index, edge_weight, N = directed_graph
    cell = GraphLSTMCell.gconv_lstm(F, H, K=3, normalize=False)
    lap = ChebConv.scaled_laplacian(edge_index, edge_weight, N)
    x = torch.randn(2, N, F)
    count, why = graph_breaks(cell, x, None, *lap)
    assert count == 0, why
