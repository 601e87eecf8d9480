r"""A graph layer on molecules with OGB's bond features embedded by a ``BondEncoder`` of its
own: the shared base of :class:`~pyg_ext.ogb.mol_graph_attention_conv.MolGraphAttentionConv`
and :class:`~pyg_ext.ogb.mol_graph_transformer_conv.MolGraphTransformerConv`.

Dimensions: N nodes, E edges, F = ``emb_dim`` features.
"""
import torch
from ogb.graphproppred.mol_encoder import BondEncoder
from torch import Tensor
from torch_geometric.utils import is_sparse


def check_bond_features(edge_attr: Tensor, bond_encoder: BondEncoder,
                        edge_index: Tensor) -> None:
    r"""Raise if ``edge_attr`` is not OGB's integer bond features :math:`(E, 3)`, the input
    that ``ogb``'s :class:`BondEncoder` embeds, one row per column of ``edge_index``."""
    columns = len(bond_encoder.bond_embedding_list)
    if edge_attr.dim() != 2 or edge_attr.size(1) != columns or edge_attr.is_floating_point():
        raise ValueError(
            f"'edge_attr' has shape {list(edge_attr.shape)} and dtype {edge_attr.dtype}; "
            f"expected OGB's integer bond features of shape [E, {columns}] (data.edge_attr "
            f"of an ogbg-mol dataset), which the layer embeds itself")
    if not is_sparse(edge_index) and edge_index.dim() == 2 and \
            edge_attr.size(0) != edge_index.size(-1):
        raise ValueError(
            f"'edge_attr' has shape {list(edge_attr.shape)}, but edge_index has "
            f"{edge_index.size(-1)} edges; pass one row of bond features per edge, shape "
            f"[{edge_index.size(-1)}, {columns}]")


class BondEncodedConv(torch.nn.Module):
    r"""Calls :obj:`conv(x, edge_index, BondEncoder(edge_attr))`: a pyg_ext layer that takes
    edge features of size :math:`F`, given OGB's bond features embedded to that size
    (`"Open Graph Benchmark" <https://arxiv.org/abs/2005.00687>`_). Subclasses build
    :obj:`conv` and give the :obj:`__repr__`.

    Args:
        emb_dim (int): the feature size :math:`F` of nodes and of the bond embedding.
        conv (torch.nn.Module): the layer, called as ``conv(x, edge_index, edge_attr)``.

    Shapes:
        - **input:** node features :math:`(N, F)`, edge indices :math:`(2, E)`,
          OGB's integer bond features :math:`(E, 3)`
        - **output:** node features :math:`(N, F)`
    """
    def __init__(self, emb_dim: int, conv: torch.nn.Module):
        super().__init__()
        self.emb_dim = emb_dim
        self.bond_encoder = BondEncoder(emb_dim)
        self.conv = conv
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for embedding in self.bond_encoder.bond_embedding_list:
            torch.nn.init.xavier_uniform_(embedding.weight)
        self.conv.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        check_bond_features(edge_attr, self.bond_encoder, edge_index)
        edge_embedding = self.bond_encoder(edge_attr)  # [E, F]
        return self.conv(x, edge_index, edge_embedding)  # [N, F]
