r"""OGB's GIN convolution for molecules, with bond features (the ogbg-mol baselines).

Dimensions: N nodes, E edges, F = ``emb_dim`` features.
"""
import torch
import torch.nn.functional as F
from ogb.graphproppred.mol_encoder import BondEncoder
from torch import Tensor
from torch_geometric.nn import MessagePassing

from pyg_ext.utils.checks import check_edge_index, check_feature_size


class MolGINConv(MessagePassing):
    r"""The graph isomorphism operator from `"How Powerful are Graph Neural Networks?"
    <https://arxiv.org/abs/1810.00826>`_ with bond embeddings added to the messages, as in
    OGB's molecule baselines (`"Open Graph Benchmark" <https://arxiv.org/abs/2005.00687>`_):

    .. math::
        \mathbf{x}^{\prime}_i = \mathrm{MLP}\Big((1 + \epsilon)\,\mathbf{x}_i +
        \sum_{j \in \mathcal{N}(i)} \mathrm{ReLU}\big(\mathbf{x}_j +
        \mathrm{BondEncoder}(\mathbf{e}_{j,i})\big)\Big),

    with :math:`\mathrm{MLP} = \mathrm{Linear}(F, 2F) \to \mathrm{BatchNorm} \to
    \mathrm{ReLU} \to \mathrm{Linear}(2F, F)` and a learnable :math:`\epsilon` (initially 0).

    Args:
        emb_dim (int): the feature size :math:`F` of nodes in and out.

    Shapes:
        - **input:** node features :math:`(N, F)`, edge indices :math:`(2, E)`,
          OGB's integer bond features :math:`(E, 3)`
        - **output:** node features :math:`(N, F)`
    """
    def __init__(self, emb_dim: int):
        super().__init__(aggr='add')
        self.emb_dim = emb_dim
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(emb_dim, 2 * emb_dim), torch.nn.BatchNorm1d(2 * emb_dim),
            torch.nn.ReLU(), torch.nn.Linear(2 * emb_dim, emb_dim))
        self.eps = torch.nn.Parameter(torch.empty(1))
        self.bond_encoder = BondEncoder(emb_dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for module in self.mlp:
            if hasattr(module, 'reset_parameters'):
                module.reset_parameters()
        torch.nn.init.zeros_(self.eps)
        for embedding in self.bond_encoder.bond_embedding_list:
            torch.nn.init.xavier_uniform_(embedding.weight)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        check_feature_size(x, self.emb_dim)
        check_edge_index(edge_index)
        edge_embedding = self.bond_encoder(edge_attr)  # [E, F]
        out = self.propagate(edge_index, x=x, edge_attr=edge_embedding)
        return self.mlp((1 + self.eps) * x + out)

    def message(self, x_j: Tensor, edge_attr: Tensor) -> Tensor:
        return F.relu(x_j + edge_attr)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.emb_dim})'
