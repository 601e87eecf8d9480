r"""PNG figures of a forecasting run, drawn with matplotlib's Agg canvas (no display needed).

Dimensions: L - time points of a plotted stretch, K - plotted sensors.
"""
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from pyg_ext.utils.agg_figure import agg_figure

PathLike = Union[str, Path]


def plot_learning_curves(histories: Dict[str, Dict[str, List[float]]], path: PathLike,
                         unit: str = '', losses: Optional[Dict[str, str]] = None) -> Path:
    r"""Training loss and validation MAE per epoch, one panel per trained model. A masked
    MSE loss is drawn as its square root, in the data's units like the MAE.

    Args:
        histories (dict): ``model name -> {'train_loss': [...], 'val_mae': [...]}``.
        path (str or Path): The PNG to write.
        unit (str, optional): Unit of the data, for the y label. (default: :obj:`''`)
        losses (dict, optional): ``model name -> 'mae', 'mse' or 'mae+mse'``, the loss each model
            trained with. (default: :obj:`None`, all :obj:`'mae'`)
    """
    from matplotlib.ticker import MaxNLocator
    fig, axes = agg_figure(1, max(len(histories), 1), 5.0, 3.5)
    for ax, (name, history) in zip(axes[0], histories.items()):
        epochs = np.arange(1, len(history['train_loss']) + 1)
        loss = (losses or {}).get(name, 'mae')
        if loss == 'mse':
            train, label = np.sqrt(history['train_loss']), 'train loss (masked MSE), its root'
        else:
            train, label = history['train_loss'], f'train loss (masked {loss.upper()})'
        ax.plot(epochs, train, marker='o', label=label)
        ax.plot(epochs, history['val_mae'], marker='s', label='validation MAE')
        if len(history['val_mae']):
            best = int(np.argmin(history['val_mae']))
            ax.axvline(best + 1, color='grey', linestyle=':', label=f'best epoch {best + 1}')
        ax.set_title(name)
        ax.set_xlabel('epoch')
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(f'MAE {unit}'.strip())
        ax.legend()
    path = Path(path)
    fig.savefig(path, dpi=100)
    return path


def plot_horizon_errors(test: Dict[str, Dict[str, Any]], path: PathLike,
                        step_minutes: Optional[float] = None, unit: str = '',
                        baselines: Sequence[str] = ()) -> Path:
    r"""MAE and RMSE of every forecast step, one line per model, in two panels: where a
    model gains or loses against the baselines along the horizon.

    Args:
        test (dict): ``model name -> {'per_step': {'mae': [...], 'rmse': [...]}}``, the
            ``test`` entry of ``metrics.json`` (:func:`~pyg_ext.forecast.report.horizon_results`;
            undefined errors as :obj:`None`).
        path (str or Path): The PNG to write.
        step_minutes (float, optional): Minutes per step, for an x axis in minutes.
            (default: :obj:`None`, steps)
        unit (str, optional): Unit of the data, for the y labels. (default: :obj:`''`)
        baselines (sequence of str, optional): Models drawn dashed. (default: :obj:`()`)
    """
    fig, axes = agg_figure(1, 2, 5.0, 3.5)
    for ax, metric in zip(axes[0], ('mae', 'rmse')):
        for name, result in test.items():
            errors = np.array([np.nan if v is None else v
                               for v in result['per_step'][metric]], dtype=float)
            steps = np.arange(1, len(errors) + 1)
            x = steps if step_minutes is None else steps * step_minutes
            ax.plot(x, errors, marker='o', markersize=3, label=name,
                    linestyle='--' if name in baselines else '-')
        ax.set_xlabel('steps ahead' if step_minutes is None else 'minutes ahead')
        ax.set_ylabel(f'{metric.upper()} {unit}'.strip())
        ax.set_title(f'test {metric.upper()} per forecast step')
    axes[0, 0].legend(fontsize=8)
    path = Path(path)
    fig.savefig(path, dpi=100)
    return path


def plot_predictions(truth: Tuple[np.ndarray, np.ndarray],
                     forecasts: Dict[str, Tuple[np.ndarray, np.ndarray]],
                     sensors: Sequence[str], path: PathLike, ylabel: str = 'value',
                     xlabel: str = 'time') -> Path:
    r"""True against forecast series of a few sensors over a stretch of the test split,
    one panel per sensor.

    Args:
        truth (tuple): ``(times [L], values [L, K])``; missing values as ``NaN``.
        forecasts (dict): ``label -> (times [L'], values [L', K])``, e.g. the forecasts made
            3 and 12 steps ahead, each placed at the time it forecasts.
        sensors (sequence of str): The :math:`K` sensor names.
        path (str or Path): The PNG to write.
        ylabel (str, optional): The y label. (default: :obj:`'value'`)
        xlabel (str, optional): The x label. (default: :obj:`'time'`)
    """
    fig, axes = agg_figure(len(sensors), 1, 11.0, 2.4)
    times, values = truth
    for k, (ax, sensor) in enumerate(zip(axes[:, 0], sensors)):
        ax.plot(times, values[:, k], color='black', linewidth=1.2, label='true')
        for label, (t, v) in forecasts.items():
            ax.plot(t, v[:, k], linewidth=1.0, alpha=0.85, label=label)
        ax.set_title(f'sensor {sensor}', fontsize=9)
        ax.set_ylabel(ylabel)
    axes[-1, 0].set_xlabel(xlabel)
    axes[0, 0].legend(fontsize=8, ncol=len(forecasts) + 1)
    path = Path(path)
    fig.savefig(path, dpi=100)
    return path
