r"""The fixed sinusoidal positional encoding of the Transformer.

Dimensions: ``B`` - batch, ``T`` - positions (time steps or tokens), ``N`` - nodes,
``F`` - features.
"""
import torch
from torch import Tensor, nn


class SinusoidalPositionalEncoding(nn.Module):
    r"""The sinusoidal positional encoding from `"Attention Is All You Need"
    <https://arxiv.org/abs/1706.03762>`_ (Vaswani et al. 2017), added to the input along
    the position axis ``dim``:

    .. math::
        \mathrm{PE}(t, 2i) = \sin\big(t / \beta^{2i/F}\big), \qquad
        \mathrm{PE}(t, 2i+1) = \cos\big(t / \beta^{2i/F}\big), \qquad
        \mathbf{x}'_t = \mathbf{x}_t + \mathrm{PE}(t, \cdot)

    with :math:`\beta = 10000`. The table :obj:`pe` of the first ``max_len`` positions is a
    (non-persistent) buffer, not a parameter: it is rebuilt, never learned or saved. For
    odd :math:`F` the last channel is a sine.

    Args:
        channels (int): Size of each feature vector, :math:`F`.
        max_len (int, optional): Number of positions in the table; longer inputs raise an
            error. (default: :obj:`5000`)
        dim (int, optional): The position axis of the input (e.g. :obj:`1` for time in
            :math:`[B, T, F]` and :math:`[B, T, N, F]`, :obj:`-2` for nodes).
            (default: :obj:`1`)
        base (float, optional): The wavelength base :math:`\beta`. (default: :obj:`10000.0`)

    Shapes:
        - **input:** :math:`(*, T, *, F)` with :math:`T` on axis ``dim``, e.g.
          :math:`(B, T, F)` or :math:`(B, T, N, F)`
        - **output:** the input's shape
    """
    def __init__(self, channels: int, max_len: int = 5000, dim: int = 1,
                 base: float = 10000.0):
        super().__init__()
        if channels < 1 or max_len < 1:
            raise ValueError(f"channels and max_len must be positive, got channels={channels},"
                             f" max_len={max_len}")
        self.channels = channels
        self.max_len = max_len
        self.dim = dim
        self.base = base
        self.register_buffer('pe', torch.empty(max_len, channels), persistent=False)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Rebuilds the (fixed) table :obj:`pe`; there is nothing to learn."""
        t = torch.arange(self.max_len, dtype=torch.float64).unsqueeze(1)  # [T, 1]
        two_i = torch.arange(0, self.channels, 2, dtype=torch.float64)  # [ceil(F/2)]
        angle = t / self.base ** (two_i / self.channels)  # [T, ceil(F/2)]
        pe = torch.empty(self.max_len, self.channels, dtype=torch.float64)
        pe[:, 0::2] = torch.sin(angle)
        pe[:, 1::2] = torch.cos(angle[:, :self.channels // 2])
        self.pe.copy_(pe.to(self.pe.dtype))

    def encoding(self, length: int) -> Tensor:
        r"""The first ``length`` rows of the table, :math:`[T, F]`."""
        if length > self.max_len:
            raise ValueError(
                f"The input has {length} positions along dim={self.dim}, but the encoding "
                f"was built for max_len={self.max_len}; build it with max_len>={length}")
        return self.pe[:length]  # [T, F]

    def forward(self, x: Tensor) -> Tensor:
        dim = position_axis(x, self.dim, self.channels, self.__class__.__name__)
        pe = self.encoding(x.size(dim))  # [T, F]
        pe = pe.view(pe.size(0), *([1] * (x.dim() - dim - 2)), self.channels)  # [T, 1.., F]
        return x + pe.to(x.dtype)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.channels}, max_len={self.max_len}, dim={self.dim})'


def position_axis(x: Tensor, dim: int, channels: int, name: str) -> int:
    r"""The non-negative position axis of ``x`` for a positional encoding named ``name``;
    raises :class:`ValueError` if ``dim`` is missing or is the feature axis, or if ``x`` does
    not have ``channels`` features. Shared with
    :class:`~pyg_ext.blocks.learned_positional_encoding.LearnedPositionalEncoding`."""
    d = dim + x.dim() if dim < 0 else dim
    if not 0 <= d < x.dim() - 1:
        raise ValueError(
            f"{name} adds positions along dim={dim}, but the input has shape "
            f"{list(x.shape)} (the last axis holds the features); build it with a dim "
            f"between {-x.dim()} and {x.dim() - 2}, e.g. dim=1 for [B, T, F] or [B, T, N, F]")
    if x.size(-1) != channels:
        raise ValueError(
            f"The input has {x.size(-1)} features, but {name} was built for "
            f"channels={channels}; build it with channels={x.size(-1)}")
    return d
