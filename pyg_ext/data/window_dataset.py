"""Sliding forecasting windows over a series, taken by index (views, never copies).

Dimensions: T - time steps of the series, T_in - input steps, T_out - horizon,
N - nodes, F_in / F_out - input / target features, W - windows, B - batch.
"""
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import Tensor
from torch.utils.data import Dataset


class WindowDataset(Dataset):
    r"""Forecasting windows: window :math:`k` starts at
    :math:`s_k = \text{start} + k \cdot \text{stride}` and returns

    .. math::
        \mathbf{x} = X_{s_k : s_k + T_{in}}, \quad
        \mathbf{y} = Y_{s_k + T_{in} : s_k + T_{in} + T_{out}}, \quad
        \mathbf{m} = M_{s_k + T_{in} : s_k + T_{in} + T_{out}}

    for every :math:`k` whose input *and* target lie in ``[start, end)``, so a dataset built
    on one split's range never reads a step outside it. Items are slices of the stored
    tensors (they share their storage); a :class:`torch.utils.data.DataLoader` stacks them
    into ``[B, T, N, F]``, and :meth:`get_batch` gathers a batch in one indexing call.

    Args:
        x (torch.Tensor): Inputs :math:`X`, ``[T, N, F_in]``.
        y (torch.Tensor, optional): Targets :math:`Y`, ``[T, N, F_out]``.
            (default: :obj:`None`, :obj:`x`)
        mask (torch.Tensor, optional): Boolean :math:`M` of observed targets,
            ``[T, N, F_out]``. (default: :obj:`None`, every target observed)
        input_steps (int, optional): :math:`T_{in}`. (default: :obj:`12`)
        horizon (int, optional): :math:`T_{out}`. (default: :obj:`12`)
        stride (int, optional): Steps between window starts. (default: :obj:`1`)
        start (int, optional): First usable step. (default: :obj:`0`)
        end (int, optional): One past the last usable step. (default: :obj:`None`, ``T``)

    Shapes:
        - **item**: ``(x [T_in, N, F_in], y [T_out, N, F_out], y_mask [T_out, N, F_out])``
        - **get_batch**: the same with a leading :math:`B`
    """

    def __init__(
        self,
        x: Tensor,
        y: Optional[Tensor] = None,
        mask: Optional[Tensor] = None,
        input_steps: int = 12,
        horizon: int = 12,
        stride: int = 1,
        start: int = 0,
        end: Optional[int] = None,
    ):
        if x.dim() != 3:
            raise ValueError(f"'x' has shape {list(x.shape)}; expected [T, N, F] (add a "
                             f"feature dimension with x.unsqueeze(-1))")
        y = x if y is None else y
        if y.dim() != 3 or y.shape[:2] != x.shape[:2]:
            raise ValueError(f"'y' has shape {list(y.shape)}; expected [T, N, F_out] with the "
                             f"same T and N as 'x' {list(x.shape[:2])}")
        if mask is None:
            mask = torch.ones((), dtype=torch.bool, device=y.device).expand(y.shape)
        elif mask.shape != y.shape or mask.dtype != torch.bool:
            raise ValueError(f"'mask' must be a bool tensor of the targets' shape "
                             f"{list(y.shape)}; got {mask.dtype} {list(mask.shape)}")
        for arg, value in (('input_steps', input_steps), ('horizon', horizon),
                           ('stride', stride)):
            if value < 1:
                raise ValueError(f"'{arg}' must be at least 1, got {value}")
        num_steps = x.size(0)
        end = num_steps if end is None else end
        if not 0 <= start < end <= num_steps:
            raise ValueError(f"the range [start={start}, end={end}) must lie inside the "
                             f"series' {num_steps} steps")
        if input_steps + horizon > end - start:
            raise ValueError(
                f"a window needs input_steps + horizon = {input_steps + horizon} steps but the "
                f"range [{start}, {end}) has only {end - start}; shorten input_steps or "
                f"horizon, or give this split a larger share of the series")
        self.x, self.y, self.mask = x, y, mask
        self.input_steps, self.horizon, self.stride = input_steps, horizon, stride
        self.start, self.end = start, end
        self.num_windows = (end - start - input_steps - horizon) // stride + 1

    def __len__(self) -> int:
        return self.num_windows

    def window_start(self, index: int) -> int:
        r"""The series step at which window ``index`` begins."""
        if not -self.num_windows <= index < self.num_windows:
            raise IndexError(f"window {index} is out of range for {self.num_windows} windows")
        return self.start + (index % self.num_windows) * self.stride

    def __getitem__(self, index: int) -> Tuple[Tensor, Tensor, Tensor]:
        s = self.window_start(index)
        t = s + self.input_steps
        u = t + self.horizon
        return self.x[s:t], self.y[t:u], self.mask[t:u]  # [T_in, N, F_in], [T_out, N, F_out] x2

    def input_index(self, windows: Optional[Union[Tensor, Sequence[int]]] = None) -> Tensor:
        r"""Series steps read as input by the given windows (all by default): ``[W, T_in]``."""
        starts = self._starts(windows)
        return starts[:, None] + torch.arange(self.input_steps)  # [W, T_in]

    def target_index(self, windows: Optional[Union[Tensor, Sequence[int]]] = None) -> Tensor:
        r"""Series steps predicted by the given windows (all by default): ``[W, T_out]``."""
        starts = self._starts(windows) + self.input_steps
        return starts[:, None] + torch.arange(self.horizon)  # [W, T_out]

    def get_batch(self, windows: Union[Tensor, Sequence[int]]) -> Tuple[Tensor, Tensor, Tensor]:
        r"""The windows ``windows`` stacked, gathered with one index per tensor (no Python
        loop): ``(x [B, T_in, N, F_in], y [B, T_out, N, F_out], y_mask [B, T_out, N, F_out])``.
        """
        inputs = self.input_index(windows).to(self.x.device)  # [B, T_in]
        targets = self.target_index(windows).to(self.y.device)  # [B, T_out]
        return self.x[inputs], self.y[targets], self.mask[targets]

    def _starts(self, windows) -> Tensor:
        if windows is None:
            windows = torch.arange(self.num_windows)
        windows = torch.as_tensor(windows, dtype=torch.long).reshape(-1)
        if windows.numel() and (int(windows.min()) < -self.num_windows
                                or int(windows.max()) >= self.num_windows):
            raise IndexError(f"window indices must lie in [-{self.num_windows}, "
                             f"{self.num_windows}); got {windows.min()}..{windows.max()}")
        return self.start + (windows % self.num_windows) * self.stride  # [W]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.num_windows}, input_steps={self.input_steps}, '
                f'horizon={self.horizon}, stride={self.stride})')
