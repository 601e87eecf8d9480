r"""A depthwise separable convolution over time.

Legend: B - batch, T - input time steps, T' - output time steps, N - nodes (or any extra
dimensions), F - input features, M - depth multiplier, H - output features, K - kernel size.
"""
from torch import Tensor
from torch.nn import Module

from pyg_ext.blocks.pointwise_conv import PointwiseConv
from pyg_ext.blocks.temporal_conv import TemporalConv, check_positive


class DepthwiseSeparableConv(Module):
    r"""The depthwise separable convolution from the `"Xception: Deep Learning with Depthwise
    Separable Convolutions" <https://arxiv.org/abs/1610.02357>`_ and `"MobileNets"
    <https://arxiv.org/abs/1704.04861>`_ papers, over time: a depthwise convolution that
    filters each input channel on its own with :math:`M` kernels, then a pointwise
    (:math:`1 \times 1`) convolution that mixes the channels.

    .. math::
        \mathbf{z}_{t, cM + m} = \sum_{j=0}^{K-1} w_{cM + m, j}\, x_{t + d j - p, c}, \qquad
        \mathbf{y}_{t} = \mathbf{V} \mathbf{z}_{t} + \mathbf{b}

    It has :math:`F M K + F M H + H` parameters (without bias: :math:`F M (K + H)`) against
    :math:`F H K + H` for a full :class:`~pyg_ext.blocks.temporal_conv.TemporalConv`.
    As in Keras' ``SeparableConv1D``, only the pointwise step has a bias (a depthwise bias
    would fold into it).

    Args:
        in_channels (int): Input features :math:`F`.
        out_channels (int): Output features :math:`H`.
        kernel_size (int): Kernel size :math:`K` over time.
        dilation (int, optional): Dilation :math:`d`. (default: :obj:`1`)
        causal (bool, optional): Pad only on the left with ``padding='same'``.
            (default: :obj:`True`)
        padding (str, optional): ``'same'`` (keep :math:`T`) or ``'valid'`` (shrink it by
            :math:`(K-1)d`). (default: :obj:`'same'`)
        depth_multiplier (int, optional): Depthwise kernels per input channel :math:`M`.
            (default: :obj:`1`)
        bias (bool, optional): Learn an additive bias in the pointwise step.
            (default: :obj:`True`)

    Shapes:
        - **input:** :math:`(B, T, F)` or :math:`(B, T, N, F)`
        - **output:** :math:`(B, T', H)` or :math:`(B, T', N, H)`
    """
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 dilation: int = 1, causal: bool = True, padding: str = 'same',
                 depth_multiplier: int = 1, bias: bool = True):
        super().__init__()
        check_positive(in_channels=in_channels, depth_multiplier=depth_multiplier)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.depth_multiplier = depth_multiplier
        hidden = in_channels * depth_multiplier
        self.depthwise = TemporalConv(in_channels, hidden, kernel_size, dilation=dilation,
                                      causal=causal, padding=padding, bias=False,
                                      groups=in_channels)
        self.pointwise = PointwiseConv(hidden, out_channels, bias=bias)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters."""
        self.depthwise.reset_parameters()
        self.pointwise.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        return self.pointwise(self.depthwise(x))  # [B, T', (N,) H]

    def __repr__(self) -> str:
        conv = self.depthwise
        extra = ''
        for key, default in (('dilation', 1), ('causal', True), ('padding', 'same')):
            if getattr(conv, key) != default:
                extra += f', {key}={getattr(conv, key)!r}'
        if self.depth_multiplier != 1:
            extra += f', depth_multiplier={self.depth_multiplier}'
        if self.pointwise.bias is None:
            extra += ', bias=False'
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'kernel_size={self.kernel_size}{extra})')
