r"""pyg_ext's graph transformer layer for molecules, with OGB's bond features as edge features.

Dimensions: N nodes, E edges, F = ``emb_dim`` features, H heads.
"""
from pyg_ext.nn.conv.graph_transformer_conv import GraphTransformerConv
from pyg_ext.ogb.bond_encoded_conv import BondEncodedConv


class MolGraphTransformerConv(BondEncodedConv):
    r"""A whole transformer layer on molecules:
    :class:`~pyg_ext.nn.conv.graph_transformer_conv.GraphTransformerConv` (Dwivedi and
    Bresson, `"A Generalization of Transformer Networks to Graphs"
    <https://arxiv.org/abs/2012.09699>`_) with OGB's bond features embedded by a
    :class:`BondEncoder` of its own (`"Open Graph Benchmark"
    <https://arxiv.org/abs/2005.00687>`_) as the edge features of its attention. With
    :math:`\mathbf{e} = \mathrm{BondEncoder}(\mathrm{bonds}) \in \mathbb{R}^{E \times F}`,
    pre-norm:

    .. math::
        \mathbf{x} \leftarrow \mathbf{x} + \mathbf{W}^O\,\mathrm{Attn}_{\mathcal{G}}
        \big(\mathrm{LN}_1(\mathbf{x}), \mathbf{e}\big), \qquad
        \mathbf{x}^{\prime} = \mathbf{x} + \mathrm{FFN}\big(\mathrm{LN}_2(\mathbf{x})\big),

    where :math:`\mathrm{Attn}_{\mathcal{G}}` is scaled dot-product attention over each
    atom's bonded neighbours and itself, the bond embedding added to keys and values, and
    the FFN has :math:`4F` hidden units (GELU). The layer adds only the bond encoding: its
    output is :obj:`conv(x, edge_index, bond_encoder(edge_attr))`.

    **In** :class:`~pyg_ext.ogb.mol_gnn.MolGNN` (``--model graph-transformer``) each layer
    is followed, as OGB's GIN and GCN layers are, by batch norm, ReLU (not after the last)
    and dropout. The layer is pre-norm and without dropout of its own, so that these act
    once per layer: the residual sums stay inside each layer, MolGNN's batch norm is the
    normalisation of the layer's output that a pre-norm stack needs (in place of a final
    layer norm), and ``--dropout`` is the model's only dropout, as for the baselines. The
    comparison with ``gin`` then changes the layer alone (same atom encoder, pooling, head
    and hyperparameters); it is not a pure transformer stack, whose residual stream would
    pass from layer to layer without the ReLU.

    Args:
        emb_dim (int): the feature size :math:`F` of nodes in and out, a multiple of
            ``heads``.
        heads (int, optional): number of attention heads :math:`H`. (default: ``4``)

    Shapes:
        - **input:** node features :math:`(N, F)`, edge indices :math:`(2, E)`,
          OGB's integer bond features :math:`(E, 3)`
        - **output:** node features :math:`(N, F)`
    """
    def __init__(self, emb_dim: int, heads: int = 4):
        super().__init__(emb_dim, GraphTransformerConv(emb_dim, heads, edge_dim=emb_dim))
        self.heads = heads

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.emb_dim}, heads={self.heads})'
