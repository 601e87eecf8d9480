import pytest
import torch
from torch import nn
from torch.testing import assert_close
from torch_geometric.nn import GCNConv

from pyg_ext.blocks.gru_cell import GRUCell
from pyg_ext.blocks.lstm_cell import LSTMCell
from pyg_ext.blocks.recurrent import Recurrent
from pyg_ext.blocks.rnn_cell import RNNCell

TOL = dict(atol=1e-5, rtol=1e-5)
TORCH = {'rnn': nn.RNN, 'gru': nn.GRU, 'lstm': nn.LSTM}


class Recorder(nn.Module):
    """A linear gate map that records the input shape and extra arguments of each call."""
    def __init__(self, in_features, out_features):
        super().__init__()
        self.lin = nn.Linear(in_features, out_features)
        self.calls = []

    def reset_parameters(self):
        self.lin.reset_parameters()

    def forward(self, x, *args, **kwargs):
        self.calls.append((tuple(x.shape), args, kwargs))
        return self.lin(x)


def to_torch_state(kind, state):
    """Our list of per-layer states -> torch's h_n (or (h_n, c_n))."""
    if kind == 'lstm':
        return torch.stack([h for h, _ in state]), torch.stack([c for _, c in state])
    return torch.stack(state)


def from_torch_state(kind, h0):
    if kind == 'lstm':
        return [(h, c) for h, c in zip(*h0)]
    return list(h0)


def assert_same(kind, out, state, ref_out, ref_state):
    assert_close(out, ref_out, **TOL)
    if kind == 'lstm':
        assert_close(to_torch_state(kind, state)[0], ref_state[0], **TOL)
        assert_close(to_torch_state(kind, state)[1], ref_state[1], **TOL)
    else:
        assert_close(to_torch_state(kind, state), ref_state, **TOL)


@pytest.mark.parametrize('kind', ['rnn', 'gru', 'lstm'])
def test_recurrent_equals_torch_two_layers(kind, sequence):
    ref = TORCH[kind](5, 8, num_layers=2, batch_first=True, dropout=0.3).eval()
    rec = Recurrent.from_torch(ref).eval()
    assert rec.num_layers == 2 and rec.dropout == 0.3
    out, state = rec(sequence)
    assert out.shape == (3, 11, 8) and len(state) == 2
    assert_same(kind, out, state, *ref(sequence))
    # With a given initial state.
    if kind == 'lstm':
        h0 = (torch.randn(2, 3, 8), torch.randn(2, 3, 8))
    else:
        h0 = torch.randn(2, 3, 8)
    out, state = rec(sequence, from_torch_state(kind, h0))
    assert_same(kind, out, state, *ref(sequence, h0))


def test_recurrent_from_cells_equals_torch_gru(sequence):
    ref = nn.GRU(5, 6, num_layers=2, batch_first=True)
    rec = Recurrent([GRUCell(5, 6), GRUCell(6, 6)])
    with torch.no_grad():
        for i, cell in enumerate(rec.cells):
            cell.input_map.weight.copy_(getattr(ref, f'weight_ih_l{i}'))
            cell.input_map.bias.copy_(getattr(ref, f'bias_ih_l{i}'))
            cell.hidden_map.weight.copy_(getattr(ref, f'weight_hh_l{i}'))
            cell.hidden_map.bias.copy_(getattr(ref, f'bias_hh_l{i}'))
    assert_same('gru', *rec(sequence), *ref(sequence))


@pytest.mark.parametrize('kind', ['gru', 'lstm'])
def test_recurrent_reverse_equals_torch_on_flipped_input(kind, sequence):
    ref = TORCH[kind](5, 8, num_layers=2, batch_first=True)
    fwd = Recurrent.from_torch(ref)
    rev = Recurrent(fwd.cells, reverse=True)
    rev.load_state_dict(Recurrent.from_torch(ref).state_dict())
    out, state = rev(sequence)
    ref_out, ref_state = ref(sequence.flip(1))
    assert_same(kind, out.flip(1), state, ref_out, ref_state)


