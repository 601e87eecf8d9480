import pytest
import torch
from torch import nn
from torch.testing import assert_close

from pyg_ext.blocks.bidirectional import Bidirectional
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


def assert_same(kind, out, state, ref_out, ref_state):
    assert_close(out, ref_out, **TOL)
    if kind == 'lstm':
        assert_close(torch.stack([h for h, _ in state]), ref_state[0], **TOL)
        assert_close(torch.stack([c for _, c in state]), ref_state[1], **TOL)
    else:
        assert_close(torch.stack(state), ref_state, **TOL)


@pytest.mark.parametrize('num_layers', [1, 2])
@pytest.mark.parametrize('kind', ['rnn', 'gru', 'lstm'])
def test_bidirectional_equals_torch(kind, num_layers, sequence):
    ref = TORCH[kind](5, 8, num_layers=num_layers, batch_first=True, bidirectional=True,
                      dropout=0.2 if num_layers > 1 else 0.0).eval()
    bi = Bidirectional.from_torch(ref).eval()
    assert bi.num_layers == num_layers
    out, state = bi(sequence)
    assert out.shape == (3, 11, 16) and len(state) == 2 * num_layers
    assert_same(kind, out, state, *ref(sequence))
    # With a given initial state, in torch's h_0 order [fwd_0, bwd_0, fwd_1, ...].
    h0 = torch.randn(2 * num_layers, 3, 8)
    if kind == 'lstm':
        c0 = torch.randn(2 * num_layers, 3, 8)
        out, state = bi(sequence, list(zip(h0, c0)))
        assert_same(kind, out, state, *ref(sequence, (h0, c0)))
    else:
        assert_same(kind, *bi(sequence, list(h0)), *ref(sequence, h0))


def test_bidirectional_layer_is_two_recurrences(sequence):
    bi = Bidirectional(GRUCell(5, 8), LSTMCell(5, 6))
    out, (s_f, s_b) = bi(sequence)
    out_f, ref_f = Recurrent.unroll(bi.forward_cells[0], sequence)
    out_b, ref_b = Recurrent.unroll(bi.backward_cells[0], sequence, reverse=True)
    assert out.shape == (3, 11, 14)
    assert_close(out, torch.cat([out_f, out_b], dim=-1))
    assert_close(s_f, ref_f)
    assert_close(s_b[0], ref_b[0])
    assert_close(s_b[1], ref_b[1])


def test_bidirectional_stack_reads_both_directions(sequence):
    fwd = [RNNCell(5, 4), RNNCell(10, 3)]
    bwd = [RNNCell(5, 6), RNNCell(10, 2)]
    bi = Bidirectional(fwd, bwd)
    out, state = bi(sequence)
    assert out.shape == (3, 11, 5)
    first = torch.cat([Recurrent.unroll(bi.forward_cells[0], sequence)[0],
                       Recurrent.unroll(bi.backward_cells[0], sequence, reverse=True)[0]], -1)
    second = torch.cat([Recurrent.unroll(bi.forward_cells[1], first)[0],
                        Recurrent.unroll(bi.backward_cells[1], first, reverse=True)[0]], -1)
    assert_close(out, second)


def test_bidirectional_node_dim_and_extra_args(spatiotemporal):
    bi = Bidirectional(GRUCell(3, 8, input_map=Recorder(3, 24), hidden_map=Recorder(8, 24)),
                       GRUCell(3, 8, input_map=Recorder(3, 24), hidden_map=Recorder(8, 24)))
    out, state = bi(spatiotemporal, None, 'graph', edge_weight=7)
    assert out.shape == (2, 6, 7, 16)
    for cell in list(bi.forward_cells) + list(bi.backward_cells):
        assert cell.input_map.calls == [((2, 6, 7, 3), ('graph', ), {'edge_weight': 7})]
        assert all(c[1:] == (('graph', ), {'edge_weight': 7}) for c in cell.hidden_map.calls)
    folded = spatiotemporal.transpose(1, 2).reshape(14, 6, 3)  # [B * N, T, F]
    out_f, state_f = bi(folded)
    assert_close(out.transpose(1, 2).reshape(14, 6, 16), out_f, **TOL)
    for s, s_f in zip(state, state_f):
        assert_close(s.reshape(14, 8), s_f, **TOL)


def test_bidirectional_dropout_only_between_layers(sequence):
    one = Bidirectional(GRUCell(5, 8), GRUCell(5, 8), dropout=0.5).train()
    assert_close(one(sequence)[0], one.eval()(sequence)[0])
    two = Bidirectional([GRUCell(5, 8), GRUCell(16, 8)], [GRUCell(5, 8), GRUCell(16, 8)],
                        dropout=0.5).train()
    assert not torch.allclose(two(sequence)[0], two.eval()(sequence)[0])


def test_bidirectional_errors(sequence):
    with pytest.raises(ValueError, match='one of each per layer'):
        Bidirectional([GRUCell(5, 8), GRUCell(16, 8)], GRUCell(5, 8))
    with pytest.raises(ValueError, match='input_size=16'):
        Bidirectional([GRUCell(5, 8), GRUCell(8, 8)], [GRUCell(5, 8), GRUCell(8, 8)])
    bi = Bidirectional(GRUCell(5, 8), GRUCell(5, 8))
    with pytest.raises(ValueError, match='list of 2 states'):
        bi(sequence, [torch.zeros(3, 8)])
    with pytest.raises(ValueError, match='unsqueeze'):
        bi(sequence[0])
    with pytest.raises(ValueError, match='Recurrent.from_torch'):
        Bidirectional.from_torch(nn.GRU(5, 8))


def test_bidirectional_gradients_save_load_repr(tmp_path, sequence):
    bi = Bidirectional.from_torch(nn.LSTM(5, 8, num_layers=2, bidirectional=True))
    out, state = bi(sequence)
    (out.sum() + sum(c.sum() for _, c in state)).backward()
    for name, p in bi.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    torch.save(bi, tmp_path / 'bi.pt')
    loaded = torch.load(tmp_path / 'bi.pt', weights_only=False)
    assert_close(loaded(sequence)[0], bi(sequence)[0])
    assert str(Bidirectional(GRUCell(5, 8), GRUCell(5, 8), dropout=0.1)) == (
        'Bidirectional([GRUCell(5, 8)], [GRUCell(5, 8)], dropout=0.1)')
    before = [p.clone() for p in bi.parameters()]
    bi.reset_parameters()
    assert all(not torch.equal(a, b) for a, b in zip(before, bi.parameters()))
