import json
import math

import numpy as np
import pytest
from matplotlib.image import imread

from pyg_ext.cli import main
from pyg_ext.ogb.curves_plot import draw_results, plot_results
from pyg_ext.ogb.logger import Logger

# Two finished runs and one unfinished, evaluated every 5 epochs.
CURVES = {
    0: [(5, 0.10, 0.05, 0.66), (10, 0.30, 0.20, 0.40), (15, 0.20, 0.35, 0.30)],
    1: [(5, 0.15, 0.10, 0.65), (10, 0.25, 0.15, 0.41), (15, 0.40, 0.30, 0.31)],
    2: [(5, 0.12, 0.08, 0.67)],
}


def _results(metric='hits@20', higher_is_better=True, with_loss=True):
    logger = Logger(metric, higher_is_better)
    for run, rows in CURVES.items():
        for epoch, valid, test, loss in rows:
            extra = {'loss': loss} if with_loss else {}
            logger.add_result(run, epoch, valid, test, **extra)
    logger.finish_run(0)
    logger.finish_run(1)
    runs = [{'run': r, 'seed': 7 + r, **logger.best(r)} for r in (0, 1)]
    return {'config': {'dataset': 'ogbl-ddi', 'model': 'gcn'}, 'summary': logger.summary(),
            'runs': runs, 'logger': logger.state_dict()}


RUN_LABELS = ['_seed 7', '_seed 8', '_run 2 (unfinished)']  # on the test and loss panels


def _lines(ax):
    return [(line.get_xdata(), line.get_ydata(), line.get_label()) for line in ax.lines]


def test_curves_and_selected_epochs_drawn_from_the_results():
    fig = draw_results(_results(), reference=(0.37, 0.05))
    valid, test, loss = fig.axes
    assert fig._suptitle.get_text() == 'ogbl-ddi gcn'
    # one line per run with its valid / test / loss values, labelled by seed
    runs = [line for line in _lines(valid) if line[2] in [label[1:] for label in RUN_LABELS]]
    assert [label for _, _, label in runs] == ['seed 7', 'seed 8', 'run 2 (unfinished)']
    for (x, y, _), rows in zip(runs, CURVES.values()):
        assert list(x) == [r[0] for r in rows] and list(y) == [r[1] for r in rows]
    test_runs = [line for line in _lines(test) if line[2] in RUN_LABELS]
    for (x, y, _), rows in zip(test_runs, CURVES.values()):
        assert list(y) == [r[2] for r in rows]
    assert [list(line[1]) for line in _lines(loss)] == [[r[3] for r in rows]
                                                        for rows in CURVES.values()]
    # dots at the best validation epoch of each finished run (10 for run 0, 15 for run 1);
    # none for the unfinished run
    dots = [(list(x), list(y)) for x, y, label in _lines(valid) if label.startswith('_child')]
    assert dots == [([10], [0.30]), ([15], [0.40])]
    test_dots = [(list(x), list(y)) for x, y, label in _lines(test)
                 if label.startswith('_child')]
    assert test_dots == [([10], [0.20]), ([15], [0.30])]
    # the mean of the selected test scores (0.20, 0.30) with its unbiased std, and the reference
    labels = [label for _, _, label in _lines(test) if not label.startswith('_')]
    mean, std = 0.25, math.sqrt(((0.20 - 0.25) ** 2 + (0.30 - 0.25) ** 2) / 1)
    assert labels == [f'selected: {mean:.4f} ± {std:.4f} (2 runs)',
                      'leaderboard: 0.3700 ± 0.0500']
    hlines = {label: y for _, y, label in _lines(test) if not label.startswith('_')}
    assert np.allclose(hlines[labels[0]], mean) and np.allclose(hlines[labels[1]], 0.37)
    # the bands span the axes' width; their y extent is in data units
    bands = sorted((round(p.get_y(), 6), round(p.get_y() + p.get_height(), 6))
                   for p in test.patches)
    assert bands == sorted([(round(mean - std, 6), round(mean + std, 6)), (0.32, 0.42)])


def test_lower_is_better_selects_the_lowest_and_loss_panel_is_optional():
    fig = draw_results(_results('rmse', higher_is_better=False, with_loss=False))
    assert len(fig.axes) == 2  # no loss recorded: no loss panel
    dots = [(list(x), list(y)) for x, y, label in _lines(fig.axes[0])
            if label.startswith('_child')]
    assert dots == [([5], [0.10]), ([5], [0.15])]
    assert fig.axes[0].get_title() == 'validation rmse (dot: selected epoch)'


def test_plot_results_writes_a_png_and_refuses_empty_results(tmp_path):
    path = plot_results(_results(), tmp_path / 'curves.png')
    image = imread(path)
    assert image.shape == (360, 1500, 4)  # 3 panels of 5 x 3.6 inches at 100 dpi
    empty = _results()
    empty['logger'] = Logger('hits@20').state_dict()
    with pytest.raises(ValueError, match='no evaluated epoch'):
        plot_results(empty, tmp_path / 'empty.png')


def test_ogb_plot_command(tmp_path, capsys):
    path = tmp_path / 'results.json'
    path.write_text(json.dumps(_results()))
    out = tmp_path / 'ddi.png'
    assert main(['ogb-plot', str(path), '--out', str(out), '--reference', '0.37', '0.05']) == 0
    assert f'drawn to {out}' in capsys.readouterr().out
    assert imread(out).shape[1] == 1500


def test_one_finished_run_has_no_std_band():
    results = _results()
    results['logger']['finished'] = [1]
    test = draw_results(results).axes[1]
    assert [line.get_label() for line in test.lines if not line.get_label().startswith('_')] \
        == ['selected: 0.3000 (1 run)']
    assert not test.patches
