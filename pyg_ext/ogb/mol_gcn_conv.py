r"""OGB's GCN convolution for molecules, with bond features (the ogbg-mol baselines).

Dimensions: N nodes, E edges, F = ``emb_dim`` features.
"""
import torch
import torch.nn.functional as F
from ogb.graphproppred.mol_encoder import BondEncoder
from torch import Tensor
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import degree

from pyg_ext.utils.checks import check_edge_index, check_feature_size


class MolGCNConv(MessagePassing):
    r"""The graph convolution from `"Semi-supervised Classification with Graph
    Convolutional Networks" <https://arxiv.org/abs/1609.02907>`_ with bond embeddings, as in
    OGB's molecule baselines (`"Open Graph Benchmark" <https://arxiv.org/abs/2005.00687>`_).
    With :math:`\mathbf{h} = \mathbf{W}\mathbf{x} + \mathbf{b}` and
    :math:`d_i = 1 + \deg(i)` (out-degree plus a self-loop),

    .. math::
        \mathbf{x}^{\prime}_i = \sum_{j \in \mathcal{N}(i)} \frac{1}{\sqrt{d_j d_i}}
        \mathrm{ReLU}\big(\mathbf{h}_j + \mathrm{BondEncoder}(\mathbf{e}_{j,i})\big)
        + \frac{1}{d_i}\mathrm{ReLU}(\mathbf{h}_i + \mathbf{r}),

    where :math:`\mathbf{r}` is a learned root embedding.

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
        self.linear = torch.nn.Linear(emb_dim, emb_dim)
        self.root_emb = torch.nn.Embedding(1, emb_dim)
        self.bond_encoder = BondEncoder(emb_dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.linear.reset_parameters()
        self.root_emb.reset_parameters()
        for embedding in self.bond_encoder.bond_embedding_list:
            torch.nn.init.xavier_uniform_(embedding.weight)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        check_feature_size(x, self.emb_dim)
        check_edge_index(edge_index)
        x = self.linear(x)
        edge_embedding = self.bond_encoder(edge_attr)  # [E, F]
        row, col = edge_index
        deg = degree(row, x.size(0), dtype=x.dtype) + 1  # [N], >= 1
        deg_inv_sqrt = deg.pow(-0.5)
        norm = deg_inv_sqrt[row] * deg_inv_sqrt[col]  # [E]
        out = self.propagate(edge_index, x=x, edge_attr=edge_embedding, norm=norm)
        return out + F.relu(x + self.root_emb.weight) / deg.view(-1, 1)  # [N, F]

    def message(self, x_j: Tensor, edge_attr: Tensor, norm: Tensor) -> Tensor:
        return norm.view(-1, 1) * F.relu(x_j + edge_attr)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.emb_dim})'
