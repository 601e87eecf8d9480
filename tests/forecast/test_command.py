import json
import re

import numpy as np
import pytest
import torch

from pyg_ext.cli import main
from pyg_ext.data.spatiotemporal_series import SpatioTemporalSeries
from pyg_ext.forecast import command
from pyg_ext.forecast.trainer import Trainer
from pyg_ext.nn.models import TGCN

# The trainer's mechanics on a tiny window; the default model (STGCN) needs 9+ input steps.
TINY = ['--model', 'gru_baseline', '--input-steps', '4', '--horizon', '3', '--hidden', '8',
        '--batch-size', '8', '--no-progress']
TOP_KEYS = {'dataset', 'models', 'num_nodes', 'num_edges', 'graph', 'num_steps', 'step_minutes',
            'input_steps', 'horizon', 'split', 'windows', 'time_features', 'target_feature',
            'loss', 'seed', 'world_size', 'device', 'horizons', 'test', 'training',
            'beats_baselines', 'files'}
TRAINING_KEYS = {'epochs_run', 'best_epoch', 'best_val_mae', 'stopped_early', 'resumed_from',
                 'train_seconds', 'num_parameters', 'history'}


def _run(files, out, *extra):
    series, adj = files
    return main(['forecast', '--series', str(series), '--adjacency', str(adj), '--out',
                 str(out), *TINY, *extra])


def _metrics(out):
    return json.loads((out / 'metrics.json').read_text())


def test_run_writes_documented_metrics_and_plots(tiny_files, tmp_path, capsys):
    out = tmp_path / 'run'
    assert _run(tiny_files, out, '--epochs', '2', '--model', 'tgcn', '--loss', 'auto',
                '--lr-milestones', '1', '--model-args', 'num_layers=2') == 0
    printed = capsys.readouterr().out
    assert 'gru_baseline' in printed and 'historical_average_window' in printed
    metrics = _metrics(out)
    assert TOP_KEYS <= set(metrics) and metrics['horizons'] == [3]
    assert metrics['models'] == ['tgcn']
    assert metrics['windows'] == {'train': 64, 'val': 4, 'test': 14}
    assert metrics['graph'] == 'adj.csv' and metrics['num_edges'] == 10
    assert set(metrics['test']) == {'tgcn', 'gru_baseline', 'historical_average_window'}
    for result in metrics['test'].values():
        assert set(result) == {'horizon_3', 'overall', 'per_step'}
        assert len(result['per_step']['mae']) == 3
        assert result['per_step']['rmse'][2] == result['horizon_3']['rmse']
        assert set(result['horizon_3']) == {'step', 'minutes', 'mae', 'rmse', 'mape'}
        assert result['horizon_3']['mae'] > 0
    assert set(metrics['training']) == {'tgcn', 'gru_baseline'}
    assert TRAINING_KEYS <= set(metrics['training']['tgcn'])
    assert metrics['training']['tgcn']['epochs_run'] == 2
    # --model-args reached tgcn (2 layers), and not the GRU baseline (which would refuse them)
    two_layers = TGCN(1, 1, hidden_channels=8, horizon=3, num_layers=2)
    assert metrics['training']['tgcn']['num_parameters'] == sum(
        p.numel() for p in two_layers.parameters())
    assert metrics['training']['tgcn']['history']['lr'] == pytest.approx([0.01, 0.001])
    # --loss auto: T-GCN's paper trains with an L2 loss, the GRU baseline with the MAE
    assert metrics['loss'] == {'tgcn': 'masked MSE on the original scale',
                               'gru_baseline': 'masked MAE on the original scale'}
    assert re.search(r'tgcn epoch +1/2 +train MSE', printed)
    assert re.search(r'gru_baseline epoch +1/2 +train MAE', printed)
    assert set(metrics['beats_baselines']) == {'tgcn'}
    assert metrics['beats_baselines']['tgcn']['horizon_3'].keys() == {'mae', 'rmse', 'mape'}
    for name in ('learning_curves.png', 'predictions.png', 'horizon_errors.png'):
        assert (out / name).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert metrics['files'] == {'learning_curves': 'learning_curves.png',
                                'predictions': 'predictions.png',
                                'horizon_errors': 'horizon_errors.png'}


