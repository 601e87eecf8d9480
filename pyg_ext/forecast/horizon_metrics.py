r"""Masked MAE, RMSE and MAPE per horizon step, accumulated over batches.

Dimensions: B - batch, T_out - horizon, N - nodes, F - features.
"""
from typing import Dict, Optional

import torch
from torch import Tensor

#: Rows of :attr:`HorizonMetrics.sums`.
ABS, SQUARE, COUNT, APE, APE_COUNT = range(5)


class HorizonMetrics:
    r"""Pools forecasting errors over any number of batches, per horizon step, with the
    conventions of :mod:`pyg_ext.data.metrics`: an entry counts when its mask is ``True`` and
    its target is finite (:math:`\Omega_h` at step :math:`h`), and MAPE also skips zero
    targets (:math:`\Omega^{\ne 0}_h`), as DCRNN does:

    .. math::
        \mathrm{MAE}_h = \frac{1}{|\Omega_h|} \sum_{i \in \Omega_h} |\hat{y}_i - y_i|, \quad
        \mathrm{RMSE}_h = \sqrt{\frac{1}{|\Omega_h|} \sum_{i \in \Omega_h}
        (\hat{y}_i - y_i)^2}, \quad
        \mathrm{MAPE}_h = \frac{1}{|\Omega^{\ne 0}_h|} \sum_{i \in \Omega^{\ne 0}_h}
        \frac{|\hat{y}_i - y_i|}{|y_i|}

    The metric "at horizon :math:`h`" is the error of the :math:`h`-th forecast step alone
    (DCRNN's convention), and ``overall`` pools all steps. Sums stay on the device (no host
    sync per batch) in :attr:`sums` ``[5, T_out]``, so that a distributed run can
    all-reduce them before :meth:`compute`. Feed predictions and targets on the *original*
    scale (inverse-scaled).

    Args:
        horizon (int): :math:`T_{out}`.
        device (torch.device, optional): Where the sums live. (default: :obj:`None`, CPU)

    Shapes:
        - **update:** ``pred``, ``target``, ``mask`` :math:`(B, T_{out}, N, F)`
    """

    def __init__(self, horizon: int, device: Optional[torch.device] = None):
        self.horizon = horizon
        self.sums = torch.zeros(5, horizon, dtype=torch.float64, device=device)

    @torch.no_grad()
    def update(self, pred: Tensor, target: Tensor, mask: Optional[Tensor] = None) -> None:
        if pred.shape != target.shape or pred.dim() != 4 or pred.size(1) != self.horizon:
            raise ValueError(f"'pred' {list(pred.shape)} and 'target' {list(target.shape)} "
                             f"must both be [B, T_out={self.horizon}, N, F]")
        valid = torch.isfinite(target)
        if mask is not None:
            valid = valid & mask
        zero = torch.zeros((), dtype=pred.dtype, device=pred.device)
        err = torch.where(valid, pred - target, zero)  # [B, T_out, N, F]
        nonzero = valid & (target != 0)
        ape = torch.where(nonzero, err.abs() / torch.where(nonzero, target, 1 + zero).abs(),
                          zero)  # [B, T_out, N, F]
        dims = (0, 2, 3)
        self.sums += torch.stack([err.abs().sum(dims), err.square().sum(dims),
                                  valid.sum(dims), ape.sum(dims),
                                  nonzero.sum(dims)]).to(self.sums.dtype)  # [5, T_out]

    def compute(self) -> Dict[str, Dict[str, Tensor]]:
        r"""``{'per_step': {'mae', 'rmse', 'mape'} [T_out], 'overall': {...} []}`` (MAPE as a
        fraction; ``NaN`` where a step has no valid entry)."""
        s = self.sums
        per_step = {'mae': s[ABS] / s[COUNT], 'rmse': (s[SQUARE] / s[COUNT]).sqrt(),
                    'mape': s[APE] / s[APE_COUNT]}
        total = s.sum(1)  # [5]
        overall = {'mae': total[ABS] / total[COUNT],
                   'rmse': (total[SQUARE] / total[COUNT]).sqrt(),
                   'mape': total[APE] / total[APE_COUNT]}
        return {'per_step': per_step, 'overall': overall}

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(horizon={self.horizon})'
