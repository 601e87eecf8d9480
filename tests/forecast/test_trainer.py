import math

import pytest
import torch
from torch import nn

from pyg_ext.data.standard_scaler import StandardScaler
from pyg_ext.data.window_dataset import WindowDataset
from pyg_ext.forecast.checkpoint import load_checkpoint, seed_everything
from pyg_ext.forecast.trainer import Trainer
from pyg_ext.nn.models.gru_baseline import GRUBaseline

EDGES = torch.tensor([[0], [0]])


class Constant(nn.Module):
    r"""Forecasts one learnable value (scaled units) everywhere."""
    supports_teacher_forcing = False

    def __init__(self, horizon: int, value: float = 1.0):
        super().__init__()
        self.horizon, self.value = horizon, value
        self.bias = nn.Parameter(torch.empty(1))
        self.reset_parameters()

    def reset_parameters(self):
        with torch.no_grad():
            self.bias.fill_(self.value)

    def forward(self, x, edge_index, edge_weight=None):
        return self.bias.expand(x.size(0), self.horizon, x.size(2), 1)


class Recorder(Constant):
    supports_teacher_forcing = True

    def forward(self, x, edge_index, edge_weight=None, targets=None, batches_seen=None):
        self.calls = getattr(self, 'calls', []) + [(targets, batches_seen)]
        return super().forward(x, edge_index, edge_weight)


def _scaler(mean=10.0, std=2.0):
    scaler = StandardScaler()
    scaler.mean, scaler.std = torch.full((1, 1, 1), mean), torch.full((1, 1, 1), std)
    return scaler


def _hand_case():
    y = torch.tensor([10., 14., 11., 16., 12., 9.]).view(6, 1, 1)  # [T, N=1, F=1]
    mask = torch.ones_like(y, dtype=torch.bool)
    mask[3] = False  # the 16 is missing
    return WindowDataset((y - 10) / 2, y, mask, input_steps=2, horizon=2)


def test_metrics_and_loss_are_on_the_inverse_scaled_values():
    ds = _hand_case()  # windows' targets: [11, 16*], [16*, 12], [12, 9]
    trainer = Trainer(Constant(2, value=1.0), ds, ds, EDGES, None, _scaler(), epochs=1,
                      batch_size=2, lr=0.0, progress=False)
    # Scaled output 1 -> 1 * 2 + 10 = 12 in original units.
    out = trainer.evaluate(ds).compute()
    assert out['per_step']['mae'].tolist() == pytest.approx([(1 + 0) / 2, (0 + 3) / 2])
    assert out['per_step']['rmse'].tolist() == pytest.approx([math.sqrt(1 / 2),
                                                               math.sqrt(9 / 2)])
    assert out['per_step']['mape'].tolist() == pytest.approx([(1 / 11) / 2, (3 / 9) / 2])
    trainer.module.reset_parameters()
    assert trainer.train_epoch() == pytest.approx((1 + 0 + 0 + 3) / 4)  # lr = 0: raw MAE


def test_mse_loss_trains_on_squared_original_scale_errors():
    ds = _hand_case()
    trainer = Trainer(Constant(2, value=1.0), ds, ds, EDGES, None, _scaler(), epochs=1,
                      batch_size=2, lr=0.0, loss='mse', progress=False)
    # errors of the forecast 12 against 11, 12, 9 (16 missing): 1, 0, 0, 3
    assert trainer.train_epoch() == pytest.approx((1 + 0 + 0 + 9) / 4)
    # d mean(e^2) / d bias = mean(2 e) * 2 (the scaler maps a scaled unit to 2 original ones)
    trainer.module.zero_grad()
    x, y, mask = ds.get_batch(torch.arange(len(ds)))
    trainer.loss_fn(trainer._forward(trainer.module, x), y, mask).backward()
    assert float(trainer.module.bias.grad) == pytest.approx(2 * 2 * (1 + 0 + 0 + 3) / 4)
    with pytest.raises(ValueError, match="unknown loss 'huber'"):
        Trainer(Constant(2), ds, ds, EDGES, None, _scaler(), loss='huber')


