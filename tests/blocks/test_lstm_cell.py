import pytest
import torch
from torch import nn
from torch.testing import assert_close

from pyg_ext.blocks.lstm_cell import LSTMCell

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
        self.calls.append((args, kwargs))
        return self.lin(x)


def torch_order(ref):
    """torch's cell parameters in the order of ours: input map, then hidden map."""
    names = ('weight_ih', 'bias_ih', 'weight_hh', 'bias_hh')
    return [getattr(ref, n) for n in names if getattr(ref, n) is not None]


@pytest.mark.parametrize('bias', [True, False])
def test_lstm_cell_equals_torch(bias):
    ref = nn.LSTMCell(5, 8, bias=bias)
    cell = LSTMCell(5, 8, bias=bias)
    with torch.no_grad():
        cell.input_map.weight.copy_(ref.weight_ih)
        cell.hidden_map.weight.copy_(ref.weight_hh)
        if bias:
            cell.input_map.bias.copy_(ref.bias_ih)
            cell.hidden_map.bias.copy_(ref.bias_hh)
    x, h, c = (torch.randn(4, n, requires_grad=True) for n in (5, 8, 8))
    out, expected = cell(x, (h, c)), ref(x, (h, c))
    for a, b in zip(out, expected):
        assert_close(a, b, **TOL)
    grads = [torch.randn_like(out[0]), torch.randn_like(out[1])]
    ours = torch.autograd.grad(out, [x, h, c, *cell.parameters()], grads)
    theirs = torch.autograd.grad(expected, [x, h, c, *torch_order(ref)], grads)
    for a, b in zip(ours, theirs):  # weight_ih, bias_ih, weight_hh, bias_hh
        assert_close(a, b, **TOL)
    for out, expected in zip(cell(x), ref(x)):
        assert_close(out, expected, **TOL)
    for out, expected in zip(LSTMCell.from_torch(ref)(x, (h, c)), ref(x, (h, c))):
        assert_close(out, expected, **TOL)


def test_peephole_lstm_equals_formula():
    cell = LSTMCell(5, 8, peephole=True)
    x, h, c = torch.randn(4, 5), torch.randn(4, 8), torch.randn(4, 8)
    g = x @ cell.input_map.weight.T + cell.input_map.bias
    g = g + h @ cell.hidden_map.weight.T + cell.hidden_map.bias
    i = torch.sigmoid(g[:, :8] + cell.weight_ci * c)
    f = torch.sigmoid(g[:, 8:16] + cell.weight_cf * c)
    c_new = f * c + i * torch.tanh(g[:, 16:24])
    o = torch.sigmoid(g[:, 24:] + cell.weight_co * c_new)
    h_out, c_out = cell(x, (h, c))
    assert_close(c_out, c_new, **TOL)
    assert_close(h_out, o * torch.tanh(c_new), **TOL)


def test_lstm_cell_sequence_projection_and_node_dim(spatiotemporal):
    cell = LSTMCell(3, 8, peephole=True)
    x_proj = cell.input_projection(spatiotemporal)  # [B, T, N, 4H] in one call
    assert x_proj.shape == (2, 6, 7, 32)
    state = None
    for t in range(6):
        new = cell.step(x_proj[:, t], state)
        for a, b in zip(new, cell(spatiotemporal[:, t], state)):
            assert_close(a, b, **TOL)
        state = new
    x, (h, c) = spatiotemporal[:, 0], state
    folded = cell(x.reshape(14, 3), (h.reshape(14, 8), c.reshape(14, 8)))
    for a, b in zip(cell(x, (h, c)), folded):
        assert_close(a.reshape(14, 8), b, **TOL)


def test_lstm_cell_forwards_extra_args():
    cell = LSTMCell(5, 8, input_map=Recorder(5, 32), hidden_map=Recorder(8, 32))
    h, c = cell(torch.randn(3, 5), None, 'graph', edge_weight=7)
    assert h.shape == c.shape == (3, 8)
    for gate in (cell.input_map, cell.hidden_map):
        assert gate.calls == [(('graph', ), {'edge_weight': 7})]


def test_lstm_cell_errors():
    cell = LSTMCell(5, 8)
    with pytest.raises(ValueError, match='pair \\(h, c\\)'):
        cell(torch.randn(3, 5), torch.randn(3, 8))
    with pytest.raises(ValueError, match="'c' has 7 features"):
        cell(torch.randn(3, 5), (torch.randn(3, 8), torch.randn(3, 7)))
    with pytest.raises(ValueError, match='in_channels=4'):
        cell(torch.randn(3, 4))
    with pytest.raises(ValueError, match='4 \\* hidden_size'):
        LSTMCell(5, 8, hidden_map=nn.Linear(8, 24))(torch.randn(3, 5))
    with pytest.raises(ValueError, match='proj_size=0'):
        LSTMCell.from_torch(nn.LSTM(5, 8, proj_size=4))
    with pytest.raises(ValueError, match='RNNCell.from_torch'):
        LSTMCell.from_torch(nn.RNNCell(5, 8))


@pytest.mark.parametrize('peephole', [False, True])
def test_lstm_cell_gradients_save_load(tmp_path, peephole):
    cell = LSTMCell(5, 8, peephole=peephole)
    assert (cell.weight_ci is None) != peephole
    x, state = torch.randn(3, 5), (torch.randn(3, 8), torch.randn(3, 8))
    h, c = cell(x, state)
    (h.sum() + c.sum()).backward()
    for name, p in cell.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    torch.save(cell, tmp_path / 'cell.pt')
    loaded = torch.load(tmp_path / 'cell.pt', weights_only=False)
    for a, b in zip(loaded(x, state), cell(x, state)):
        assert_close(a, b)


def test_lstm_cell_reset_parameters_and_repr():
    cell = LSTMCell(5, 8, peephole=True)
    before = [p.clone() for p in cell.parameters()]
    cell.reset_parameters()
    assert all(not torch.equal(a, b) for a, b in zip(before, cell.parameters()))
    assert str(LSTMCell(16, 32)) == 'LSTMCell(16, 32)'
    assert str(cell) == 'LSTMCell(5, 8, peephole=True)'


def test_lstm_cell_compiles_without_graph_breaks(graph_breaks):
    cell = LSTMCell(5, 8, peephole=True)
    state = (torch.randn(3, 8), torch.randn(3, 8))
    count, why = graph_breaks(cell, torch.randn(3, 5), state)
    assert count == 0, why
