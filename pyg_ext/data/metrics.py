r"""Forecasting metrics that skip missing targets, reported per horizon step and overall.

Every metric takes ``pred`` and ``target`` of the same shape with the horizon at
:obj:`time_dim` (``[B, T_out, N, F]`` by default, ``time_dim=-3``) and returns
``(per_step [T_out], overall [])``. An entry counts when ``mask`` is ``True``, the target is
finite, and the target differs from :obj:`null_value` (DCRNN passes ``null_value=0`` for
METR-LA and PEMS-BAY, where 0 means missing). ``overall`` pools all valid entries (it is
not the mean of the per-step values when steps have different numbers of valid entries).
A step with no valid entry gives ``NaN``. Everything stays on the device (no host sync).

Dimensions: B - batch, T_out - horizon, N - nodes, F - features.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor


def _valid(pred: Tensor, target: Tensor, mask: Optional[Tensor], null_value: Optional[float],
           time_dim: int) -> Tuple[Tensor, Tensor, Tensor]:
    if pred.shape != target.shape:
        raise ValueError(f"'pred' has shape {list(pred.shape)} but 'target' has "
                         f"{list(target.shape)}; they must match")
    valid = torch.isfinite(target)
    if mask is not None:
        try:
            valid = valid & mask.to(torch.bool).expand_as(target)
        except RuntimeError:
            raise ValueError(f"'mask' has shape {list(mask.shape)}, which does not broadcast "
                             f"to the targets' {list(target.shape)}") from None
    if null_value is not None:
        valid = valid & (target != null_value)
    zero = torch.zeros((), dtype=pred.dtype, device=pred.device)
    pred = torch.where(valid, pred, zero).movedim(time_dim, 0).flatten(1)  # [T_out, *]
    target = torch.where(valid, target, zero).movedim(time_dim, 0).flatten(1)  # [T_out, *]
    return pred, target, valid.movedim(time_dim, 0).flatten(1)


def _per_step_and_overall(values: Tensor, valid: Tensor) -> Tuple[Tensor, Tensor]:
    values = torch.where(valid, values, torch.zeros((), dtype=values.dtype,
                                                    device=values.device))
    count = valid.sum(1).to(values.dtype)  # [T_out]
    total = values.sum(1)  # [T_out]
    return total / count, total.sum() / count.sum()


def masked_mae(pred: Tensor, target: Tensor, mask: Optional[Tensor] = None,
               null_value: Optional[float] = None, time_dim: int = -3) -> Tuple[Tensor, Tensor]:
    r"""Mean absolute error :math:`\frac{1}{|\Omega|}\sum_{i \in \Omega} |\hat{y}_i - y_i|`
    over the valid entries :math:`\Omega`: ``(per_step [T_out], overall [])``."""
    pred, target, valid = _valid(pred, target, mask, null_value, time_dim)
    return _per_step_and_overall((pred - target).abs(), valid)


def masked_rmse(pred: Tensor, target: Tensor, mask: Optional[Tensor] = None,
                null_value: Optional[float] = None, time_dim: int = -3) -> Tuple[Tensor, Tensor]:
    r"""Root mean squared error
    :math:`\sqrt{\frac{1}{|\Omega|}\sum_{i \in \Omega} (\hat{y}_i - y_i)^2}`:
    ``(per_step [T_out], overall [])``; ``overall`` is the root of the pooled mean."""
    pred, target, valid = _valid(pred, target, mask, null_value, time_dim)
    per_step, overall = _per_step_and_overall((pred - target) ** 2, valid)
    return per_step.sqrt(), overall.sqrt()


def masked_mape(pred: Tensor, target: Tensor, mask: Optional[Tensor] = None,
                null_value: Optional[float] = None, time_dim: int = -3) -> Tuple[Tensor, Tensor]:
    r"""Mean absolute percentage error as a fraction (multiply by 100 for percent),
    :math:`\frac{1}{|\Omega|}\sum_{i \in \Omega} |\hat{y}_i - y_i| / |y_i|`, where
    :math:`\Omega` also excludes zero targets, as DCRNN does: ``(per_step [T_out],
    overall [])``."""
    pred, target, valid = _valid(pred, target, mask, null_value, time_dim)
    valid = valid & (target != 0)
    one = torch.ones((), dtype=target.dtype, device=target.device)
    ratio = (pred - target).abs() / torch.where(valid, target.abs(), one)
    return _per_step_and_overall(ratio, valid)


def accuracy(pred: Tensor, target: Tensor, mask: Optional[Tensor] = None,
             null_value: Optional[float] = None, time_dim: int = -3) -> Tuple[Tensor, Tensor]:
    r"""T-GCN's accuracy (Zhao et al., T-ITS 2019) over the valid entries:

    .. math::
        1 - \frac{\lVert Y - \hat{Y} \rVert_F}{\lVert Y \rVert_F}

    Returns ``(per_step [T_out], overall [])``; ``overall`` uses the norms of all steps."""
    pred, target, valid = _valid(pred, target, mask, null_value, time_dim)
    err = ((pred - target) ** 2).sum(1)  # [T_out]
    ref = (target ** 2).sum(1)  # [T_out]
    return 1 - (err / ref).sqrt(), 1 - (err.sum() / ref.sum()).sqrt()
