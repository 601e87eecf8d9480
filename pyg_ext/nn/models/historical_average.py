"""The historical average forecasting baseline.

Dimensions: B - batch, T - time steps of the training series, T_in - input steps,
T_out - horizon, N - nodes, F - features, S - time slots.
"""
from typing import Optional

import torch
from torch import Tensor, nn

MODES = ('slot', 'train_mean', 'window')


class HistoricalAverage(nn.Module):
    r"""Historical average (HA), the seasonal baseline of the traffic forecasting literature
    (e.g. DCRNN, Li et al., ICLR 2018; T-GCN, Zhao et al., T-ITS 2019). Every forecast is a
    per-node average of *observed* values (:math:`m` = mask of observed values):

    - ``mode='slot'``: the training mean of the target step's time slot :math:`s`
      (time of day, or time of week, see :func:`~pyg_ext.data.covariates.time_slot`),

      .. math::
          \hat{y}_{t, n} = \frac{\sum_{\tau \in \text{train},\, s(\tau) = s(t)}
          m_{\tau n} x_{\tau n}}{\sum_{\tau \in \text{train},\, s(\tau) = s(t)} m_{\tau n}};

      a slot without observed training values falls back to the node's training mean.
    - ``mode='train_mean'``: the node's mean over the whole training series (no
      timestamps needed).
    - ``mode='window'``: the node's mean over the input window, repeated over the horizon
      (T-GCN's HA); a node with no observed input falls back to its training mean if the
      model was fitted, else ``NaN``.

    Fit on the training split only: ``model.fit(series[train], mask[train], slot[train])``.
    The model has no parameters; its fitted tables are buffers.

    Args:
        horizon (int): :math:`T_{out}`, the number of steps to forecast.
        mode (str, optional): ``'slot'``, ``'train_mean'`` or ``'window'``.
            (default: :obj:`'train_mean'`)
        num_slots (int, optional): :math:`S`, e.g. 288 for 5-minute time-of-day slots or
            2016 for time-of-week slots; needed by ``'slot'``. (default: :obj:`None`)

    Shapes:
        - **fit**: ``series`` :math:`(T, N, F)`, ``mask`` :math:`(T, N, F)` bool, ``slot``
          :math:`(T)` long
        - **input**: ``x`` :math:`(B, T_{in}, N, F)` (only its batch size and device are read
          outside ``'window'`` mode), ``slot`` :math:`(B, T_{out})` long slot of each target
          step, ``x_mask`` :math:`(B, T_{in}, N, F)` bool
        - **output**: :math:`(B, T_{out}, N, F)`
    """

    def __init__(self, horizon: int, mode: str = 'train_mean', num_slots: Optional[int] = None):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; use one of {MODES}")
        if mode == 'slot' and (num_slots is None or num_slots < 1):
            raise ValueError("mode='slot' needs num_slots, e.g. 288 for 5-minute time-of-day "
                             "slots (see pyg_ext.data.covariates.time_slot)")
        if horizon < 1:
            raise ValueError(f"horizon must be at least 1, got {horizon}")
        self.horizon, self.mode, self.num_slots = horizon, mode, num_slots
        self.register_buffer('mean', torch.empty(0))
        self.register_buffer('table', torch.empty(0))
        self.reset_parameters()

    def reset_parameters(self):
        r"""Forget the fitted averages."""
        self.mean = torch.empty(0)
        self.table = torch.empty(0)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for key in ('mean', 'table'):  # take the fitted shape before the copy
            if prefix + key in state_dict:
                setattr(self, key, state_dict[prefix + key].clone())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @torch.no_grad()
    def fit(self, series: Tensor, mask: Optional[Tensor] = None,
            slot: Optional[Tensor] = None) -> 'HistoricalAverage':
        r"""Average the *training* series ``[T, N, F]``; returns ``self``."""
        if series.dim() != 3:
            raise ValueError(f"fit expects the training series [T, N, F]; got shape "
                             f"{list(series.shape)}")
        valid = torch.isfinite(series) if mask is None else mask & torch.isfinite(series)
        w = valid.to(series.dtype)
        xs = torch.where(valid, series, torch.zeros((), dtype=series.dtype,
                                                    device=series.device))
        count = w.sum(0, keepdim=True)  # [1, N, F]
        self.mean = torch.where(count > 0, xs.sum(0, keepdim=True) / count.clamp(min=1),
                                torch.full_like(count, float('nan')))
        if self.mode == 'slot':
            if slot is None or slot.shape != series.shape[:1]:
                raise ValueError(f"mode='slot' needs the slot of every training step, shape "
                                 f"[{series.size(0)}]; build it with "
                                 f"pyg_ext.data.covariates.time_slot(timestamps, ...)")
            size = (self.num_slots, ) + tuple(series.shape[1:])
            total = xs.new_zeros(size).index_add_(0, slot, xs)  # [S, N, F]
            seen = xs.new_zeros(size).index_add_(0, slot, w)  # [S, N, F]
            self.table = torch.where(seen > 0, total / seen.clamp(min=1), self.mean)
        return self

    def forward(self, x: Tensor, slot: Optional[Tensor] = None,
                x_mask: Optional[Tensor] = None) -> Tensor:
        if x.dim() != 4:
            raise ValueError(f"'x' has shape {list(x.shape)}; expected [B, T_in, N, F]")
        if self.mode == 'window':
            valid = torch.isfinite(x) if x_mask is None else x_mask & torch.isfinite(x)
            w = valid.to(x.dtype)
            xs = torch.where(valid, x, torch.zeros((), dtype=x.dtype, device=x.device))
            count = w.sum(1, keepdim=True)  # [B, 1, N, F]
            out = xs.sum(1, keepdim=True) / count.clamp(min=1)  # [B, 1, N, F]
            fallback = (self.mean.unsqueeze(0) if self.mean.numel()
                        else torch.full_like(out, float('nan')))
            out = torch.where(count > 0, out, fallback)
            return out.expand(-1, self.horizon, -1, -1)  # [B, T_out, N, F]
        if self.mean.numel() == 0:
            raise ValueError(f"HistoricalAverage(mode={self.mode!r}) is not fitted; call "
                             f"model.fit(train_series, train_mask, ...) first")
        if self.mode == 'train_mean':
            return self.mean.unsqueeze(0).expand(x.size(0), self.horizon, -1, -1)
        if slot is None or slot.shape != (x.size(0), self.horizon):
            raise ValueError(f"mode='slot' needs 'slot' of shape [B, T_out] = "
                             f"[{x.size(0)}, {self.horizon}], the slot of each target step "
                             f"(e.g. time_slot(timestamps, ...)[dataset.target_index()])")
        return self.table[slot]  # [B, T_out, N, F]

    def __repr__(self) -> str:
        slots = f', num_slots={self.num_slots}' if self.mode == 'slot' else ''
        return f'{self.__class__.__name__}(horizon={self.horizon}, mode={self.mode!r}{slots})'
