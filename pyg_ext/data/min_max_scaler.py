"""Min-max scaling fitted on observed training values only.

Dimensions: T - time steps, N - nodes, F - features, B - batch.
"""
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor, nn


class MinMaxScaler(nn.Module):
    r"""Scale linearly so that the *observed* training values span :obj:`feature_range`:

    .. math::
        \tilde{x} = a + (b - a) \frac{x - x_{\min}}{x_{\max} - x_{\min}}

    with :math:`x_{\min}, x_{\max}` taken over the observed entries of the training series
    along :obj:`dim`. A statistic with no observed value gets :math:`[0, 1]`, and
    :math:`x_{\max} = x_{\min}` a unit range. Values outside the training range (later in
    the series) map outside :math:`[a, b]`; nothing is clipped.

    Args:
        feature_range (tuple of float, optional): :math:`(a, b)`. (default: :obj:`(0., 1.)`)
        dim (sequence of int, optional): Dimensions of the ``[T, N, F]`` training series to
            pool: ``(0, 1)`` per feature, ``(0,)`` per node and feature.
            (default: :obj:`(0, 1)`)

    Shapes:
        - **fit**: ``x`` :math:`(T, N, F)`, ``mask`` :math:`(T, N, F)` bool
        - **transform / inverse_transform**: any shape ending in :math:`(N, F)`, e.g.
          :math:`(B, T, N, F)`, to the same shape
    """

    def __init__(self, feature_range: Tuple[float, float] = (0., 1.),
                 dim: Sequence[int] = (0, 1)):
        super().__init__()
        if not feature_range[0] < feature_range[1]:
            raise ValueError(f"feature_range must be (low, high) with low < high; got "
                             f"{feature_range}")
        self.feature_range = (float(feature_range[0]), float(feature_range[1]))
        self.dim = tuple(dim)
        self.register_buffer('min', torch.empty(0))
        self.register_buffer('max', torch.empty(0))
        self.reset_parameters()

    def reset_parameters(self):
        r"""Forget the fitted statistics."""
        self.min = torch.empty(0)
        self.max = torch.empty(0)

    @torch.no_grad()
    def fit(self, x: Tensor, mask: Optional[Tensor] = None) -> 'MinMaxScaler':
        r"""Fit on the training series ``x`` ``[T, N, F]``; returns ``self``."""
        if x.dim() != 3:
            raise ValueError(f"fit expects the training series [T, N, F]; got shape "
                             f"{list(x.shape)}")
        valid = torch.isfinite(x) if mask is None else mask & torch.isfinite(x)
        inf = torch.tensor(float('inf'), dtype=x.dtype, device=x.device)
        low = torch.where(valid, x, inf).amin(self.dim, keepdim=True)  # [1, N or 1, F]
        high = torch.where(valid, x, -inf).amax(self.dim, keepdim=True)
        seen = valid.sum(self.dim, keepdim=True) > 0
        self.min = torch.where(seen, low, torch.zeros_like(low))
        self.max = torch.where(seen & (high > low), high, self.min + 1)
        return self

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for key in ('min', 'max'):  # take the fitted shape before the copy
            if prefix + key in state_dict:
                setattr(self, key, state_dict[prefix + key].clone())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _check_fitted(self):
        if self.min.numel() == 0:
            raise ValueError('the scaler is not fitted; call scaler.fit(train_series, '
                             'train_mask) first')

    def transform(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        r"""Scale ``x``; entries where ``mask`` is ``False`` become ``a`` (the training
        minimum)."""
        self._check_fitted()
        a, b = self.feature_range
        out = a + (b - a) * (x - self.min) / (self.max - self.min)
        if mask is not None:
            out = torch.where(mask, out, torch.full((), a, dtype=out.dtype, device=out.device))
        return out

    def inverse_transform(self, x: Tensor) -> Tensor:
        r"""Map scaled values (e.g. predictions) back to the original units."""
        self._check_fitted()
        a, b = self.feature_range
        return (x - a) / (b - a) * (self.max - self.min) + self.min

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        return self.transform(x, mask)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(feature_range={self.feature_range}, '
                f'dim={self.dim})')