@pytest.mark.parametrize('kind', ['rnn', 'lstm'])
def test_recurrent_step_equals_forward(kind, sequence):
    rec = Recurrent.from_torch(TORCH[kind](5, 8, num_layers=2, batch_first=True))
    out, state = rec(sequence)
    s = None
    for t in range(sequence.size(1)):
        out_t, s = rec.step(sequence[:, t], s)
        assert_close(out_t, out[:, t], **TOL)
    assert_same(kind, out, s, out, to_torch_state(kind, state))


def test_recurrent_node_dim_equals_folding_nodes_into_batch(spatiotemporal):
    rec = Recurrent([LSTMCell(3, 8, peephole=True), LSTMCell(8, 4)])
    out, state = rec(spatiotemporal)  # [B, T, N, F]
    assert out.shape == (2, 6, 7, 4)
    folded = spatiotemporal.transpose(1, 2).reshape(14, 6, 3)  # [B * N, T, F]
    out_f, state_f = rec(folded)
    assert_close(out.transpose(1, 2).reshape(14, 6, 4), out_f, **TOL)
    for (h, c), (h_f, c_f) in zip(state, state_f):
        assert_close(h.reshape(14, -1), h_f, **TOL)
        assert_close(c.reshape(14, -1), c_f, **TOL)


def test_recurrent_projects_each_layer_once_and_forwards_extra_args(sequence):
    cells = [GRUCell(5, 8, input_map=Recorder(5, 24), hidden_map=Recorder(8, 24)),
             GRUCell(8, 8, input_map=Recorder(8, 24), hidden_map=Recorder(8, 24))]
    rec = Recurrent(cells)
    rec(sequence, None, 'graph', edge_weight=7)
    for cell in rec.cells:
        assert cell.input_map.calls == [((3, 11, cell.input_size), ('graph', ),
                                         {'edge_weight': 7})]
        assert len(cell.hidden_map.calls) == 11
        assert all(c == ((3, 8), ('graph', ), {'edge_weight': 7})
                   for c in cell.hidden_map.calls)
    rec.step(sequence[:, 0], None, 'graph', edge_weight=7)
    assert all(len(c.input_map.calls) == 2 for c in rec.cells)


def test_recurrent_with_gcn_gates_equals_dense_formula(spatiotemporal, directed_graph):
    edge_index, edge_weight, N = directed_graph
    rec = Recurrent([GRUCell(3, 4, input_map=GCNConv(3, 12), hidden_map=GCNConv(4, 12)),
                     RNNCell(4, 5, input_map=GCNConv(4, 5), hidden_map=GCNConv(5, 5))])
    out, state = rec(spatiotemporal, None, edge_index, edge_weight)  # [B, T, N, F]
    A = torch.zeros(N, N)
    A[edge_index[1], edge_index[0]] = edge_weight
    A = A + torch.eye(N)
    d = A.sum(1).pow(-0.5)
    A = d[:, None] * A * d[None, :]

    def conv(m, v):
        return A @ (v @ m.lin.weight.T) + m.bias

    gru, rnn = rec.cells
    h1, h2, outs = torch.zeros(2, N, 4), torch.zeros(2, N, 5), []
    for t in range(spatiotemporal.size(1)):
        gx, gh = conv(gru.input_map, spatiotemporal[:, t]), conv(gru.hidden_map, h1)
        r = torch.sigmoid(gx[..., :4] + gh[..., :4])
        z = torch.sigmoid(gx[..., 4:8] + gh[..., 4:8])
        n = torch.tanh(gx[..., 8:] + r * gh[..., 8:])
        h1 = (1 - z) * n + z * h1
        h2 = torch.tanh(conv(rnn.input_map, h1) + conv(rnn.hidden_map, h2))
        outs.append(h2)
    assert_close(out, torch.stack(outs, dim=1), **TOL)
    assert_close(state[0], h1, **TOL)
    assert_close(state[1], h2, **TOL)


def test_recurrent_dropout_only_between_layers(sequence):
    one = Recurrent(GRUCell(5, 8), dropout=0.5).train()
    assert_close(one(sequence)[0], one.eval()(sequence)[0])
    two = Recurrent([GRUCell(5, 8), GRUCell(8, 8)], dropout=0.5).train()
    assert not torch.allclose(two(sequence)[0], two.eval()(sequence)[0])