def test_mae_mse_loss_weights_the_squared_error():
    ds = _hand_case()
    trainer = Trainer(Constant(2, value=1.0), ds, ds, EDGES, None, _scaler(), epochs=1,
                      batch_size=2, lr=0.0, loss='mae+mse', mse_weight=0.1, progress=False)
    # errors 1, 0, 0, 3 (see above): mean of |e| + 0.1 e^2
    assert trainer.train_epoch() == pytest.approx((1.1 + 0 + 0 + 3.9) / 4)
    with pytest.raises(ValueError, match='mse_weight'):
        Trainer(Constant(2), ds, ds, EDGES, None, _scaler(), loss='mae+mse', mse_weight=-1.0)


def test_teacher_forcing_gets_scaled_targets_and_batches_seen():
    ds = _hand_case()
    model = Recorder(2)
    trainer = Trainer(model, ds, ds, EDGES, None, _scaler(), epochs=2, batch_size=2,
                      progress=False)
    trainer.fit(resume=False)
    train_calls = [c for c in model.calls if c[0] is not None]
    assert [c[1] for c in train_calls] == [0, 1, 2, 3]  # 2 batches per epoch, 2 epochs
    targets = torch.cat([c[0] for c in train_calls[:2]]).flatten().sort().values
    # Scaled targets of the 3 windows; the missing 16 becomes 0 (the mean).
    assert targets.tolist() == pytest.approx(sorted([0.5, 0, 0, 1, 1, -0.5]))
    assert all(c[1] is None for c in model.calls if c[0] is None)  # evaluation: no targets


def test_early_stopping_stops_and_restores_the_best_epoch(tmp_path):
    ds = _hand_case()
    trainer = Trainer(Constant(2), ds, ds, EDGES, None, _scaler(), epochs=20, batch_size=2,
                      lr=0.0, patience=2, progress=False, checkpoint=tmp_path / 'c.pt')
    summary = trainer.fit()
    assert summary['epochs_run'] == 3 and summary['stopped_early']
    assert summary['best_epoch'] == 1 and len(summary['history']['val_mae']) == 3
    state = load_checkpoint(tmp_path / 'c.pt')
    assert {'config', 'epoch', 'model', 'optimizer', 'best_state', 'best_val', 'best_epoch',
            'bad_epochs', 'stopped_early', 'batches_seen', 'history', 'rng'} <= set(state)
    again = Trainer(Constant(2), ds, ds, EDGES, None, _scaler(), epochs=20, batch_size=2,
                    patience=2, progress=False, checkpoint=tmp_path / 'c.pt')
    assert again.fit()['resumed_from'] == 3  # finished: nothing more to train


def _gru_trainer(series, tmp_path, **kwargs):
    torch.manual_seed(123)  # the RNG state differs from that of the first run
    T = series.size(0)
    mask = torch.ones_like(series, dtype=torch.bool)
    train = WindowDataset(series, series, mask, 4, 2, end=int(0.8 * T))
    val = WindowDataset(series, series, mask, 4, 2, start=int(0.8 * T))
    model = GRUBaseline(1, 1, hidden_channels=6, horizon=2, num_layers=2, dropout=0.5)
    return Trainer(model, train, val, EDGES, None, _scaler(0.0, 1.0), batch_size=8,
                   progress=False, checkpoint=tmp_path / 'c.pt', seed=7, **kwargs)


@pytest.mark.parametrize('schedule', [{}, {'lr_milestones': [1, 2], 'lr_decay': 0.5}])
def test_resume_after_interruption_equals_an_uninterrupted_run(tmp_path, monkeypatch,
                                                                schedule):
    series = torch.randn(60, 3, 1).cumsum(0)
    (tmp_path / 'a').mkdir()
    (tmp_path / 'b').mkdir()
    full = _gru_trainer(series, tmp_path / 'a', epochs=3, **schedule)
    ref = full.fit()
    assert ref['history']['lr'] == ([0.01, 0.005, 0.0025] if schedule else [0.01] * 3)

    interrupted = _gru_trainer(series, tmp_path / 'b', epochs=3, **schedule)
    original = Trainer.train_epoch

    def train_epoch(self):
        if self.epoch == 2:
            raise KeyboardInterrupt
        return original(self)
    monkeypatch.setattr(Trainer, 'train_epoch', train_epoch)
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit()
    monkeypatch.setattr(Trainer, 'train_epoch', original)
    assert load_checkpoint(tmp_path / 'b' / 'c.pt')['epoch'] == 2

    resumed = _gru_trainer(series, tmp_path / 'b', epochs=3, **schedule)
    out = resumed.fit()
    assert out['resumed_from'] == 2 and out['epochs_run'] == 3
    assert out['history']['lr'] == ref['history']['lr']
    assert resumed.optimizer.param_groups[0]['lr'] == full.optimizer.param_groups[0]['lr']
    assert out['history']['val_mae'] == ref['history']['val_mae']
    assert out['history']['train_loss'] == ref['history']['train_loss']
    for key, value in full.module.state_dict().items():
        assert torch.equal(value, resumed.module.state_dict()[key]), key


