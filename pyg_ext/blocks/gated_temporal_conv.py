r"""A gated temporal convolution (GLU or WaveNet gate), computed by one fused conv.

Legend: B - batch, T - input time steps, T' - output time steps, N - nodes (or any extra
dimensions), F - input features, H - output features, K - kernel size.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Module

from pyg_ext.blocks.temporal_conv import TemporalConv

GATES = ('glu', 'tanh')


class GatedTemporalConv(Module):
    r"""A gated convolution over time: the gated linear unit from the `"Language Modeling with
    Gated Convolutional Networks" <https://arxiv.org/abs/1612.08083>`_ paper (used by STGCN)
    or the gated activation from the `"WaveNet: A Generative Model for Raw Audio"
    <https://arxiv.org/abs/1609.03499>`_ paper (used by GraphWaveNet).

    .. math::
        [\mathbf{P} \,\|\, \mathbf{Q}] = \mathbf{W} \ast \mathbf{X} + \mathbf{b}, \qquad
        \mathbf{Y} = \begin{cases}
            \mathbf{P} \odot \sigma(\mathbf{Q}) & \text{gate='glu'} \\
            \tanh(\mathbf{P}) \odot \sigma(\mathbf{Q}) & \text{gate='tanh'}
        \end{cases}

    where :math:`\ast` is one :class:`~pyg_ext.blocks.temporal_conv.TemporalConv` with
    :math:`2H` output channels, split into its first (:math:`\mathbf{P}`) and second
    (:math:`\mathbf{Q}`) halves. Given a ``shortcut`` :math:`\mathbf{S}` in the forward
    call, the GLU passes it through the gate, :math:`(\mathbf{P} + \mathbf{S}) \odot
    \sigma(\mathbf{Q})`, as STGCN's code adds its residual.

    Args:
        in_channels (int): Input features :math:`F`.
        out_channels (int): Output features :math:`H`.
        kernel_size (int): Kernel size :math:`K` over time.
        dilation (int, optional): Dilation :math:`d`. (default: :obj:`1`)
        gate (str, optional): ``'glu'`` or ``'tanh'``. (default: :obj:`'glu'`)
        causal (bool, optional): Pad only on the left with ``padding='same'``.
            (default: :obj:`True`)
        padding (str, optional): ``'same'`` (keep :math:`T`) or ``'valid'`` (shrink it by
            :math:`(K-1)d`). (default: :obj:`'same'`)
        bias (bool, optional): Learn an additive bias. (default: :obj:`True`)

    Shapes:
        - **input:** :math:`(B, T, F)` or :math:`(B, T, N, F)`
        - **output:** :math:`(B, T', H)` or :math:`(B, T', N, H)`
    """
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 dilation: int = 1, gate: str = 'glu', causal: bool = True,
                 padding: str = 'same', bias: bool = True):
        super().__init__()
        if gate not in GATES:
            raise ValueError(f"gate={gate!r} is not supported; pass 'glu' (P * sigmoid(Q), "
                             f"STGCN) or 'tanh' (tanh(P) * sigmoid(Q), WaveNet)")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.gate = gate
        self.conv = TemporalConv(in_channels, 2 * out_channels, kernel_size, dilation=dilation,
                                 causal=causal, padding=padding, bias=bias)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters."""
        self.conv.reset_parameters()

    def forward(self, x: Tensor, shortcut: Optional[Tensor] = None) -> Tensor:
        r"""
        Args:
            x (torch.Tensor): The input :math:`(B, T, (N,) F)`.
            shortcut (torch.Tensor, optional): :math:`\mathbf{S}` of the output's shape
                :math:`(B, T', (N,) H)`, added to :math:`\mathbf{P}` inside the gate
                (``gate='glu'`` only). (default: :obj:`None`)
        """
        out = self.conv(x)  # [B, T', (N,) 2H]
        if shortcut is None and self.gate == 'glu':
            return F.glu(out, dim=-1)  # [B, T', (N,) H]
        p, q = out.chunk(2, dim=-1)  # 2 x [B, T', (N,) H]
        if shortcut is None:
            return torch.tanh(p) * torch.sigmoid(q)
        if self.gate != 'glu':
            raise ValueError(f"a shortcut inside the gate is defined for gate='glu', "
                             f"(P + S) * sigmoid(Q); this layer has gate={self.gate!r}: add "
                             f"the shortcut to its output instead")
        if shortcut.shape != p.shape:
            raise ValueError(f"'shortcut' has shape {list(shortcut.shape)}, but the gate's "
                             f"output has {list(p.shape)}; crop it to the last {p.size(1)} "
                             f"steps and map it to {p.size(-1)} features")
        return (p + shortcut) * torch.sigmoid(q)  # [B, T', (N,) H]

    def __repr__(self) -> str:
        conv = self.conv
        extra = f', gate={self.gate!r}' if self.gate != 'glu' else ''
        for key, default in (('dilation', 1), ('causal', True), ('padding', 'same')):
            if getattr(conv, key) != default:
                extra += f', {key}={getattr(conv, key)!r}'
        if conv.bias is None:
            extra += ', bias=False'
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'kernel_size={self.kernel_size}{extra})')
