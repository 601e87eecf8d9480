"""benchmarks/forecast/per_step_errors.py: it must reproduce the command's own evaluation."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from pyg_ext.cli import main

SCRIPT = Path(__file__).resolve().parents[2] / 'benchmarks' / 'forecast' / 'per_step_errors.py'


def _script():
    spec = importlib.util.spec_from_file_location('per_step_errors', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checkpoints_give_the_per_step_errors_of_metrics_json(tmp_path):
    adj = np.zeros((207, 207), dtype=np.float32)
    adj[np.arange(206), np.arange(1, 207)] = 1.
    np.save(tmp_path / 'path.npy', adj)
    out = tmp_path / 'run'
    assert main(['forecast', '--dataset', 'los_loop', '--adjacency', str(tmp_path / 'path.npy'),
                 '--model', 'tgcn', '--hidden', '8', '--input-steps', '4', '--horizon', '3',
                 '--batch-size', '256', '--epochs', '1', '--no-progress', '--no-plots',
                 '--out', str(out)]) == 0
    metrics = json.loads((out / 'metrics.json').read_text())
    script = _script()
    for model in ('tgcn', 'gru_baseline'):
        config, errors = script.per_step(out / f'checkpoint_{model}.pt', None,
                                         tmp_path / 'path.npy', None, 64)
        assert config['model'] == model
        for metric in ('mae', 'rmse'):
            assert errors[metric] == pytest.approx(metrics['test'][model]['per_step'][metric],
                                                   rel=1e-5)
    with pytest.raises(SystemExit, match="trained on the graph 'path.npy'"):
        script.per_step(out / 'checkpoint_tgcn.pt', None, None, None, 64)
