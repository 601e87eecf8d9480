"""MLP edge decoder for graph autoencoders and link prediction.

Dimensions: N - nodes, E - node pairs to score, F - latent features, H - hidden units,
* - optional leading dimensions (e.g. B, T).
"""
import torch
from torch import Tensor
from torch_geometric.nn.models import MLP

from pyg_ext.utils.checks import check_edge_index, check_feature_size

COMBINES = ('hadamard', 'concat')


class MLPDecoder(torch.nn.Module):
    r"""An MLP on node pairs, the link predictor of the `"Open Graph Benchmark"
    <https://arxiv.org/abs/2005.00687>`_ baselines (:obj:`combine='hadamard'`, Hu et al.
    2020), scoring a node pair by

    .. math::
        \hat{A}_{ij} = \sigma\left(\mathrm{MLP}\left(\mathbf{z}_i \odot \mathbf{z}_j
        \right)\right) \quad \text{or} \quad
        \hat{A}_{ij} = \sigma\left(\mathrm{MLP}\left(\mathbf{z}_i \,\Vert\, \mathbf{z}_j
        \right)\right)

    where the MLP has ReLU hidden layers with dropout and one output unit (a
    :class:`torch_geometric.nn.models.MLP` without normalisation). The Hadamard product is
    symmetric in :math:`i, j`; the concatenation is not, and suits directed links. A drop-in
    decoder for :class:`torch_geometric.nn.models.GAE`,
    :class:`~torch_geometric.nn.models.VGAE` and :class:`~torch_geometric.nn.models.ARGA`.

    Args:
        in_channels (int): Size of each latent node embedding, :math:`F`.
        hidden_channels (int): Size of the hidden layers, :math:`H`.
        num_layers (int, optional): Number of linear layers. (default: :obj:`2`)
        combine (str, optional): How a pair is combined, :obj:`'hadamard'` or
            :obj:`'concat'`. (default: :obj:`'hadamard'`)
        dropout (float, optional): Dropout probability after each hidden layer.
            (default: :obj:`0.0`)

    Shapes:
        - **forward input:** latent :math:`(*, N, F)`, node pairs :math:`(2, E)`
          (row 0 = :math:`i`, row 1 = :math:`j`)
        - **forward output:** scores :math:`(*, E)`
        - **forward_all input:** latent :math:`(*, N, F)`
        - **forward_all output:** dense scores :math:`(*, N, N)`; it runs the MLP on all
          :math:`N^2` pairs, so it holds a :math:`(*, N, N, H)` tensor: use it for small
          graphs and :meth:`forward` on sampled pairs otherwise
    """
    def __init__(self, in_channels: int, hidden_channels: int, num_layers: int = 2,
                 combine: str = 'hadamard', dropout: float = 0.0):
        super().__init__()
        if combine not in COMBINES:
            raise ValueError(f"'combine' is {combine!r}; choose one of {COMBINES}")
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.num_layers = num_layers
        self.combine = combine
        pair_channels = 2 * in_channels if combine == 'concat' else in_channels
        self.mlp = MLP(in_channels=pair_channels, hidden_channels=hidden_channels,
                       out_channels=1, num_layers=num_layers, dropout=dropout, act='relu',
                       norm=None)
        self.reset_parameters()

    def reset_parameters(self):
        self.mlp.reset_parameters()

    def forward(self, z: Tensor, edge_index: Tensor, sigmoid: bool = True) -> Tensor:
        r"""Scores the node pairs :obj:`edge_index`; logits if :obj:`sigmoid=False`."""
        check_feature_size(z, self.in_channels, name='z')
        check_edge_index(edge_index)
        z_i = z.index_select(-2, edge_index[0])  # [*, E, F]
        z_j = z.index_select(-2, edge_index[1])  # [*, E, F]
        value = self.mlp(self._pair(z_i, z_j)).squeeze(-1)  # [*, E]
        return torch.sigmoid(value) if sigmoid else value

    def forward_all(self, z: Tensor, sigmoid: bool = True) -> Tensor:
        r"""Scores every node pair: a dense :math:`(*, N, N)` matrix."""
        check_feature_size(z, self.in_channels, name='z')
        num_nodes = z.size(-2)
        z_i = z.unsqueeze(-2).expand(*z.shape[:-1], num_nodes, z.size(-1))  # [*, N, N, F]
        z_j = z.unsqueeze(-3).expand_as(z_i)  # [*, N, N, F]
        adj = self.mlp(self._pair(z_i, z_j)).squeeze(-1)  # [*, N, N]
        return torch.sigmoid(adj) if sigmoid else adj

    def _pair(self, z_i: Tensor, z_j: Tensor) -> Tensor:
        if self.combine == 'hadamard':
            return z_i * z_j  # [..., F]
        return torch.cat([z_i, z_j], dim=-1)  # [..., 2F]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, {self.hidden_channels}, '
                f'num_layers={self.num_layers}, combine={self.combine!r})')
