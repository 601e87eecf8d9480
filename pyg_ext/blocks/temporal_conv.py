r"""Convolution over the time axis of channels-last sequences.

Legend: B - batch, T - input time steps, T' - output time steps, N - nodes (any extra
dimensions between time and features are flattened into N), F - input features,
H - output features, K - kernel size.
"""
import math

import torch.nn.functional as F
from torch import Tensor
from torch.nn import Module, Parameter, init

from pyg_ext.utils.checks import check_feature_size

PADDINGS = ('same', 'valid')


def check_temporal_input(x: Tensor, in_channels: int, name: str = 'x') -> None:
    r"""Raise :class:`ValueError` unless ``x`` is ``[B, T, F]`` or ``[B, T, N, F]`` with
    ``F == in_channels``. Reads only the shape, so it is free under ``torch.compile``."""
    if x.dim() < 3:
        raise ValueError(
            f"'{name}' has shape {list(x.shape)}; expected [B, T, F] or [B, T, N, F] with "
            f"time at dimension 1 (for a single sequence [T, F] pass {name}.unsqueeze(0))")
    check_feature_size(x, in_channels, name)


def check_positive(**values: int) -> None:
    r"""Raise :class:`ValueError` if any of the given integer hyperparameters is < 1."""
    for key, value in values.items():
        if int(value) != value or value < 1:
            raise ValueError(f"'{key}' is {value}; pass a positive integer (>= 1)")


class TemporalConv(Module):
    r"""A 1D convolution over time for channels-last inputs, optionally causal and dilated,
    from the `"WaveNet: A Generative Model for Raw Audio"
    <https://arxiv.org/abs/1609.03499>`_ paper (causal, dilated) as used by STGCN and
    GraphWaveNet (``'valid'`` padding).

    .. math::
        \mathbf{y}_{t} = \mathbf{b} + \sum_{j=0}^{K-1}
        \mathbf{W}_{j}\, \mathbf{x}_{s t + d j - p}

    with stride :math:`s`, dilation :math:`d` and left padding :math:`p`. With
    ``causal=True`` and ``padding='same'``, :math:`p = (K-1)d` so :math:`\mathbf{y}_t` sees
    only inputs at times :math:`\le s t`; with ``causal=False`` the :math:`(K-1)d` padding
    is split as PyTorch's ``padding='same'`` does (the extra step on the right). With
    ``padding='valid'`` nothing is padded and time shrinks by :math:`(K-1)d`: output step
    :math:`t` is aligned with input step :math:`t + (K-1)d` (the most recent one it sees).
    Each node is convolved independently with the same weights.

    Internally the input is viewed as ``[B, F, T, N]`` in channels-last memory (no copy) and
    convolved with a ``(K, 1)`` kernel, which measured faster than ``conv1d`` on a
    ``[B * N, F, T]`` copy.

    Args:
        in_channels (int): Input features :math:`F`.
        out_channels (int): Output features :math:`H`.
        kernel_size (int): Kernel size :math:`K` over time.
        dilation (int, optional): Dilation :math:`d`. (default: :obj:`1`)
        stride (int, optional): Stride :math:`s` over time. (default: :obj:`1`)
        causal (bool, optional): Pad only on the left (past) with ``padding='same'``.
            Ignored for ``'valid'``. (default: :obj:`True`)
        padding (str, optional): ``'same'`` (output has :math:`\lceil T / s \rceil` steps)
            or ``'valid'`` (:math:`\lfloor (T - (K-1)d - 1) / s \rfloor + 1` steps).
            (default: :obj:`'same'`)
        bias (bool, optional): Learn an additive bias. (default: :obj:`True`)
        groups (int, optional): Split channels into this many independent groups; both
            channel counts must be divisible by it. (default: :obj:`1`)

    Shapes:
        - **input:** :math:`(B, T, F)` or :math:`(B, T, N, F)`
        - **output:** :math:`(B, T', H)` or :math:`(B, T', N, H)`
    """
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 dilation: int = 1, stride: int = 1, causal: bool = True,
                 padding: str = 'same', bias: bool = True, groups: int = 1):
        super().__init__()
        check_positive(in_channels=in_channels, out_channels=out_channels,
                       kernel_size=kernel_size, dilation=dilation, stride=stride, groups=groups)
        if padding not in PADDINGS:
            raise ValueError(f"padding={padding!r} is not supported; pass 'same' (keep T, "
                             f"optionally causal) or 'valid' (shrink T by (K-1)*dilation)")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"groups={groups} must divide in_channels={in_channels} and "
                             f"out_channels={out_channels}; pick a common divisor")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.stride = stride
        self.causal = causal
        self.padding = padding
        self.groups = groups

        total = (kernel_size - 1) * dilation if padding == 'same' else 0
        left = total if causal else total // 2
        self._pad = (left, total - left)  # (past, future) steps of zero padding

        self.weight = Parameter(Tensor(out_channels, in_channels // groups, kernel_size))
        if bias:
            self.bias = Parameter(Tensor(out_channels))
        else:
            self.register_parameter('bias', None)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters (as :class:`torch.nn.Conv1d` does)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.weight[0].numel())
            init.uniform_(self.bias, -bound, bound)

    def output_length(self, num_steps: int) -> int:
        r"""The number of output time steps :math:`T'` for :math:`T` = ``num_steps``."""
        span = (self.kernel_size - 1) * self.dilation + 1
        return (num_steps + sum(self._pad) - span) // self.stride + 1

    def forward(self, x: Tensor) -> Tensor:
        check_temporal_input(x, self.in_channels)
        shape = x.shape
        span = (self.kernel_size - 1) * self.dilation + 1
        if shape[1] + sum(self._pad) < span:
            raise ValueError(
                f"'x' has {shape[1]} time steps, but a 'valid' conv with kernel_size="
                f"{self.kernel_size} and dilation={self.dilation} needs at least {span}; "
                f"use padding='same' or a longer input window")
        x = x.reshape(shape[0], shape[1], -1, shape[-1])  # [B, T, N, F]
        left, right = self._pad
        if left == right:
            padding = (left, 0)
        else:
            x = F.pad(x, (0, 0, 0, 0, left, right))  # [B, T + (K-1)d, N, F]
            padding = (0, 0)
        out = F.conv2d(x.permute(0, 3, 1, 2),  # [B, F, T, N] (channels-last view)
                       self.weight.unsqueeze(-1),  # [H, F / groups, K, 1]
                       self.bias, stride=(self.stride, 1), padding=padding,
                       dilation=(self.dilation, 1), groups=self.groups)  # [B, H, T', N]
        out = out.permute(0, 2, 3, 1)  # [B, T', N, H]
        return out.reshape(shape[:1] + out.shape[1:2] + shape[2:-1]
                           + (self.out_channels, ))  # [B, T', (N,) H]

    def __repr__(self) -> str:
        defaults = dict(dilation=1, stride=1, causal=True, padding='same', groups=1)
        extra = ''.join(f', {key}={getattr(self, key)!r}' for key, value in defaults.items()
                        if getattr(self, key) != value)
        if self.bias is None:
            extra += ', bias=False'
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'kernel_size={self.kernel_size}{extra})')
