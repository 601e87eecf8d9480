r"""A transposed (fractionally strided) convolution over time, for upsampling.

Legend: B - batch, T - input time steps, T' - output time steps, N - nodes (or any extra
dimensions), F - input features, H - output features, K - kernel size.
"""
import math

import torch.nn.functional as F
from torch import Tensor
from torch.nn import Module, Parameter, init

from pyg_ext.blocks.temporal_conv import check_positive, check_temporal_input


class TransposedTemporalConv(Module):
    r"""The transposed convolution over time (see `"A guide to convolution arithmetic for
    deep learning" <https://arxiv.org/abs/1603.07285>`_), the gradient of a strided
    :class:`~pyg_ext.blocks.temporal_conv.TemporalConv` with respect to its input, used to
    upsample time: every input step :math:`i` scatters :math:`K` weighted copies to outputs
    :math:`s i + d j - p`.

    .. math::
        \mathbf{y}_{t} = \mathbf{b} + \sum_{i, j \,:\, s i + d j - p = t}
        \mathbf{W}_{j}^{\top} \mathbf{x}_{i}, \qquad
        T' = (T - 1) s - 2 p + d (K - 1) + p_{\text{out}} + 1

    It matches :class:`torch.nn.ConvTranspose1d` on the channels-first layout.

    Args:
        in_channels (int): Input features :math:`F`.
        out_channels (int): Output features :math:`H`.
        kernel_size (int): Kernel size :math:`K` over time.
        stride (int, optional): Upsampling factor :math:`s`. (default: :obj:`1`)
        padding (int, optional): Steps :math:`p` cropped from both ends of the output.
            (default: :obj:`0`)
        output_padding (int, optional): Extra steps :math:`p_{\text{out}}` added on the
            right, to pick among the input lengths a strided conv maps to the same output;
            must be smaller than ``stride`` or ``dilation``. (default: :obj:`0`)
        dilation (int, optional): Dilation :math:`d`. (default: :obj:`1`)
        bias (bool, optional): Learn an additive bias. (default: :obj:`True`)

    Shapes:
        - **input:** :math:`(B, T, F)` or :math:`(B, T, N, F)`
        - **output:** :math:`(B, T', H)` or :math:`(B, T', N, H)`
    """
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 stride: int = 1, padding: int = 0, output_padding: int = 0,
                 dilation: int = 1, bias: bool = True):
        super().__init__()
        check_positive(in_channels=in_channels, out_channels=out_channels,
                       kernel_size=kernel_size, stride=stride, dilation=dilation)
        if padding < 0 or output_padding < 0:
            raise ValueError(f"padding={padding} and output_padding={output_padding} must be "
                             f">= 0; pass non-negative integers")
        if output_padding >= max(stride, dilation):
            raise ValueError(
                f"output_padding={output_padding} must be smaller than stride={stride} or "
                f"dilation={dilation}; lower it, or grow the output with padding/kernel_size")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.output_padding = output_padding
        self.dilation = dilation
        self.weight = Parameter(Tensor(in_channels, out_channels, kernel_size))
        if bias:
            self.bias = Parameter(Tensor(out_channels))
        else:
            self.register_parameter('bias', None)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters (as :class:`torch.nn.ConvTranspose1d` does)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.weight[0].numel())
            init.uniform_(self.bias, -bound, bound)

    def output_length(self, num_steps: int) -> int:
        r"""The number of output time steps :math:`T'` for :math:`T` = ``num_steps``."""
        return ((num_steps - 1) * self.stride - 2 * self.padding
                + self.dilation * (self.kernel_size - 1) + self.output_padding + 1)

    def forward(self, x: Tensor) -> Tensor:
        check_temporal_input(x, self.in_channels)
        shape = x.shape
        if self.output_length(shape[1]) < 1:
            raise ValueError(
                f"'x' has {shape[1]} time steps, which leaves no output after cropping "
                f"padding={self.padding} from both ends; lower padding or pass a longer input")
        x = x.reshape(shape[0], shape[1], -1, shape[-1])  # [B, T, N, F]
        out = F.conv_transpose2d(
            x.permute(0, 3, 1, 2),  # [B, F, T, N] (channels-last view)
            self.weight.unsqueeze(-1),  # [F, H, K, 1]
            self.bias, stride=(self.stride, 1), padding=(self.padding, 0),
            output_padding=(self.output_padding, 0),
            dilation=(self.dilation, 1))  # [B, H, T', N]
        out = out.permute(0, 2, 3, 1)  # [B, T', N, H]
        return out.reshape(shape[:1] + out.shape[1:2] + shape[2:-1]
                           + (self.out_channels, ))  # [B, T', (N,) H]

    def __repr__(self) -> str:
        extra = ''
        for key in ('stride', 'padding', 'output_padding', 'dilation'):
            value = getattr(self, key)
            if value != (1 if key in ('stride', 'dilation') else 0):
                extra += f', {key}={value}'
        if self.bias is None:
            extra += ', bias=False'
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'kernel_size={self.kernel_size}{extra})')
