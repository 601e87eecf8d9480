r"""The gMLP block: a feed-forward network with a spatial gating unit in the middle.

Dimensions: ``B`` - batch, ``T`` - sequence/spatial axis (e.g. time steps or nodes),
``*`` - any other dimensions, ``F`` - features, ``H`` - hidden channels.
"""
from typing import Optional

import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn.inits import reset

from pyg_ext.blocks.spatial_gating_unit import SpatialGatingUnit
from pyg_ext.utils.checks import check_feature_size


class GatedMLP(nn.Module):
    r"""The gMLP block from `"Pay Attention to MLPs" <https://arxiv.org/abs/2105.08050>`_
    (Liu et al. 2021):

    .. math::
        \mathbf{Y} = \mathbf{X} + s\Big(\mathrm{GELU}\big(\mathrm{LayerNorm}(\mathbf{X})
        \mathbf{U}\big)\Big) \mathbf{V}

    where :math:`\mathbf{U}` maps :math:`F` to :math:`H` channels, :math:`s` is the spatial
    unit (by default a :class:`~pyg_ext.blocks.spatial_gating_unit.SpatialGatingUnit`,
    which mixes the :obj:`seq_len` positions of axis :obj:`dim` and halves the channels)
    and :math:`\mathbf{V}` maps the spatial unit's output width back to :math:`F`. With
    :math:`s` the identity the block is exactly a pre-norm residual feed-forward network,
    :math:`\mathbf{X} + \mathrm{FFN}(\mathrm{LayerNorm}(\mathbf{X}))`.

    Args:
        channels (int): Size of each input and output feature vector, :math:`F`.
        hidden_channels (int): Width :math:`H` after :math:`\mathbf{U}`, i.e. the spatial
            unit's input width (even for the default unit).
        seq_len (int): Number of positions along :obj:`dim`, used by the default spatial
            unit.
        spatial_unit (torch.nn.Module, optional): The spatial unit :math:`s`, mapping
            :math:`(*, H)` to :math:`(*, H')`. :math:`\mathbf{V}` reads
            ``spatial_unit.out_channels`` channels when the module has that attribute,
            else :math:`H` (a width-preserving unit such as :class:`torch.nn.Identity`).
            (default: :obj:`SpatialGatingUnit(hidden_channels, seq_len, dim)`, with
            :math:`H' = H / 2`)
        dim (int, optional): The spatial/sequence axis of the default spatial unit.
            (default: :obj:`-2`)

    Shapes:
        - **input:** :math:`(*, T, *, F)` (:math:`T` = :obj:`seq_len` at :obj:`dim`
          for the default unit)
        - **output:** :math:`(*, T, *, F)`
    """
    def __init__(
        self,
        channels: int,
        hidden_channels: int,
        seq_len: int,
        spatial_unit: Optional[nn.Module] = None,
        dim: int = -2,
    ):
        super().__init__()
        self.channels = channels
        self.hidden_channels = hidden_channels
        self.seq_len = seq_len
        self.dim = dim

        if spatial_unit is None:
            spatial_unit = SpatialGatingUnit(hidden_channels, seq_len, dim=dim)
        self.spatial_out_channels = getattr(spatial_unit, 'out_channels', hidden_channels)
        self.norm = nn.LayerNorm(channels)
        self.proj_in = nn.Linear(channels, hidden_channels)  # U
        self.spatial_unit = spatial_unit
        self.proj_out = nn.Linear(self.spatial_out_channels, channels)  # V
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters, the spatial unit's included."""
        self.norm.reset_parameters()
        self.proj_in.reset_parameters()
        reset(self.spatial_unit)
        self.proj_out.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        check_feature_size(x, self.channels)
        h = F.gelu(self.proj_in(self.norm(x)))  # [*, T, *, H]
        h = self.spatial_unit(h)  # [*, T, *, H']
        if h.size(-1) != self.spatial_out_channels:
            raise ValueError(
                f"The spatial unit returned {h.size(-1)} channels, but the output projection "
                f"reads {self.spatial_out_channels}; give the unit an 'out_channels' "
                f"attribute equal to its output width ({h.size(-1)})")
        return x + self.proj_out(h)  # [*, T, *, F]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.channels}, {self.hidden_channels}, '
                f'seq_len={self.seq_len}, spatial_unit={self.spatial_unit})')
