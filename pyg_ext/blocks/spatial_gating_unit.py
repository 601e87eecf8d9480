r"""The spatial gating unit of gMLP: channel halves gate each other across positions.

Dimensions: ``B`` - batch, ``T`` - sequence/spatial axis (:obj:`dim`, e.g. time steps or
nodes), ``*`` - any other dimensions, ``F`` - features (``F`` in, ``F / 2`` out).
"""
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyg_ext.utils.checks import check_feature_size


class SpatialGatingUnit(nn.Module):
    r"""The spatial gating unit (SGU) from `"Pay Attention to MLPs"
    <https://arxiv.org/abs/2105.08050>`_ (Liu et al. 2021). The input
    :math:`\mathbf{Z}` is split along the channels into halves
    :math:`(\mathbf{Z}_1, \mathbf{Z}_2)`, and :math:`\mathbf{Z}_2` is normalised and
    mixed across the :math:`n` positions of the axis :obj:`dim`:

    .. math::
        s(\mathbf{Z}) = \mathbf{Z}_1 \odot f_{\mathbf{W}, \mathbf{b}}
        \big(\mathrm{LayerNorm}(\mathbf{Z}_2)\big), \qquad
        f_{\mathbf{W}, \mathbf{b}}(\mathbf{Z})_i = \sum_{j=1}^{n} W_{ij} \mathbf{Z}_j + b_i

    with :math:`\mathbf{W} \in \mathbb{R}^{n \times n}` and a bias :math:`b_i` per position.
    As in the paper, :math:`\mathbf{W}` starts near zero (uniform in
    :math:`\pm 10^{-3} / n`) and :math:`\mathbf{b}` at one, so a fresh unit is close to
    :math:`\mathbf{Z}_1`. With :obj:`causal=True`, :math:`W_{ij} = 0` for :math:`j > i`
    (position :math:`i` only reads positions :math:`\le i`).

    Args:
        channels (int): Size of each input feature vector, :math:`F` (even); the output has
            :math:`F / 2` channels (:obj:`out_channels`).
        seq_len (int): Number of positions :math:`n` along :obj:`dim`; inputs must have
            exactly this many.
        dim (int, optional): The spatial/sequence axis mixed by :math:`\mathbf{W}`, e.g.
            :obj:`-2` for :math:`(B, T, F)` or nodes of :math:`(B, T, N, F)`, :obj:`1` for
            time in :math:`(B, T, N, F)`. Must not be the feature axis.
            (default: :obj:`-2`)
        causal (bool, optional): If :obj:`True`, use lower-triangular spatial weights.
            (default: :obj:`False`)

    Shapes:
        - **input:** :math:`(*, T, *, F)` with :math:`T` = :obj:`seq_len` at :obj:`dim`
        - **output:** :math:`(*, T, *, F / 2)`
    """
    def __init__(self, channels: int, seq_len: int, dim: int = -2, causal: bool = False):
        super().__init__()
        if channels % 2 != 0:
            raise ValueError(
                f"channels={channels} cannot be split into two equal halves; build the unit "
                f"with an even number of channels (e.g. {channels + 1})")
        self.channels = channels
        self.out_channels = channels // 2
        self.seq_len = seq_len
        self.dim = dim
        self.causal = causal

        self.norm = nn.LayerNorm(self.out_channels)
        self.weight = nn.Parameter(torch.empty(seq_len, seq_len))
        self.bias = nn.Parameter(torch.empty(seq_len))
        if causal:
            self.register_buffer('mask', torch.ones(seq_len, seq_len).tril(), persistent=False)
        else:
            self.register_buffer('mask', None)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets the spatial weights near zero, the biases to one and the norm."""
        eps = 1e-3 / self.seq_len
        nn.init.uniform_(self.weight, -eps, eps)
        nn.init.ones_(self.bias)
        self.norm.reset_parameters()

    def forward(self, z: Tensor) -> Tensor:
        check_feature_size(z, self.channels, name='z')
        dim = self.dim if self.dim >= 0 else z.dim() + self.dim
        if not 0 <= dim < z.dim() - 1:
            raise ValueError(
                f"dim={self.dim} does not name a spatial axis of an input with "
                f"{z.dim()} dimensions (the last one holds the features); build the unit "
                f"with dim between {-z.dim()} and {-2} (or 0 and {z.dim() - 2})")
        if z.size(dim) != self.seq_len:
            raise ValueError(
                f"'z' has {z.size(dim)} positions along dim={self.dim}, but the unit was "
                f"built with seq_len={self.seq_len}; build it with seq_len={z.size(dim)} or "
                f"pad/crop the sequence to {self.seq_len}")
        z1, z2 = z.chunk(2, dim=-1)  # 2 x [*, T, *, F/2]
        z2 = self.norm(z2)
        weight = self.weight if self.mask is None else self.weight * self.mask
        z2 = z2.movedim(dim, -1)  # [*, *, F/2, T]
        z2 = F.linear(z2, weight, self.bias)  # [*, *, F/2, T]: sum_j W_ij z_j + b_i
        z2 = z2.movedim(-1, dim)  # [*, T, *, F/2]
        return z1 * z2

    def __repr__(self) -> str:
        extra = ', causal=True' if self.causal else ''
        return (f'{self.__class__.__name__}({self.channels}, seq_len={self.seq_len}, '
                f'dim={self.dim}{extra})')
