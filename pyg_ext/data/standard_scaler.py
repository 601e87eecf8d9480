"""Standardisation fitted on observed training values only.

Dimensions: T - time steps, N - nodes, F - features, B - batch.
"""
from typing import Optional, Sequence

import torch
from torch import Tensor, nn


class StandardScaler(nn.Module):
    r"""Standardise with the mean and standard deviation of the *observed* training values:

    .. math::
        \mu = \frac{\sum_i m_i x_i}{\sum_i m_i}, \quad
        \sigma = \sqrt{\frac{\sum_i m_i (x_i - \mu)^2}{\sum_i m_i}}, \quad
        \tilde{x} = \frac{x - \mu}{\sigma}

    where :math:`m_i` is the mask of observed values and the sums run over the dimensions
    :obj:`dim` of the training series (the population deviation, as DCRNN's scaler). A
    statistic with no observed value gets :math:`\mu = 0`, and :math:`\sigma = 0` or none
    observed gives :math:`\sigma = 1`. Fit it on the training split only (see
    :func:`~pyg_ext.data.splits.forecasting_windows`).

    Args:
        dim (sequence of int, optional): Dimensions of the ``[T, N, F]`` training series to
            pool: ``(0, 1)`` gives one statistic per feature, ``(0,)`` one per node and
            feature. (default: :obj:`(0, 1)`)

    Shapes:
        - **fit**: ``x`` :math:`(T, N, F)`, ``mask`` :math:`(T, N, F)` bool
        - **transform / inverse_transform**: any shape ending in :math:`(N, F)`, e.g.
          :math:`(B, T, N, F)`, to the same shape
    """

    def __init__(self, dim: Sequence[int] = (0, 1)):
        super().__init__()
        self.dim = tuple(dim)
        self.register_buffer('mean', torch.empty(0))
        self.register_buffer('std', torch.empty(0))
        self.reset_parameters()

    def reset_parameters(self):
        r"""Forget the fitted statistics."""
        self.mean = torch.empty(0)
        self.std = torch.empty(0)

    @torch.no_grad()
    def fit(self, x: Tensor, mask: Optional[Tensor] = None) -> 'StandardScaler':
        r"""Fit on the training series ``x`` ``[T, N, F]``; returns ``self``."""
        if x.dim() != 3:
            raise ValueError(f"fit expects the training series [T, N, F]; got shape "
                             f"{list(x.shape)}")
        valid = torch.isfinite(x) if mask is None else mask & torch.isfinite(x)
        w = valid.to(x.dtype)
        xs = torch.where(valid, x, torch.zeros((), dtype=x.dtype, device=x.device))
        count = w.sum(self.dim, keepdim=True)  # [1, N or 1, F]
        mean = xs.sum(self.dim, keepdim=True) / count.clamp(min=1)
        var = (w * (xs - mean) ** 2).sum(self.dim, keepdim=True) / count.clamp(min=1)
        std = var.sqrt()
        self.mean = mean
        self.std = torch.where(std > 0, std, torch.ones_like(std))
        return self

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for key in ('mean', 'std'):  # take the fitted shape before the copy
            if prefix + key in state_dict:
                setattr(self, key, state_dict[prefix + key].clone())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _check_fitted(self):
        if self.mean.numel() == 0:
            raise ValueError('the scaler is not fitted; call scaler.fit(train_series, '
                             'train_mask) first')

    def transform(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        r"""Scale ``x``; entries where ``mask`` is ``False`` become ``0`` (the training mean)."""
        self._check_fitted()
        out = (x - self.mean) / self.std
        if mask is not None:
            out = torch.where(mask, out, torch.zeros((), dtype=out.dtype, device=out.device))
        return out

    def inverse_transform(self, x: Tensor) -> Tensor:
        r"""Map scaled values (e.g. predictions) back to the original units."""
        self._check_fitted()
        return x * self.std + self.mean

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        return self.transform(x, mask)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(dim={self.dim})'
