r"""The rotary positional encoding (RoPE) of RoFormer.

Dimensions: ``*`` - any leading dimensions (e.g. ``B, H``), ``L`` - positions,
``D`` - channels per head (even).
"""
from typing import Optional

import torch
from torch import Tensor, nn


class RotaryPositionalEncoding(nn.Module):
    r"""The rotary position embedding from `"RoFormer: Enhanced Transformer with Rotary
    Position Embedding" <https://arxiv.org/abs/2104.09864>`_ (Su et al. 2021). Each pair of
    channels :math:`(x_{2i}, x_{2i+1})` of the vector at position :math:`m` is rotated by
    the angle :math:`m \theta_i`:

    .. math::
        \begin{pmatrix} x'_{2i} \\ x'_{2i+1} \end{pmatrix} =
        \begin{pmatrix} \cos m\theta_i & -\sin m\theta_i \\
        \sin m\theta_i & \cos m\theta_i \end{pmatrix}
        \begin{pmatrix} x_{2i} \\ x_{2i+1} \end{pmatrix}, \qquad
        \theta_i = \beta^{-2i/D}

    with :math:`\beta = 10000`. Applied to queries and keys, :math:`\langle R_m \mathbf{q},
    R_n \mathbf{k} \rangle` depends on positions only through :math:`m - n`, so attention
    sees relative positions while the fused scaled-dot kernel still applies. Pass it as
    ``positional=`` to :class:`~pyg_ext.blocks.multi_head_attention.MultiHeadAttention`,
    which rotates its per-head queries and keys; or call it on any :math:`[*, L, D]` tensor.
    The frequencies :obj:`inv_freq` are a non-persistent buffer; there is nothing to learn.

    Args:
        channels (int): Channels per head :math:`D` (even).
        base (float, optional): The wavelength base :math:`\beta`. (default: :obj:`10000.0`)

    Shapes:
        - **input:** :math:`x: (*, L, D)` (positions on axis -2), optional
          :math:`pos: (L)` positions (default: :math:`0, \dots, L-1`)
        - **output:** :math:`(*, L, D)`
    """
    def __init__(self, channels: int, base: float = 10000.0):
        super().__init__()
        if channels < 2 or channels % 2:
            raise ValueError(f"Rotary encodings rotate pairs of channels, so channels must be "
                             f"even, got {channels}; use an even number of channels per head")
        self.channels = channels
        self.base = base
        self.register_buffer('inv_freq', torch.empty(channels // 2), persistent=False)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Rebuilds the (fixed) frequencies :math:`\theta_i`; there is nothing to learn."""
        two_i = torch.arange(0, self.channels, 2, dtype=torch.float64)  # [D/2]
        self.inv_freq.copy_((self.base ** (-two_i / self.channels)).to(self.inv_freq.dtype))

    def forward(self, x: Tensor, pos: Optional[Tensor] = None) -> Tensor:
        if x.dim() < 2 or x.size(-1) != self.channels:
            raise ValueError(
                f"The input has shape {list(x.shape)}; {self.__class__.__name__} expects "
                f"[*, L, D={self.channels}] (positions on axis -2); build it with "
                f"channels={x.size(-1)} or split heads first")
        length = x.size(-2)
        if pos is None:
            pos = torch.arange(length, device=x.device, dtype=self.inv_freq.dtype)
        elif pos.shape != (length,):
            raise ValueError(f"'pos' has shape {list(pos.shape)}; expected [L={length}], one "
                             f"position per row of axis -2 of the input")
        angle = pos.to(self.inv_freq.dtype).unsqueeze(-1) * self.inv_freq  # [L, D/2]
        cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)  # [L, D/2]
        x1, x2 = x[..., 0::2], x[..., 1::2]  # [*, L, D/2]
        out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)  # [*, L, D/2, 2]
        return out.flatten(-2)  # [*, L, D]

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.channels})'
