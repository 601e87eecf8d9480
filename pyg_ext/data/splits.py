"""Chronological splits and the windows of each split, scaled with training statistics only.

Dimensions: T - time steps, N - nodes, F - features, C - calendar covariates.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from pyg_ext.data.covariates import time_covariates
from pyg_ext.data.spatiotemporal_series import SpatioTemporalSeries
from pyg_ext.data.window_dataset import WindowDataset


def chronological_split(num_steps: int,
                        fractions: Sequence[float] = (0.7, 0.1, 0.2)) -> List[Tuple[int, int]]:
    r"""Cut ``range(num_steps)`` into consecutive ``[start, end)`` blocks of the given
    fractions, in time order (train first). Borders are
    :math:`\mathrm{round}(T \sum_{j \le k} f_j)`; the last block ends at :math:`T`.

    Args:
        num_steps (int): :math:`T`.
        fractions (sequence of float, optional): Positive shares summing to 1, e.g.
            ``(0.8, 0.2)`` for T-GCN's split. (default: :obj:`(0.7, 0.1, 0.2)`)
    """
    if len(fractions) == 0 or any(f <= 0 for f in fractions):
        raise ValueError(f"fractions must be positive shares of the series; got {fractions}")
    if abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"fractions must sum to 1; {tuple(fractions)} sums to "
                         f"{sum(fractions):g}")
    borders, total = [0], 0.0
    for f in fractions[:-1]:
        total += f
        borders.append(int(round(num_steps * total)))
    borders.append(num_steps)
    ranges = list(zip(borders[:-1], borders[1:]))
    if any(hi <= lo for lo, hi in ranges):
        raise ValueError(f"a series of {num_steps} steps is too short to split by {fractions}; "
                         f"every split would need at least one step")
    return ranges


def forecasting_windows(
    series: SpatioTemporalSeries,
    input_steps: int = 12,
    horizon: int = 12,
    fractions: Sequence[float] = (0.7, 0.1, 0.2),
    stride: int = 1,
    scaler: Optional[nn.Module] = None,
    add_time_covariates: bool = False,
    target_features: Optional[Union[int, slice]] = None,
    scale_target: bool = False,
) -> Tuple[List[WindowDataset], Optional[nn.Module]]:
    r"""Split ``series`` in time and build each split's :class:`WindowDataset`.

    **Borders.** The series is cut by :func:`chronological_split` and each split's windows
    lie entirely inside its block, inputs and targets alike. No step is ever shared between
    splits; the price is that the :math:`T_{in} + T_{out} - 1` windows straddling each
    border are dropped. (DCRNN instead splits the list of all windows, so the first
    validation inputs are training targets.)

    **Scaling.** :obj:`scaler` (e.g. :class:`~pyg_ext.data.standard_scaler.StandardScaler`)
    is fitted on the observed values of the training block only, then applied to the whole
    series once; missing inputs become 0 in scaled units. Targets stay in the original
    units unless :obj:`scale_target`; bring predictions back with
    ``scaler.inverse_transform``.

    **Covariates.** With :obj:`add_time_covariates`, the time of day and one-hot day of week
    of :func:`~pyg_ext.data.covariates.time_covariates` are appended to every node's input
    features (``F_in = F + 8``).

    Without scaler and covariates, inputs are views of ``series.series``; otherwise the
    input tensor is built once (one copy of the series) and windows are views of it.

    Args:
        series (SpatioTemporalSeries): The data.
        input_steps (int, optional): :math:`T_{in}`. (default: :obj:`12`)
        horizon (int, optional): :math:`T_{out}`. (default: :obj:`12`)
        fractions (sequence of float, optional): Split shares, train first.
            (default: :obj:`(0.7, 0.1, 0.2)`)
        stride (int, optional): Steps between windows. (default: :obj:`1`)
        scaler (torch.nn.Module, optional): A scaler with ``fit`` / ``transform``; it is
            fitted here. (default: :obj:`None`)
        add_time_covariates (bool, optional): Append calendar features; needs timestamps.
            (default: :obj:`False`)
        target_features (int or slice, optional): Features to forecast.
            (default: :obj:`None`, all)
        scale_target (bool, optional): Scale the targets too. (default: :obj:`False`)

    Returns:
        ``([train, val, test] datasets, fitted scaler or None)``.
    """
    ranges = chronological_split(series.num_steps, fractions)
    for k, (lo, hi) in enumerate(ranges):
        if hi - lo < input_steps + horizon:
            raise ValueError(
                f"split {k} ({fractions[k]:.0%} of {series.num_steps} steps = {hi - lo}) is "
                f"shorter than one window (input_steps + horizon = {input_steps + horizon}); "
                f"shorten the window or give that split a larger fraction")
    if isinstance(target_features, int):
        target_features = slice(target_features, target_features + 1)
    features = slice(None) if target_features is None else target_features
    x, y, mask = series.series, series.series[..., features], series.mask[..., features]
    if scaler is not None:
        lo, hi = ranges[0]
        scaler.fit(series.series[lo:hi], series.mask[lo:hi])
        x = scaler.transform(series.series, series.mask)  # [T, N, F]
        if scale_target:
            y = x[..., features]
    if add_time_covariates:
        if series.timestamps is None:
            raise ValueError(f"{series!r} has no timestamps, so no calendar covariates; "
                             f"pass add_time_covariates=False or build it with timestamps=")
        cov = time_covariates(series.timestamps).to(x.device)  # [T, C]
        cov = cov[:, None, :].expand(-1, series.num_nodes, -1)  # [T, N, C]
        x = torch.cat([x, cov], dim=-1)  # [T, N, F + C]
    datasets = [WindowDataset(x, y, mask, input_steps, horizon, stride, lo, hi)
                for lo, hi in ranges]
    return datasets, scaler