def _with_timestamps(steps=400, nodes=3):
    t = torch.arange(steps, dtype=torch.float32)[:, None]
    values = 60 + 5 * torch.sin(2 * torch.pi * t / 288 + torch.arange(nodes))  # [T, N]
    stamps = np.datetime64('2012-03-01T00:00', 's') + np.arange(steps) * np.timedelta64(300, 's')
    edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    return SpatioTemporalSeries(values, edge_index, timestamps=stamps, name='stamped')


def test_timestamps_give_time_of_day_input_and_the_slot_average(tmp_path, monkeypatch):
    monkeypatch.setattr(command, 'load_dataset', lambda *a, **k: _with_timestamps())
    args = ['forecast', '--out', str(tmp_path), '--input-steps', '12', '--horizon', '12',
            '--hidden', '4', '--batch-size', '64', '--epochs', '1', '--no-progress']
    assert main(args) == 0
    metrics = _metrics(tmp_path)
    assert metrics['time_features'] == 'time_of_day' and metrics['step_minutes'] == 5.0
    assert metrics['horizons'] == [3, 6, 12]
    assert metrics['test']['gru_baseline']['horizon_6']['minutes'] == 30.0
    assert {'historical_average', 'historical_average_window'} <= set(metrics['test'])
    state = torch.load(tmp_path / 'checkpoint_gru_baseline.pt', weights_only=False)
    assert state['model']['rnn.cells.0.input_map.weight'].shape == (12, 2)  # speed + time
    assert main(args + ['--model', 'historical_average', '--no-baselines']) == 0
    metrics = _metrics(tmp_path)
    assert metrics['training'] == {} and metrics['beats_baselines'] == {}
    assert set(metrics['test']) == {'historical_average', 'historical_average_window'}


def test_resume_after_interruption_gives_the_same_metrics(tiny_files, tmp_path, monkeypatch):
    assert _run(tiny_files, tmp_path / 'full', '--epochs', '3', '--no-plots') == 0
    assert _metrics(tmp_path / 'full')['files'] == {}
    original = Trainer.train_epoch

    def interrupted(self):
        if self.epoch == 2:
            raise KeyboardInterrupt
        return original(self)
    monkeypatch.setattr(Trainer, 'train_epoch', interrupted)
    with pytest.raises(KeyboardInterrupt):
        _run(tiny_files, tmp_path / 'cut', '--epochs', '3', '--no-plots')
    assert not (tmp_path / 'cut' / 'metrics.json').exists()
    monkeypatch.setattr(Trainer, 'train_epoch', original)
    assert _run(tiny_files, tmp_path / 'cut', '--epochs', '3', '--no-plots') == 0  # resumes
    full, cut = _metrics(tmp_path / 'full'), _metrics(tmp_path / 'cut')
    assert cut['training']['gru_baseline']['resumed_from'] == 2
    assert cut['test'] == full['test']
    assert (cut['training']['gru_baseline']['history']['val_mae']
            == full['training']['gru_baseline']['history']['val_mae'])


def test_mae_mse_loss_is_reported_and_its_weight_guards_resume(tiny_files, tmp_path, capsys):
    args = ('--epochs', '1', '--no-plots', '--no-baselines', '--loss', 'mae+mse')
    assert _run(tiny_files, tmp_path, *args, '--mse-weight', '0.1') == 0
    assert re.search(r'gru_baseline epoch +1/1 +train MAE\+MSE', capsys.readouterr().out)
    metrics = _metrics(tmp_path)
    assert metrics['loss'] == {'gru_baseline': 'masked MAE + 0.1 x MSE on the original scale'}
    # a checkpoint trained with another weight is refused, not silently continued
    assert _run(tiny_files, tmp_path, *args, '--mse-weight', '0.2') == 2
    assert 'mse_weight' in capsys.readouterr().err


