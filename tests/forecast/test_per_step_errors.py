"""benchmarks/forecast/per_step_errors.py: it must reproduce the command's own evaluation."""
import importlib.util
import json
import math
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
        run = script.load_run(out / f'checkpoint_{model}.pt', None, tmp_path / 'path.npy', None)
        assert run.config['model'] == model
        errors = script.per_step(run, 64)
        for metric in ('mae', 'rmse'):
            assert errors[metric] == pytest.approx(metrics['test'][model]['per_step'][metric],
                                                   rel=1e-5)
        # the groups split the first step's errors: they hold every target once, and their
        # MAEs average (weighted by count) to the step's MAE
        groups = script.first_step_by_level(run, [40., 55.], 64)
        assert [(low, high) for low, high, *_ in groups] == [
            (-math.inf, 40.), (40., 55.), (55., math.inf)]
        counts = [n for _, _, n, _, _ in groups]
        assert sum(counts) == metrics['windows']['test'] * 207 and min(counts) > 0
        assert sum(n * mae for _, _, n, _, mae in groups) / sum(counts) == pytest.approx(
            errors['mae'][0], rel=1e-5)
    with pytest.raises(SystemExit, match="trained on the graph 'path.npy'"):
        script.load_run(out / 'checkpoint_tgcn.pt', None, None, None)
