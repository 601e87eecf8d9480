r"""pyg_ext's graph attention for molecules: OGB's bond features embedded and attended over.

Dimensions: N nodes, E edges, F = ``emb_dim`` features, H heads, D = F / H channels per head.
"""
from pyg_ext.nn.conv.graph_attention_conv import GraphAttentionConv
from pyg_ext.ogb.bond_encoded_conv import BondEncodedConv


class MolGraphAttentionConv(BondEncodedConv):
    r""":class:`~pyg_ext.nn.conv.graph_attention_conv.GraphAttentionConv` on molecules, with
    OGB's bond features embedded by a :class:`BondEncoder` of its own (`"Open Graph
    Benchmark" <https://arxiv.org/abs/2005.00687>`_) and given to the attention as edge
    features. With :math:`\mathbf{e}_{ji} = \mathrm{BondEncoder}(\mathrm{bond}_{ji})
    \in \mathbb{R}^F`,

    .. math::
        \mathbf{x}^{\prime}_i = \mathop{\Big\Vert}_{h=1}^{H}
        \sum_{j \in \mathcal{N}(i) \cup \{i\}} \alpha^h_{ij} \big(\mathbf{W}^K_h
        \mathbf{x}_j + [\mathbf{W}^E_h \mathbf{e}_{ji}]\big) + \mathbf{b},
        \qquad \alpha^h_{ij} = \mathrm{softmax}_j\big(\mathrm{score}_h(\mathbf{x}_i,
        \mathbf{x}_j, \mathbf{e}_{ji})\big),

    :math:`H` heads of :math:`D = F / H` channels concatenated back to :math:`F`. The bond
    embedding enters every score (for :obj:`'additive'` as one scalar per head inside the
    LeakyReLU, as in GATConv; for the dot-product scores added to the keys) and, for the
    dot-product scores, the messages (the bracketed term, as in TransformerConv). Self-loops
    get the mean embedding of the atom's bonds. The layer adds only the bond encoding: its
    output is :obj:`conv(x, edge_index, bond_encoder(edge_attr))`. In
    :class:`~pyg_ext.ogb.mol_gnn.MolGNN` each layer is followed by batch norm, ReLU and
    dropout, as OGB's GIN and GCN layers are.

    Args:
        emb_dim (int): the feature size :math:`F` of nodes in and out, a multiple of
            ``heads``.
        score (str, optional): the attention score, :obj:`'additive'` (GAT),
            :obj:`'scaled_dot'`, :obj:`'dot'` or :obj:`'bilinear'` (see
            :class:`GraphAttentionConv`). (default: :obj:`'additive'`)
        heads (int, optional): number of heads :math:`H`. (default: ``4``)

    Shapes:
        - **input:** node features :math:`(N, F)`, edge indices :math:`(2, E)`,
          OGB's integer bond features :math:`(E, 3)`
        - **output:** node features :math:`(N, F)`
    """
    def __init__(self, emb_dim: int, score: str = 'additive', heads: int = 4):
        if heads < 1 or emb_dim % heads:
            raise ValueError(f"emb_dim={emb_dim} is not divisible by heads={heads}; the heads "
                             f"are concatenated back to emb_dim, so choose emb_dim (--hidden) "
                             f"as a multiple of heads")
        super().__init__(emb_dim, GraphAttentionConv(emb_dim, emb_dim // heads, heads,
                                                     score=score, edge_dim=emb_dim))
        self.score, self.heads = score, heads

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.emb_dim}, score={self.score!r}, '
                f'heads={self.heads})')
