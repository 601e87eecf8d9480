import json

import pytest
import torch

from pyg_ext.forecast.horizon_metrics import HorizonMetrics
from pyg_ext.forecast.report import (
    beats_baselines,
    format_table,
    horizon_results,
    report_horizons,
    write_metrics,
)


def test_report_horizons():
    assert report_horizons(12) == [3, 6, 12]
    assert report_horizons(4) == [3, 4]
    assert report_horizons(2) == [2]
    assert report_horizons(24) == [3, 6, 12, 24]


def _results(scale):
    metrics = HorizonMetrics(6)
    target = torch.arange(1., 7.).view(1, 6, 1, 1)
    metrics.update(target + scale, target)
    return horizon_results(metrics, [3, 6], step_minutes=5.0)


def test_results_table_and_comparison(tmp_path):
    good, bad = _results(0.5), _results(2.0)
    assert good['horizon_3'] == pytest.approx({'step': 3, 'minutes': 15.0, 'mae': 0.5,
                                               'rmse': 0.5, 'mape': 0.5 / 3})
    assert good['overall']['mae'] == 0.5
    # every step 1..6: errors 0.5 on targets 1..6
    assert good['per_step']['mae'] == pytest.approx([0.5] * 6)
    assert good['per_step']['rmse'] == pytest.approx([0.5] * 6)
    assert good['per_step']['mape'] == pytest.approx([0.5 / k for k in range(1, 7)])
    assert good['per_step']['mae'][2] == good['horizon_3']['mae']
    test = {'model': good, 'baseline': bad}
    assert beats_baselines(test, 'model', [3, 6]) == {
        f'horizon_{h}': {'mae': True, 'rmse': True, 'mape': True} for h in (3, 6)}
    assert not beats_baselines(test, 'baseline', [3])['horizon_3']['mae']
    table = format_table(test, [3, 6], title='T')
    lines = table.splitlines()
    assert lines[0] == 'T'
    assert [c.strip() for c in lines[1].split('|')] == ['model', 'step 3 (15 min)',
                                                        'step 6 (30 min)']
    assert all(line == line.rstrip() for line in lines)
    assert lines[3].startswith('model    | 0.500 / 0.500 / 16.67%')
    path = write_metrics({'x': float('nan'), 'y': [1.0, float('inf')], 'test': test},
                         tmp_path / 'metrics.json')
    data = json.loads(path.read_text())
    assert data['x'] is None and data['y'] == [1.0, None] and data['test'] == test
