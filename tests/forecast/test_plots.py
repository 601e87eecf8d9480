import numpy as np

from pyg_ext.forecast.plots import plot_learning_curves, plot_predictions

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
