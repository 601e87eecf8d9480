import pytest
import torch
from torch.testing import assert_close
from torch_geometric.nn import GCNConv

from pyg_ext.blocks.recurrent import Recurrent
from pyg_ext.nn.conv.cheb_conv import ChebConv
from pyg_ext.nn.recurrent.graph_rnn_cell import GraphRNNCell

TOL = dict(atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('nonlinearity', ['tanh', 'relu'])
def test_equals_formula(directed_graph, nonlinearity):
    edge_index, edge_weight, N = directed_graph
    cell = GraphRNNCell(3, 4, lambda i, o: GCNConv(i, o), nonlinearity=nonlinearity)
    x, h = torch.randn(2, N, 3), torch.randn(2, N, 4)
    pre = cell.input_map(x, edge_index, edge_weight) + cell.hidden_map(h, edge_index,
                                                                       edge_weight)
    act = torch.tanh if nonlinearity == 'tanh' else torch.relu
    assert_close(cell(x, h, edge_index, edge_weight), act(pre), **TOL)


def test_sequence_batch_slices_and_permutation(directed_graph):
    edge_index, edge_weight, N = directed_graph
    cell = GraphRNNCell(3, 4, lambda i, o: ChebConv(i, o, K=2))
    seq = torch.randn(2, 5, N, 3)
    rec = Recurrent(cell)  # (resets the cell)
    out, state = rec(seq, None, edge_index, edge_weight)
    assert out.shape == (2, 5, N, 4)
    single, _ = rec(seq[1:], None, edge_index, edge_weight)
    assert_close(single, out[1:], **TOL)
    perm = torch.randperm(N)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(N)
    out_p, _ = rec(seq[:, :, perm], None, inv[edge_index], edge_weight)
    assert_close(out_p, out[:, :, perm], **TOL)


def test_gradients_save_load_repr_and_errors(directed_graph, reloaded):
    edge_index, edge_weight, N = directed_graph
    cell = GraphRNNCell(3, 4, lambda i, o: ChebConv(i, o, K=2), nonlinearity='relu')
    assert str(cell) == ('GraphRNNCell(3, 4, ChebConv(4, 4, K=2, normalization=sym), '
                         "nonlinearity='relu')")
    x = torch.randn(2, N, 3)
    cell(x, torch.randn(2, N, 4), edge_index, edge_weight).pow(2).sum().backward()
    for name, p in cell.named_parameters():
        assert p.grad is not None, name
    assert_close(reloaded(cell)(x, None, edge_index, edge_weight),
                 cell(x, None, edge_index, edge_weight))
    with pytest.raises(ValueError, match="nonlinearity='tanh'"):
        GraphRNNCell(3, 4, lambda i, o: GCNConv(i, o), nonlinearity='gelu')
    with pytest.raises(ValueError, match='in_channels=2'):
        cell(torch.randn(N, 2), None, edge_index, edge_weight)
