import numpy as np

from pyg_ext.forecast import plots
from pyg_ext.forecast.plots import plot_horizon_errors, plot_learning_curves, plot_predictions
from pyg_ext.utils.agg_figure import agg_figure

PNG = b'\x89PNG\r\n\x1a\n'


def test_learning_curves_png(tmp_path):
    path = plot_learning_curves({'a': {'train_loss': [3., 2.], 'val_mae': [3.5, 2.5]},
                                 'b': {'train_loss': [4.], 'val_mae': [4.5]}},
                                tmp_path / 'curves.png', unit='mph')
    assert path.read_bytes()[:8] == PNG
    path = plot_learning_curves({'a': {'train_loss': [9., 4.], 'val_mae': [3.5, 2.5]}},
                                tmp_path / 'mse.png', losses={'a': 'mse'})
    assert path.read_bytes()[:8] == PNG
    path = plot_learning_curves({'a': {'train_loss': [5., 4.], 'val_mae': [3.5, 2.5]}},
                                tmp_path / 'mix.png', losses={'a': 'mae+mse'})
    assert path.read_bytes()[:8] == PNG


def test_predictions_png_with_datetimes_and_missing_values(tmp_path):
    times = np.datetime64('2012-03-01T00:00') + np.arange(20) * np.timedelta64(5, 'm')
    truth = np.random.rand(20, 2)
    truth[3, 1] = np.nan
    path = plot_predictions((times, truth), {'3 steps ahead': (times[2:], truth[2:] + 0.1)},
                            ['s0', 's1'], tmp_path / 'pred.png', ylabel='mph')
    assert path.read_bytes()[:8] == PNG


def test_horizon_errors_draws_every_step_of_every_model(tmp_path, monkeypatch):
    figures = []

    def keep(*args):
        fig, axes = agg_figure(*args)
        figures.append(fig)
        return fig, axes
    monkeypatch.setattr(plots, 'agg_figure', keep)
    test = {'dcrnn': {'per_step': {'mae': [1., 2., 3.], 'rmse': [1.5, 2.5, None]}},
            'gru_baseline': {'per_step': {'mae': [1.2, 2.1, 3.5], 'rmse': [2., 3., 4.]}}}
    path = plot_horizon_errors(test, tmp_path / 'h.png', step_minutes=5.0, unit='mph',
                               baselines=['gru_baseline'])
    assert path.read_bytes()[:8] == PNG
    mae, rmse = figures[0].axes
    assert mae.get_xlabel() == 'minutes ahead' and rmse.get_ylabel() == 'RMSE mph'
    lines = {line.get_label(): line for line in mae.lines}
    assert lines['dcrnn'].get_xdata().tolist() == [5., 10., 15.]
    assert lines['dcrnn'].get_ydata().tolist() == [1., 2., 3.]
    assert lines['dcrnn'].get_linestyle() == '-' and lines['gru_baseline'].get_linestyle() == '--'
    dcrnn_rmse = [line for line in rmse.lines if line.get_label() == 'dcrnn'][0].get_ydata()
    assert dcrnn_rmse[:2].tolist() == [1.5, 2.5] and np.isnan(dcrnn_rmse[2])  # undefined: a gap
    plot_horizon_errors(test, tmp_path / 's.png')
    assert figures[1].axes[0].get_xlabel() == 'steps ahead'
    assert figures[1].axes[0].lines[0].get_xdata().tolist() == [1, 2, 3]