def test_named_dataset_on_another_graph_records_it_and_guards_resume(tmp_path, capsys):
    path = np.zeros((207, 207), dtype=np.float32)
    path[np.arange(206), np.arange(1, 207)] = 1.  # 206 edges over Los-loop's 207 sensors
    np.save(tmp_path / 'path.npy', path)
    np.save(tmp_path / 'loops.npy', np.eye(207, dtype=np.float32))
    args = ['forecast', '--dataset', 'los_loop', '--out', str(tmp_path / 'run'), *TINY,
            '--batch-size', '256', '--epochs', '1', '--no-baselines', '--no-plots']
    assert main(args + ['--adjacency', str(tmp_path / 'path.npy')]) == 0
    assert 'E=206' in capsys.readouterr().out
    metrics = _metrics(tmp_path / 'run')
    assert metrics['graph'] == 'path.npy' and metrics['num_edges'] == 206
    assert metrics['dataset'] == 'los-loop' and metrics['num_nodes'] == 207
    # the checkpoint was trained on that graph: another graph, or the dataset's own, is refused
    for other in (['--adjacency', str(tmp_path / 'loops.npy')], []):
        assert main(args + other) == 2
        assert "'graph'" in capsys.readouterr().err


def test_early_stopping_stops(tiny_files, tmp_path):
    assert _run(tiny_files, tmp_path, '--epochs', '6', '--lr', '0', '--patience', '1',
                '--no-plots') == 0
    training = _metrics(tmp_path)['training']['gru_baseline']
    assert training['stopped_early'] and training['epochs_run'] == 2
    assert training['best_epoch'] == 1


@pytest.mark.parametrize('extra, message', [
    (['--horizon', '200'], r'--input-steps \+ --horizon = 204 steps but series has only 100'),
    (['--horizon', '20'], r'split 1 .* is shorter than one window'),
    (['--model', 'nope'], r"unknown model 'nope'"),
    (['--lr-milestones', '3', '2'], r'--lr-milestones\) must be increasing epochs'),
    (['--model', 'stgcn', '--model-args', 'nope=1'], r"STGCN \(stgcn\) takes no argument 'nope'"),
    (['--target-feature', '2'], r'--target-feature 2 is not a feature'),
    (['--loss', 'mae+mse', '--mse-weight', '-1'], r'--mse-weight\) must be >= 0'),
])
def test_bad_input_gives_a_clear_error(tiny_files, tmp_path, capsys, extra, message):
    assert _run(tiny_files, tmp_path, '--epochs', '1', *extra) == 2
    err = capsys.readouterr().err
    assert err.startswith('pyg-ext forecast: error: ')
    assert re.search(message, err), err


def test_node_mismatch_and_missing_files(tiny_files, tmp_path, capsys):
    series, _ = tiny_files
    np.savetxt(tmp_path / 'adj3.csv', np.eye(3), delimiter=',')
    assert main(['forecast', '--series', str(series), '--adjacency',
                 str(tmp_path / 'adj3.csv'), '--out', str(tmp_path)]) == 2
    assert 'has shape [3, 3] but the series has 4 nodes' in capsys.readouterr().err
    assert main(['forecast', '--dataset', 'metr-la', '--root', str(tmp_path)]) == 2
    assert "'metr-la.h5' not found" in capsys.readouterr().err
    assert main(['forecast', '--dataset', 'mars']) == 2
    assert "unknown dataset 'mars'" in capsys.readouterr().err
    assert main(['forecast', '--series', str(series)]) == 2
    assert 'pass --adjacency FILE' in capsys.readouterr().err

