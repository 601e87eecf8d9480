r"""A learned absolute positional encoding (one embedding per position).

Dimensions: ``B`` - batch, ``T`` - positions (time steps or tokens), ``N`` - nodes,
``F`` - features.
"""
import torch
from torch import Tensor, nn

from pyg_ext.blocks.sinusoidal_positional_encoding import position_axis


class LearnedPositionalEncoding(nn.Module):
    r"""The learned position embeddings of `"Convolutional Sequence to Sequence Learning"
    <https://arxiv.org/abs/1705.03122>`_ (Gehring et al. 2017), as in BERT and GPT, added to
    the input along the position axis ``dim``:

    .. math::
        \mathbf{x}'_t = \mathbf{x}_t + \mathbf{p}_t, \qquad
        \mathbf{p}_t \in \mathbb{R}^F \text{ learned for } t = 0, \dots, T_{max} - 1

    Embeddings are initialised from :math:`\mathcal{N}(0, 0.02^2)`. Inputs longer than
    ``max_len`` raise an error (there is no embedding to add).

    Args:
        channels (int): Size of each feature vector, :math:`F`.
        max_len (int): Number of learned positions :math:`T_{max}`.
        dim (int, optional): The position axis of the input (e.g. :obj:`1` for time in
            :math:`[B, T, F]` and :math:`[B, T, N, F]`, :obj:`-2` for nodes).
            (default: :obj:`1`)

    Shapes:
        - **input:** :math:`(*, T, *, F)` with :math:`T \leq T_{max}` on axis ``dim``
        - **output:** the input's shape
    """
    def __init__(self, channels: int, max_len: int, dim: int = 1):
        super().__init__()
        if channels < 1 or max_len < 1:
            raise ValueError(f"channels and max_len must be positive, got channels={channels},"
                             f" max_len={max_len}")
        self.channels = channels
        self.max_len = max_len
        self.dim = dim
        self.weight = nn.Parameter(torch.empty(max_len, channels))  # [T_max, F]
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: Tensor) -> Tensor:
        dim = position_axis(x, self.dim, self.channels, self.__class__.__name__)
        length = x.size(dim)
        if length > self.max_len:
            raise ValueError(
                f"The input has {length} positions along dim={self.dim}, but only "
                f"max_len={self.max_len} positions are learned; build the encoding with "
                f"max_len>={length} (or crop/window the input)")
        pe = self.weight[:length]  # [T, F]
        pe = pe.view(length, *([1] * (x.dim() - dim - 2)), self.channels)  # [T, 1.., F]
        return x + pe

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.channels}, max_len={self.max_len}, dim={self.dim})'
