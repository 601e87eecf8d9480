"""Calendar covariates from timestamps: time of day and day of week.

Timestamps are integer seconds since 1970-01-01 (``SpatioTemporalSeries.timestamps``), read
as local clock time, since the traffic datasets publish local times without a zone.

Dimensions: T - time steps, C - covariates.
"""
import torch
from torch import Tensor

SECONDS_PER_DAY = 86400


def _days_and_seconds(timestamps: Tensor):
    timestamps = torch.as_tensor(timestamps)
    if timestamps.is_floating_point():
        raise ValueError("timestamps must be integer seconds since 1970-01-01; got floats")
    timestamps = timestamps.long()
    days = torch.div(timestamps, SECONDS_PER_DAY, rounding_mode='floor')  # [T]
    return days, timestamps - days * SECONDS_PER_DAY


def time_of_day(timestamps: Tensor) -> Tensor:
    r"""Fraction of the day elapsed, in :math:`[0, 1)` (DCRNN's ``time_in_day``): ``[T]``."""
    _, seconds = _days_and_seconds(timestamps)
    return seconds.to(torch.float32) / SECONDS_PER_DAY


def day_of_week(timestamps: Tensor) -> Tensor:
    r"""Day of the week, Monday = 0 ... Sunday = 6 (1970-01-01 was a Thursday): ``[T]`` long."""
    days, _ = _days_and_seconds(timestamps)
    return torch.remainder(days + 3, 7)


def time_slot(timestamps: Tensor, steps_per_day: int, weekly: bool = False) -> Tensor:
    r"""Index of each step's slot in the day, :math:`\lfloor \text{tod} \cdot S \rfloor` with
    :math:`S` = :obj:`steps_per_day` (e.g. 288 for 5-minute data), plus
    :math:`S \cdot \text{dow}` when :obj:`weekly` (slots of the week, :math:`7S` in all):
    ``[T]`` long."""
    if steps_per_day < 1 or SECONDS_PER_DAY % steps_per_day:
        raise ValueError(f"steps_per_day must divide the 86400 seconds of a day (288 for "
                         f"5-minute steps, 96 for 15-minute steps); got {steps_per_day}")
    days, seconds = _days_and_seconds(timestamps)
    slot = torch.div(seconds, SECONDS_PER_DAY // steps_per_day, rounding_mode='floor')
    if weekly:
        slot = slot + steps_per_day * torch.remainder(days + 3, 7)
    return slot


def time_covariates(timestamps: Tensor, time_of_day_feature: bool = True,
                    day_of_week_feature: bool = True) -> Tensor:
    r"""Calendar features of each step, as in DCRNN's data preparation: the time of day in
    :math:`[0, 1)` and a one-hot day of week (Monday first).

    Args:
        timestamps (torch.Tensor): ``[T]`` integer seconds since 1970-01-01.
        time_of_day_feature (bool, optional): Include the time of day (1 column).
            (default: :obj:`True`)
        day_of_week_feature (bool, optional): Include the one-hot day of week (7 columns).
            (default: :obj:`True`)

    Shapes:
        - **output**: :math:`(T, C)` float32 with :math:`C \le 8`
    """
    columns = []
    if time_of_day_feature:
        columns.append(time_of_day(timestamps)[:, None])  # [T, 1]
    if day_of_week_feature:
        columns.append(torch.nn.functional.one_hot(day_of_week(timestamps), 7).float())  # [T, 7]
    if not columns:
        raise ValueError('choose at least one of time_of_day_feature and day_of_week_feature')
    return torch.cat(columns, dim=1)  # [T, C]