def test_recurrent_scan_replaces_unroll_per_layer_with_dropout_between(sequence):
    calls = []

    def scan(cell, x, state, *args, reverse=False, **kwargs):
        # a whole-sequence implementation: here the reference unroll, recorded
        calls.append((x.clone(), state, args, kwargs, reverse))
        return Recurrent.unroll(cell, x, state, *args, reverse=reverse, **kwargs)

    cells = [GRUCell(5, 8), GRUCell(8, 8)]
    rec = Recurrent(cells, dropout=0.5, scan=scan).train()
    plain = Recurrent(cells, dropout=0.5).train()  # the same cells, no scan
    h0 = [torch.randn(3, 8), None]
    torch.manual_seed(3)
    out, state = rec(sequence, h0)
    torch.manual_seed(3)
    ref_out, ref_state = plain(sequence, h0)
    assert_close(out, ref_out, **TOL)
    for s, r in zip(state, ref_state):
        assert_close(s, r, **TOL)
    assert len(calls) == 2
    assert_close(calls[0][0], sequence)
    assert calls[0][1] is h0[0] and calls[1][1] is None
    assert calls[0][2:] == ((), {}, False)
    # the second layer reads the first layer's output after dropout
    first, _ = Recurrent.unroll(cells[0], sequence, h0[0])
    dropped = calls[1][0]
    kept = dropped != 0
    assert 0 < kept.float().mean() < 1
    assert_close(dropped[kept], 2 * first[kept], **TOL)
    assert str(rec) == 'Recurrent([GRUCell(5, 8), GRUCell(8, 8)], dropout=0.5, scan=scan)'


def test_recurrent_errors(sequence):
    with pytest.raises(ValueError, match='build cell 1 with input_size=8'):
        Recurrent([GRUCell(5, 8), GRUCell(6, 8)])
    with pytest.raises(ValueError, match='non-empty list'):
        Recurrent([])
    with pytest.raises(ValueError, match='0 <= dropout <= 1'):
        Recurrent(GRUCell(5, 8), dropout=1.5)
    rec = Recurrent([GRUCell(5, 8), GRUCell(8, 8)])
    with pytest.raises(ValueError, match='one state per layer'):
        rec(sequence, [torch.zeros(3, 8)])
    with pytest.raises(ValueError, match='unsqueeze'):
        rec(sequence[0])
    with pytest.raises(ValueError, match='no time steps'):
        rec(sequence[:, :0])
    with pytest.raises(ValueError, match='Bidirectional.from_torch'):
        Recurrent.from_torch(nn.GRU(5, 8, bidirectional=True))
    with pytest.raises(ValueError, match='torch.nn.RNN, GRU or LSTM'):
        Recurrent.from_torch(nn.GRUCell(5, 8))


def test_recurrent_gradients_save_load_repr(tmp_path, sequence):
    rec = Recurrent([LSTMCell(5, 8, peephole=True), LSTMCell(8, 6)], dropout=0.1)
    out, state = rec(sequence)
    (out.sum() + state[0][1].sum()).backward()
    for name, p in rec.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    rec.eval()
    torch.save(rec, tmp_path / 'rec.pt')
    loaded = torch.load(tmp_path / 'rec.pt', weights_only=False)
    assert_close(loaded(sequence)[0], rec(sequence)[0])
    assert str(rec) == ('Recurrent([LSTMCell(5, 8, peephole=True), LSTMCell(8, 6)], '
                        'dropout=0.1)')
    assert str(Recurrent(GRUCell(5, 8), reverse=True)) == 'Recurrent([GRUCell(5, 8)], reverse=True)'


def test_recurrent_reset_parameters():
    rec = Recurrent([GRUCell(5, 8), GRUCell(8, 8)])
    before = [p.clone() for p in rec.parameters()]
    rec.reset_parameters()
    assert all(not torch.equal(a, b) for a, b in zip(before, rec.parameters()))


def test_recurrent_compiles_without_graph_breaks(graph_breaks):
    rec = Recurrent([GRUCell(5, 8), GRUCell(8, 8)])
    count, why = graph_breaks(rec, torch.randn(3, 2, 5))
    assert count == 0, why
