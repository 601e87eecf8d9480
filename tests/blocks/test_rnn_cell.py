import pytest
import torch
from torch import nn
from torch.testing import assert_close

from pyg_ext.blocks.rnn_cell import RNNCell

TOL = dict(atol=1e-5, rtol=1e-5)


class Recorder(nn.Module):
    """A linear gate map that records the extra arguments it is called with."""
    def __init__(self, in_features, out_features):
        super().__init__()
        self.lin = nn.Linear(in_features, out_features)
        self.calls = []

    def reset_parameters(self):
        self.lin.reset_parameters()

    def forward(self, x, *args, **kwargs):
        self.calls.append((tuple(x.shape), args, kwargs))
        return self.lin(x)


@pytest.mark.parametrize('nonlinearity', ['tanh', 'relu'])
@pytest.mark.parametrize('bias', [True, False])
def test_rnn_cell_equals_torch(nonlinearity, bias):
    ref = nn.RNNCell(5, 8, bias=bias, nonlinearity=nonlinearity)
    cell = RNNCell(5, 8, bias=bias, nonlinearity=nonlinearity)
    with torch.no_grad():
        cell.input_map.weight.copy_(ref.weight_ih)
        cell.hidden_map.weight.copy_(ref.weight_hh)
        if bias:
            cell.input_map.bias.copy_(ref.bias_ih)
            cell.hidden_map.bias.copy_(ref.bias_hh)
    x, h = torch.randn(4, 5), torch.randn(4, 8)
    assert_close(cell(x, h), ref(x, h), **TOL)
    assert_close(cell(x), ref(x), **TOL)  # None = zeros
    assert_close(RNNCell.from_torch(ref)(x, h), ref(x, h), **TOL)


def test_rnn_cell_sequence_projection_and_node_dim(sequence):
    cell = RNNCell(5, 8)
    x_proj = cell.input_projection(sequence)  # one call for the whole sequence
    assert x_proj.shape == (3, 11, 8)
    h = None
    for t in range(sequence.size(1)):
        h_new = cell.step(x_proj[:, t], h)
        assert_close(h_new, cell(sequence[:, t], h), **TOL)
        h = h_new
    # [B, N, F] per node equals folding N into the batch.
    x, h = torch.randn(2, 7, 5), torch.randn(2, 7, 8)
    assert_close(cell(x, h).reshape(14, 8), cell(x.reshape(14, 5), h.reshape(14, 8)), **TOL)


def test_rnn_cell_forwards_extra_args():
    cell = RNNCell(5, 8, input_map=Recorder(5, 8), hidden_map=Recorder(8, 8))
    out = cell(torch.randn(3, 5), None, 'graph', edge_weight=7)
    assert out.shape == (3, 8)
    for gate in (cell.input_map, cell.hidden_map):
        assert gate.calls == [(gate.calls[0][0], ('graph', ), {'edge_weight': 7})]


def test_rnn_cell_errors():
    with pytest.raises(ValueError, match="nonlinearity='tanh'"):
        RNNCell(5, 8, nonlinearity='sigmoid')
    cell = RNNCell(5, 8)
    with pytest.raises(ValueError, match='in_channels=4'):
        cell(torch.randn(3, 4))
    with pytest.raises(ValueError, match="'state' has 7 features"):
        cell(torch.randn(3, 5), torch.randn(3, 7))
    with pytest.raises(ValueError, match='hidden_size -> hidden_size'):
        RNNCell(5, 8, hidden_map=nn.Linear(8, 9))(torch.randn(3, 5))
    with pytest.raises(ValueError, match='GRUCell.from_torch'):
        RNNCell.from_torch(nn.GRUCell(5, 8))


def test_rnn_cell_reset_gradients_save_load_repr(tmp_path, reloaded):
    cell = RNNCell(5, 8)
    before = cell.hidden_map.weight.clone()
    cell.reset_parameters()
    assert not torch.equal(before, cell.hidden_map.weight)
    x, h = torch.randn(3, 5), torch.randn(3, 8)
    cell(x, h).sum().backward()
    for name, p in cell.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    path = tmp_path / 'cell.pt'
    torch.save(cell, path)
    loaded = torch.load(path, weights_only=False)
    assert_close(loaded(x, h), cell(x, h))
    fresh = RNNCell(5, 8)
    fresh.load_state_dict(reloaded(cell.state_dict(), weights_only=True))
    assert_close(fresh(x, h), cell(x, h))
    assert str(cell) == 'RNNCell(5, 8)'
    assert str(RNNCell(5, 8, bias=False, nonlinearity='relu')) == (
        "RNNCell(5, 8, bias=False, nonlinearity='relu')")


def test_rnn_cell_compiles_without_graph_breaks(graph_breaks):
    cell = RNNCell(5, 8)
    count, why = graph_breaks(cell, torch.randn(3, 5), torch.randn(3, 8))
    assert count == 0, why
