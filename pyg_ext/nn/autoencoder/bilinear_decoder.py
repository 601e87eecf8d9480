"""Bilinear edge decoder for graph autoencoders.

Dimensions: N - nodes, E - node pairs to score, F - latent features, * - optional leading
dimensions (e.g. B, T).
"""
import torch
from torch import Tensor
from torch.nn import Parameter

from pyg_ext.utils.checks import check_edge_index, check_feature_size


class BilinearDecoder(torch.nn.Module):
    r"""The bilinear decoder of RESCAL (`"A Three-Way Model for Collective Learning on
    Multi-Relational Data" <https://icml.cc/2011/papers/438_icmlpaper.pdf>`_, Nickel et al.
    2011), as used for link prediction in `"Modeling Relational Data with Graph Convolutional
    Networks" <https://arxiv.org/abs/1703.06103>`_, scoring a node pair by

    .. math::
        \hat{A}_{ij} = \sigma\left(\mathbf{z}_i^{\top} \mathbf{W} \mathbf{z}_j\right)

    with a learnable :math:`\mathbf{W} \in \mathbb{R}^{F \times F}`. With
    :math:`\mathbf{W} = \mathbf{I}` it is the inner-product decoder of `"Variational Graph
    Auto-Encoders" <https://arxiv.org/abs/1611.07308>`_
    (:class:`torch_geometric.nn.models.InnerProductDecoder`), and :math:`\mathbf{W}` is
    initialised to :math:`\mathbf{I}`; an asymmetric :math:`\mathbf{W}` scores
    :math:`i \to j` and :math:`j \to i` differently, for directed links. A drop-in decoder
    for :class:`torch_geometric.nn.models.GAE`, :class:`~torch_geometric.nn.models.VGAE` and
    :class:`~torch_geometric.nn.models.ARGA`.

    Args:
        channels (int): Size of each latent node embedding, :math:`F`.

    Shapes:
        - **forward input:** latent :math:`(*, N, F)`, node pairs :math:`(2, E)`
          (row 0 = :math:`i`, row 1 = :math:`j`)
        - **forward output:** scores :math:`(*, E)`
        - **forward_all input:** latent :math:`(*, N, F)`
        - **forward_all output:** dense scores :math:`(*, N, N)`
    """
    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels
        self.weight = Parameter(torch.empty(channels, channels))
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets :math:`\mathbf{W}` to the identity (the inner-product decoder)."""
        torch.nn.init.eye_(self.weight)

    def forward(self, z: Tensor, edge_index: Tensor, sigmoid: bool = True) -> Tensor:
        r"""Scores the node pairs :obj:`edge_index`; logits if :obj:`sigmoid=False`."""
        check_feature_size(z, self.channels, name='z')
        check_edge_index(edge_index)
        z_i = z.index_select(-2, edge_index[0])  # [*, E, F]
        z_j = z.index_select(-2, edge_index[1])  # [*, E, F]
        value = ((z_i @ self.weight) * z_j).sum(dim=-1)  # [*, E]
        return torch.sigmoid(value) if sigmoid else value

    def forward_all(self, z: Tensor, sigmoid: bool = True) -> Tensor:
        r"""Scores every node pair: a dense :math:`(*, N, N)` matrix."""
        check_feature_size(z, self.channels, name='z')
        adj = (z @ self.weight) @ z.transpose(-1, -2)  # [*, N, N]
        return torch.sigmoid(adj) if sigmoid else adj

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.channels})'
