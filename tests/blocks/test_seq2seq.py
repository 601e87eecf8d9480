import math

import pytest
import torch
from torch import nn
from torch.testing import assert_close
from torch_geometric.nn import GCNConv

from pyg_ext.blocks.gru_cell import GRUCell
from pyg_ext.blocks.lstm_cell import LSTMCell
from pyg_ext.blocks.recurrent import Recurrent
from pyg_ext.blocks.seq2seq import Seq2Seq, inverse_sigmoid_schedule

TOL = dict(atol=1e-5, rtol=1e-5)


class Recorder(nn.Module):
    """A linear gate map that records its inputs and extra arguments."""
    def __init__(self, in_features, out_features):
        super().__init__()
        self.lin = nn.Linear(in_features, out_features)
        self.inputs, self.extra = [], []

    def reset_parameters(self):
        self.lin.reset_parameters()

    def forward(self, x, *args, **kwargs):
        self.inputs.append(x.detach().clone())
        self.extra.append((args, kwargs))
        return self.lin(x)


def recording_model(horizon=4, **kwargs):
    """Encoder GRU(5 -> 8, 2 layers), decoder GRU(2 -> 8, 2 layers) whose first input map
    records the decoder inputs, readout Linear(8 -> 2)."""
    enc = Recurrent([GRUCell(5, 8, input_map=Recorder(5, 24)), GRUCell(8, 8)])
    dec = Recurrent([GRUCell(2, 8, input_map=Recorder(2, 24)), GRUCell(8, 8)])
    return Seq2Seq(enc, dec, nn.Linear(8, 2), horizon, **kwargs)


def test_inverse_sigmoid_schedule():
    assert inverse_sigmoid_schedule(0, 2000) == pytest.approx(2000 / 2001)
    assert inverse_sigmoid_schedule(3000, 2000) == pytest.approx(2000 / (2000 + math.exp(1.5)))
    k = 100.0
    assert inverse_sigmoid_schedule(k * math.log(k), k) == pytest.approx(0.5)
    values = [inverse_sigmoid_schedule(i, 50) for i in range(0, 2000, 100)]
    assert all(a > b for a, b in zip(values, values[1:]))
    assert inverse_sigmoid_schedule(10**9, 2) == 0.0  # no overflow
    with pytest.raises(ValueError, match='k=0 must be positive'):
        inverse_sigmoid_schedule(10, 0)


def test_teacher_forcing_feeds_shifted_targets_and_equals_torch(sequence):
    enc, dec = nn.GRU(5, 8, 2, batch_first=True), nn.GRU(2, 8, 2, batch_first=True)
    model = Seq2Seq(Recurrent.from_torch(enc), Recurrent.from_torch(dec), nn.Linear(8, 2), 4,
                    use_curriculum=False).train()
    model.encoder.load_state_dict(Recurrent.from_torch(enc).state_dict())  # __init__ reset
    model.decoder.load_state_dict(Recurrent.from_torch(dec).state_dict())
    targets = torch.randn(3, 4, 2)
    pred, state = model(sequence, targets=targets)
    assert pred.shape == (3, 4, 2) and len(state) == 2
    _, h = enc(sequence)
    shifted = torch.cat([torch.zeros(3, 1, 2), targets[:, :-1]], dim=1)  # GO, y_0, y_1, y_2
    out, h_dec = dec(shifted, h)
    assert_close(pred, model.readout(out), **TOL)
    assert_close(torch.stack(state), h_dec, **TOL)


@pytest.mark.parametrize('kwargs', [dict(use_curriculum=False),
                                    dict(cl_decay_steps=1e9, batches_seen=0)])
def test_teacher_forcing_decoder_inputs_are_exactly_shifted_targets(kwargs, sequence):
    kwargs = dict(kwargs)
    batches_seen = kwargs.pop('batches_seen', None)
    model = recording_model(**kwargs).train()
    targets = torch.randn(3, 4, 2)
    model(sequence, targets=targets, batches_seen=batches_seen)
    inputs = model.decoder.cells[0].input_map.inputs
    assert len(inputs) == 4
    assert torch.equal(inputs[0], torch.zeros(3, 2))  # the GO symbol
    for t in range(1, 4):
        assert torch.equal(inputs[t], targets[:, t - 1])


def test_free_running_feeds_predictions_and_eval_ignores_targets(sequence):
    model = recording_model(cl_decay_steps=10).train()
    targets = torch.randn(3, 4, 2)
    # eps = 0 at a late step: the decoder reads its own predictions.
    pred, _ = model(sequence, targets=targets, batches_seen=10**6)
    inputs = model.decoder.cells[0].input_map.inputs
    for t in range(1, 4):
        assert torch.equal(inputs[t], pred[:, t - 1].detach())
    # Reference by hand: encode, then step the decoder on its own readout.
    _, s = model.encoder(sequence)
    u, outs = torch.zeros(3, 2), []
    for _ in range(4):
        o, s = model.decoder.step(u, s)
        u = model.readout(o)
        outs.append(u)
    assert_close(pred, torch.stack(outs, 1), **TOL)
    # Evaluation mode never reads the targets (nor needs batches_seen).
    model.eval()
    free, _ = model(sequence)
    assert_close(model(sequence, targets=targets)[0], free)
    assert_close(model(sequence, targets=torch.randn(3, 4, 2))[0], free)
    assert_close(free, pred, **TOL)
    # Training without targets is free running too.
    assert_close(model.train()(sequence)[0], free)


