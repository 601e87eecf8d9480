r"""A 1x1 convolution over channels-last sequences.

Legend: B - batch, T - time steps, N - nodes (or any extra dimensions), F - input features,
H - output features.
"""
import math

import torch.nn.functional as F
from torch import Tensor
from torch.nn import Module, Parameter, init

from pyg_ext.blocks.temporal_conv import check_positive, check_temporal_input


class PointwiseConv(Module):
    r"""The pointwise (:math:`1 \times 1`) convolution from the `"Network In Network"
    <https://arxiv.org/abs/1312.4400>`_ paper: the same linear map of the channels at every
    time step (and node).

    .. math::
        \mathbf{y}_{t} = \mathbf{W} \mathbf{x}_{t} + \mathbf{b}

    With channels last this is a :class:`torch.nn.Linear` over the feature dimension, and it
    equals :class:`torch.nn.Conv1d` with ``kernel_size=1`` on the channels-first layout.

    Args:
        in_channels (int): Input features :math:`F`.
        out_channels (int): Output features :math:`H`.
        bias (bool, optional): Learn an additive bias. (default: :obj:`True`)

    Shapes:
        - **input:** :math:`(B, T, F)` or :math:`(B, T, N, F)`
        - **output:** :math:`(B, T, H)` or :math:`(B, T, N, H)`
    """
    def __init__(self, in_channels: int, out_channels: int, bias: bool = True):
        super().__init__()
        check_positive(in_channels=in_channels, out_channels=out_channels)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.weight = Parameter(Tensor(out_channels, in_channels))
        if bias:
            self.bias = Parameter(Tensor(out_channels))
        else:
            self.register_parameter('bias', None)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters (as :class:`torch.nn.Conv1d` does)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_channels)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        check_temporal_input(x, self.in_channels)
        return F.linear(x, self.weight, self.bias)  # [B, T, (N,) H]

    def __repr__(self) -> str:
        extra = '' if self.bias is not None else ', bias=False'
        return f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}{extra})'
