r"""The training loss and the evaluation of any forecaster over the windows of a split.

Dimensions: B - batch, T_in - input steps, T_out - horizon, N - nodes, F_in / F_out - input /
target features.
"""
from typing import Callable, Dict, Optional

import torch
from torch import Tensor

from pyg_ext import distributed
from pyg_ext.data.window_dataset import WindowDataset
from pyg_ext.forecast.horizon_metrics import HorizonMetrics

Predict = Callable[[Tensor, Tensor], Tensor]

#: The weight of the squared error in ``'mae+mse'`` (``pyg-ext forecast --mse-weight``).
DEFAULT_MSE_WEIGHT = 0.05


def _masked_error(pred: Tensor, target: Tensor, mask: Tensor):
    valid = mask & torch.isfinite(target)
    err = torch.where(valid, pred - target, torch.zeros((), dtype=pred.dtype,
                                                       device=pred.device))
    return err, valid.sum().clamp(min=1)


def masked_mae_loss(pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    r"""Mean of :math:`|\hat{y} - y|` over observed, finite targets (0 if there are none)."""
    err, count = _masked_error(pred, target, mask)
    return err.abs().sum() / count


def masked_mse_loss(pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    r"""Mean of :math:`(\hat{y} - y)^2` over observed, finite targets (0 if there are none):
    the L2 loss of STGCN (Yu et al., 2018, Eq. 11) and T-GCN (Zhao et al., 2019)."""
    err, count = _masked_error(pred, target, mask)
    return err.square().sum() / count


def masked_mae_mse_loss(pred: Tensor, target: Tensor, mask: Tensor,
                        mse_weight: float = DEFAULT_MSE_WEIGHT) -> Tensor:
    r"""Mean of :math:`|\hat{y} - y| + w\,(\hat{y} - y)^2` over observed, finite targets (0 if
    there are none), :math:`w` = :obj:`mse_weight`: a loss between the MAE and the L2 loss.
    Its gradient per error :math:`e` is :math:`\operatorname{sign}(e) + 2we`, so an error of
    :math:`1 / (2w)` (10 units for :math:`w = 0.05`) weighs twice what it does under the MAE,
    and small errors nearly as they do there."""
    err, count = _masked_error(pred, target, mask)
    return (err.abs() + mse_weight * err.square()).sum() / count


#: The training losses by name (``pyg-ext forecast --loss``).
LOSSES: Dict[str, Callable[[Tensor, Tensor, Tensor], Tensor]] = {
    'mae': masked_mae_loss,
    'mse': masked_mse_loss,
    'mae+mse': masked_mae_mse_loss,
}


def loss_label(loss: str, mse_weight: float = DEFAULT_MSE_WEIGHT) -> str:
    r"""How :obj:`loss` (a key of :obj:`LOSSES`) reads in reports: ``'MAE'``, ``'MSE'`` or,
    for ``'mae+mse'``, ``'MAE + 0.05 x MSE'`` with its weight."""
    if loss == 'mae+mse':
        return f'MAE + {mse_weight:g} x MSE'
    return loss.upper()


@torch.no_grad()
def evaluate_windows(predict: Predict, dataset: WindowDataset, batch_size: int,
                     device: Optional[torch.device] = None) -> HorizonMetrics:
    r"""Masked MAE / RMSE / MAPE per horizon step of ``predict(windows, x)`` (predictions on
    the original scale, ``[B, T_out, N, F_out]``) over every window of :obj:`dataset`. In a
    distributed run each process takes every ``world_size``-th window and the sums are
    all-reduced, so every process returns the metrics of the whole dataset."""
    rank, world = distributed.rank_and_world_size()
    metrics = HorizonMetrics(dataset.horizon, device=device or dataset.y.device)
    for windows in torch.arange(rank, len(dataset), world).split(batch_size):
        x, y, mask = dataset.get_batch(windows)
        metrics.update(predict(windows, x), y, mask)
    distributed.all_reduce_sum_(metrics.sums)
    return metrics