def test_learning_rate_schedule_equals_a_hand_written_loop(tmp_path):
    # The rate each epoch trains with: lr * decay^(milestones passed), as torch's MultiStepLR.
    series = torch.randn(60, 3, 1).cumsum(0)
    trainer = _gru_trainer(series, tmp_path, epochs=4, lr=0.02, lr_milestones=[1, 3],
                           lr_decay=0.5)
    out = trainer.fit()
    assert out['history']['lr'] == [0.02, 0.01, 0.01, 0.005]
    # Reference: fit's steps by hand with the rate set on Adam before each epoch.
    ref = _gru_trainer(series, tmp_path / 'ref', epochs=4, lr=0.02)
    seed_everything(7)
    ref.module.reset_parameters()
    losses = []
    for epoch, lr in enumerate([0.02, 0.01, 0.01, 0.005]):
        for group in ref.optimizer.param_groups:
            group['lr'] = lr
        ref.epoch = epoch
        losses.append(ref.train_epoch())
        ref.evaluate(ref.val)
    assert out['history']['train_loss'] == pytest.approx(losses, rel=1e-6)
    assert losses[1:] != pytest.approx(_gru_trainer(series, tmp_path / 'c', epochs=4, lr=0.02)
                                       .fit()['history']['train_loss'][1:], rel=1e-6)


def test_bad_learning_rate_schedule_is_refused():
    ds = _hand_case()
    for milestones in ([3, 2], [2, 2], [0, 4]):
        with pytest.raises(ValueError, match=r'\(--lr-milestones\) must be increasing'):
            Trainer(Constant(2), ds, ds, EDGES, None, _scaler(), lr_milestones=milestones)
    with pytest.raises(ValueError, match=r'lr_decay \(--lr-decay\) must lie in'):
        Trainer(Constant(2), ds, ds, EDGES, None, _scaler(), lr_decay=0.0)


def test_checkpoint_of_another_run_is_refused(tmp_path):
    ds = _hand_case()
    Trainer(Constant(2), ds, ds, EDGES, None, _scaler(), epochs=1, batch_size=2,
            progress=False, checkpoint=tmp_path / 'c.pt', config={'model': 'a'}).fit()
    other = Trainer(Constant(2), ds, ds, EDGES, None, _scaler(), epochs=1, batch_size=2,
                    progress=False, checkpoint=tmp_path / 'c.pt', config={'model': 'b'})
    with pytest.raises(ValueError, match='--no-resume'):
        other.fit()
    assert other.fit(resume=False)['resumed_from'] == 0
    assert repr(other) == 'Trainer(model, epochs=1, batch_size=2, patience=10)'
    with pytest.raises(ValueError, match='patience >= 1'):
        Trainer(Constant(2), ds, ds, EDGES, None, _scaler(), patience=0)


def test_unused_parameter_probe_for_distributed_training():
    ds = _hand_case()
    model = Recorder(2)  # teacher forcing: the probe passes targets and batches_seen
    trainer = Trainer(model, ds, ds, EDGES, None, _scaler(), progress=False)
    state = torch.get_rng_state()
    assert not trainer._has_unused_parameters()
    assert model.calls[-1][1] == 0 and all(p.grad is None for p in model.parameters())
    assert torch.equal(torch.get_rng_state(), state)  # the probe draws nothing
    model.unused = nn.Linear(2, 2)
    assert trainer._has_unused_parameters()