def test_go_replaces_the_first_decoder_input(sequence):
    model = recording_model().eval()
    go = torch.randn(3, 2)
    pred, _ = model(sequence, go=go)
    inputs = model.decoder.cells[0].input_map.inputs
    assert torch.equal(inputs[0], go)  # step 1 reads go, the later steps the predictions
    for t in range(1, 4):
        assert torch.equal(inputs[t], pred[:, t - 1])
    # the same as stepping the decoder by hand from go
    _, s = model.encoder(sequence)
    o, _ = model.decoder.step(go, s)
    assert_close(pred[:, 0], model.readout(o), **TOL)
    with pytest.raises(ValueError, match=r"'go' has shape \[3, 5\]; expected"):
        model(sequence, go=torch.randn(3, 5))


def test_curriculum_flips_one_coin_per_step_for_the_whole_batch(sequence):
    k = 100.0
    model = recording_model(horizon=6, cl_decay_steps=k).train()
    targets = torch.randn(3, 6, 2)
    batches_seen = k * math.log(k)  # eps = 0.5
    assert model.teacher_forcing_probability(batches_seen) == pytest.approx(0.5)
    choices = []
    for _ in range(10):
        rec = model.decoder.cells[0].input_map
        rec.inputs.clear()
        pred, _ = model(sequence, targets=targets, batches_seen=batches_seen)
        for t in range(1, 6):
            if torch.equal(rec.inputs[t], targets[:, t - 1]):
                choices.append(True)
            else:  # never a mix of targets and predictions across the batch
                assert torch.equal(rec.inputs[t], pred[:, t - 1].detach())
                choices.append(False)
    assert any(choices) and not all(choices)


def test_seq2seq_graph_gates_extra_args_shape_and_gradients(spatiotemporal, directed_graph):
    edge_index, edge_weight, _ = directed_graph
    enc = Recurrent([GRUCell(3, 8, input_map=GCNConv(3, 24), hidden_map=GCNConv(8, 24))])
    dec = Recurrent([GRUCell(2, 8, input_map=GCNConv(2, 24), hidden_map=GCNConv(8, 24))])
    model = Seq2Seq(enc, dec, nn.Linear(8, 2), horizon=3).train()
    targets = torch.randn(2, 3, 7, 2)
    pred, state = model(spatiotemporal, edge_index, edge_weight, targets=targets,
                        batches_seen=100)
    assert pred.shape == (2, 3, 7, 2) and state[0].shape == (2, 7, 8)
    pred.pow(2).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_seq2seq_extra_args_reach_encoder_and_decoder(sequence):
    enc = Recurrent([LSTMCell(5, 8, input_map=Recorder(5, 32), hidden_map=Recorder(8, 32))])
    dec = Recurrent([LSTMCell(2, 8, input_map=Recorder(2, 32), hidden_map=Recorder(8, 32))])
    model = Seq2Seq(enc, dec, nn.Linear(8, 2), horizon=3)
    model(sequence, 'graph', edge_weight=7)
    for cell in (enc.cells[0], dec.cells[0]):
        for gate in (cell.input_map, cell.hidden_map):
            assert gate.extra and all(e == (('graph', ), {'edge_weight': 7})
                                      for e in gate.extra)
    assert len(dec.cells[0].input_map.extra) == 3  # one decoder step per horizon step


def test_seq2seq_errors(sequence):
    model = recording_model()
    with pytest.raises(ValueError, match='batches_seen='):
        model.train()(sequence, targets=torch.randn(3, 4, 2))
    with pytest.raises(ValueError, match='expected \\[B, horizon, \\*, F_out\\]'):
        model.train()(sequence, targets=torch.randn(3, 5, 2), batches_seen=0)
    with pytest.raises(ValueError, match='make readout map to 2 features'):
        Seq2Seq(Recurrent(GRUCell(5, 8)), Recurrent(GRUCell(2, 8)), nn.Linear(8, 3), 2)(
            sequence)
    with pytest.raises(ValueError, match='same layers'):
        Seq2Seq(Recurrent(GRUCell(5, 8)), Recurrent(GRUCell(2, 6)), nn.Linear(6, 2), 2)
    with pytest.raises(ValueError, match='horizon=0'):
        Seq2Seq(Recurrent(GRUCell(5, 8)), Recurrent(GRUCell(2, 8)), nn.Linear(8, 2), 0)
    with pytest.raises(ValueError, match='reverse=False'):
        Seq2Seq(Recurrent(GRUCell(5, 8)), Recurrent(GRUCell(2, 8), reverse=True),
                nn.Linear(8, 2), 2)


def test_seq2seq_save_load_repr_reset(tmp_path, sequence):
    model = Seq2Seq(Recurrent(GRUCell(5, 8)), Recurrent(GRUCell(2, 8)), nn.Linear(8, 2), 4)
    model.eval()
    torch.save(model, tmp_path / 'model.pt')
    loaded = torch.load(tmp_path / 'model.pt', weights_only=False)
    assert_close(loaded(sequence)[0], model(sequence)[0])
    assert str(model) == ('Seq2Seq(Recurrent([GRUCell(5, 8)]), Recurrent([GRUCell(2, 8)]), '
                          'Linear(in_features=8, out_features=2, bias=True), horizon=4)')
    before = [p.clone() for p in model.parameters()]
    model.reset_parameters()
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_seq2seq_training_step_compiles_without_graph_breaks(graph_breaks):
    model = Seq2Seq(Recurrent(GRUCell(5, 8)), Recurrent(GRUCell(2, 8)), nn.Linear(8, 2), 3)
    model.train()
    count, why = graph_breaks(model, torch.randn(3, 2, 5), targets=torch.randn(3, 3, 2),
                              batches_seen=10)
    assert count == 0, why
