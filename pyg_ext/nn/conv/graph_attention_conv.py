r"""Neighbour attention with any shared attention score (GAT, graph transformer, ...).

Dimensions: B - batch, T - time, N - nodes (N_src / N_dst for bipartite inputs), E - edges,
F - input features (F_src / F_dst), F_E - edge features, H - heads, D - out_channels per
head, C - channels of a prepared query / key (the score's node-level output: D, a hidden
size, or none), ``*`` - leading dimensions (e.g. [B, T]).
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric import is_compiling
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.nn.inits import zeros
from torch_geometric.typing import Adj, OptTensor
from torch_geometric.utils import softmax

from pyg_ext.blocks.additive_score import AdditiveScore
from pyg_ext.blocks.attention_score import AttentionScore
from pyg_ext.blocks.multi_head_attention import SCORES
from pyg_ext.utils.checks import check_index_range, check_node_inputs
from pyg_ext.utils.edge_list import add_self_loops_masked, check_edge_attr, to_edge_list

NodeInput = Union[Tensor, Tuple[Tensor, Tensor]]


class GraphAttentionConv(MessagePassing):
    r"""Graph attention whose score is one of the shared scores of :mod:`pyg_ext.blocks`:
    the additive score gives GAT (`"Graph Attention Networks"
    <https://arxiv.org/abs/1710.10903>`_, Velickovic et al. 2018), the scaled dot product
    the graph transformer of `"Masked Label Prediction"
    <https://arxiv.org/abs/2009.03509>`_ (Shi et al. 2021), and the dot and bilinear scores give
    Luong et al.'s forms on graphs. Per head :math:`h`,

    .. math::
        \alpha^h_{ij} = \mathrm{softmax}_{j \in \mathcal{N}(i) \cup \{i\}} \Big(
        \mathrm{pairwise}_h\big(\mathrm{prep}_Q(\mathbf{W}^Q_h \mathbf{x}_i),\,
        \mathrm{prep}_K(\mathbf{W}^K_h \mathbf{x}_j) + \mathbf{W}^E_h \mathbf{e}_{ji}\big)\Big)

        \mathbf{x}'_i = \mathop{\Big\Vert}_{h=1}^{H} \sum_{j \in \mathcal{N}(i) \cup \{i\}}
        \alpha^h_{ij} \big(\mathbf{W}^V_h \mathbf{x}_j + \mathbf{W}^E_h \mathbf{e}_{ji}\big)
        + \mathbf{W}^S \mathbf{x}_i + \mathbf{b}

    The score's maths lives in the score: its
    :meth:`~pyg_ext.blocks.AttentionScore.prepare_query` and
    :meth:`~pyg_ext.blocks.AttentionScore.prepare_key` run once per node, its
    :meth:`~pyg_ext.blocks.AttentionScore.pairwise` once per edge (in :meth:`edge_update`).
    The edge features :math:`\mathbf{e}_{ji}` of the edge :math:`j \to i` are embedded by
    :obj:`lin_edge` into the space of the *prepared* keys and added there: for the
    dot-product scores (identity key step) that is the key itself, as in
    :class:`~torch_geometric.nn.conv.TransformerConv`; for the rank-one additive score it
    is one scalar per head inside the LeakyReLU, as in
    :class:`~torch_geometric.nn.conv.GATConv` (whose :obj:`lin_edge` then :obj:`att_edge`
    is this one linear map :math:`F_E \to H`). The edge term enters the messages only with
    ``edge_value`` and :math:`\mathbf{W}^S \mathbf{x}_i` only with ``root_weight``
    (optionally gated by ``beta``, :math:`\beta_i\mathbf{W}^S\mathbf{x}_i + (1 - \beta_i)
    \mathbf{x}'_i` as in TransformerConv). With ``concat=False`` the heads are averaged.

    Self-loops (``add_self_loops``) are added for nodes :math:`0, \ldots, \min(N_{src},
    N_{dst}) - 1`, with attributes from ``fill_value``; loops already in the graph get zero
    attention (as if GATConv removed them, but with static shapes, so the layer compiles).
    :math:`\mathbf{W}^Q` and :math:`\mathbf{W}^K` are one matrix with ``share_weights``
    (GATConv's :obj:`lin`), and values are the keys unless ``value_weight``. So
    ``GraphAttentionConv(F, D, H, share_weights=True)`` equals ``GATConv(F, D, H)``
    (copy :obj:`lin` to :obj:`lin_key`, :obj:`att_dst`/:obj:`att_src` to the score's
    :obj:`att_query`/:obj:`att_key`), and ``score='scaled_dot', add_self_loops=False,
    value_weight=True, root_weight=True, proj_bias=True, bias=False`` equals
    ``TransformerConv(F, D, H)`` (same names).

    The graph may be an :obj:`edge_index`, an :class:`~torch_geometric.EdgeIndex` or a
    transposed sparse adjacency :obj:`adj_t[j, i]` (torch.sparse, or SparseTensor where
    installed) whose values are the edge features (a hybrid :math:`[N, N, F_E]` tensor) or
    are ignored when ``edge_dim`` is :obj:`None`. :meth:`attention_weights` returns
    :math:`\alpha`.

    Args:
        in_channels (int or tuple): Input size :math:`F`, or :math:`(F_{src}, F_{dst})`.
        out_channels (int): Channels per head :math:`D`.
        heads (int, optional): Number of heads :math:`H`. (default: :obj:`1`)
        score (str or AttentionScore, optional): :obj:`'additive'` (the rank-one GAT form,
            :math:`\mathrm{LeakyReLU}(\mathbf{a}_Q^\top\mathbf{q} + \mathbf{a}_K^\top
            \mathbf{k})`), :obj:`'scaled_dot'`, :obj:`'dot'`, :obj:`'bilinear'`, or a score
            built with :obj:`(out_channels, heads)`, e.g. the full
            :class:`~pyg_ext.blocks.AdditiveScore`. (default: :obj:`'additive'`)
        concat (bool, optional): Concatenate the heads, else average them.
            (default: :obj:`True`)
        negative_slope (float, optional): LeakyReLU slope of :obj:`'additive'`.
            (default: :obj:`0.2`)
        dropout (float, optional): Dropout on :math:`\alpha`. (default: :obj:`0.0`)
        add_self_loops (bool, optional): Add self-loops. (default: :obj:`True`)
        edge_dim (int, optional): Edge feature size :math:`F_E`. (default: :obj:`None`)
        bias (bool, optional): Learn the output bias :math:`\mathbf{b}`.
            (default: :obj:`True`)
        root_weight (bool, optional): Add :math:`\mathbf{W}^S \mathbf{x}_i`
            (:obj:`lin_skip`; GATConv's ``residual``). (default: :obj:`False`)
        share_weights (bool, optional): One matrix for queries and keys (needs
            :math:`F_{src} = F_{dst}`). (default: :obj:`False`)
        value_weight (bool, optional): Own value matrix :obj:`lin_value`, else values are
            the keys :math:`\mathbf{W}^K\mathbf{x}_j`. (default: :obj:`False`)
        proj_bias (bool, optional): Biases in :obj:`lin_query`, :obj:`lin_key`,
            :obj:`lin_value`, :obj:`lin_skip`. (default: :obj:`False`)
        edge_value (bool, optional): Add the edge embedding to the messages; needs prepared
            keys of :math:`D` channels. (default: :obj:`True` for the dot-product scores
            with ``edge_dim``, else :obj:`False`)
        beta (bool, optional): Gate the root weight (needs ``root_weight``).
            (default: :obj:`False`)
        fill_value (float or torch.Tensor or str, optional): Attributes of the added
            self-loops: a value, or :obj:`'mean'`, :obj:`'add'`, :obj:`'max'`, :obj:`'min'`
            of the node's incoming edges. (default: :obj:`'mean'`)
        **kwargs (optional): Arguments of :class:`~torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input:** node features :math:`(*, N, F)` or :math:`((*, N_{src}, F_{src}),
          (*, N_{dst}, F_{dst}))`, e.g. :math:`(N, F)` or :math:`(B, T, N, F)`; edge indices
          :math:`(2, E)` or sparse :math:`(N_{dst}, N_{src}[, F_E])`; edge features
          :math:`(E, F_E)` *(optional)*
        - **output:** :math:`(*, N_{dst}, H D)`, or :math:`(*, N_{dst}, D)` with
          ``concat=False``
    """
    def __init__(self, in_channels: Union[int, Tuple[int, int]], out_channels: int,
                 heads: int = 1, score: Union[str, AttentionScore] = 'additive',
                 concat: bool = True, negative_slope: float = 0.2, dropout: float = 0.0,
                 add_self_loops: bool = True, edge_dim: Optional[int] = None, bias: bool = True,
                 root_weight: bool = False, share_weights: bool = False,
                 value_weight: bool = False, proj_bias: bool = False,
                 edge_value: Optional[bool] = None, beta: bool = False,
                 fill_value: Union[float, Tensor, str] = 'mean', **kwargs):
        kwargs.setdefault('aggr', 'add')
        kwargs.setdefault('node_dim', -2)
        super().__init__(**kwargs)
        src, dst = (in_channels, in_channels) if isinstance(in_channels, int) else in_channels
        if share_weights and src != dst:
            raise ValueError(f"share_weights=True uses one matrix for queries and keys, but "
                             f"in_channels={in_channels}; use share_weights=False")
        if beta and not root_weight:
            raise ValueError("beta gates the root weight; set root_weight=True with beta=True")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
        if isinstance(fill_value, str) and fill_value not in ('mean', 'add', 'max', 'min'):
            raise ValueError(f"fill_value='{fill_value}' is unknown; use a number, a tensor, "
                             f"'mean', 'add', 'max' or 'min'")
        self.in_channels, self.out_channels, self.heads = in_channels, out_channels, heads
        self.concat, self.dropout, self.add_self_loops = concat, dropout, add_self_loops
        self.edge_dim, self.fill_value = edge_dim, fill_value
        self.score = _resolve_score(score, out_channels, heads, negative_slope)
        self.score_name = score if isinstance(score, str) else None
        self._query_channels = _prepared_channels(self.score.prepare_query, heads, out_channels)
        self._key_channels = _prepared_channels(self.score.prepare_key, heads, out_channels)
        if edge_value is None:
            edge_value = edge_dim is not None and self.score.is_dot_product
        if edge_value and (edge_dim is None or self._key_channels != out_channels):
            raise ValueError("edge_value=True adds the edge embedding (in the prepared-key "
                             "space) to the values: it needs edge_dim and a score whose "
                             "prepared keys have out_channels channels ('scaled_dot', 'dot', "
                             "'bilinear'); use edge_value=False")
        self.edge_value = edge_value

        HD, out = heads * out_channels, heads * out_channels if concat else out_channels
        self.lin_key = nn.Linear(src, HD, bias=proj_bias)
        self.lin_query = None if share_weights else nn.Linear(dst, HD, bias=proj_bias)
        self.lin_value = nn.Linear(src, HD, bias=proj_bias) if value_weight else None
        self.lin_edge = None if edge_dim is None else nn.Linear(
            edge_dim, heads * max(self._key_channels, 1), bias=False)
        self.lin_skip = nn.Linear(dst, out, bias=proj_bias) if root_weight else None
        self.lin_beta = nn.Linear(3 * out, 1, bias=False) if beta else None
        if bias:
            self.bias = nn.Parameter(torch.empty(out))
        else:
            self.register_parameter('bias', None)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters: Xavier-uniform weights (as GATConv), zero
        biases, and the score's own parameters."""
        super().reset_parameters()
        for lin in (self.lin_key, self.lin_query, self.lin_value, self.lin_edge,
                    self.lin_skip, self.lin_beta):
            if lin is not None:
                nn.init.xavier_uniform_(lin.weight)
                if lin.bias is not None:
                    nn.init.zeros_(lin.bias)
        self.score.reset_parameters()
        zeros(self.bias)

    def forward(self, x: NodeInput, edge_index: Adj, edge_attr: OptTensor = None) -> Tensor:
        return self._attend(x, edge_index, edge_attr)[0]

    def attention_weights(self, x: NodeInput, edge_index: Adj,
                          edge_attr: OptTensor = None) -> Tuple[Tensor, Tensor]:
        r"""Returns :obj:`(edge_index, alpha)` of :meth:`forward` with the same inputs: the
        edges attended over (with the added self-loops last; loops already in the graph
        keep their place and get :math:`\alpha = 0`) and :math:`\alpha` :math:`[*, E, H]`
        (after dropout in training)."""
        _, edge_index, alpha = self._attend(x, edge_index, edge_attr)
        return edge_index, alpha

    def _attend(self, x: NodeInput, adj: Adj, edge_attr: OptTensor
                ) -> Tuple[Tensor, Tensor, Tensor]:
        x_src, x_dst = (x, x) if isinstance(x, Tensor) else x
        src, dst = ((self.in_channels, self.in_channels) if isinstance(self.in_channels, int)
                    else self.in_channels)
        check_node_inputs(x_src, x_dst, src, dst)
        size = (x_src.size(-2), x_dst.size(-2))
        edge_index, edge_attr = to_edge_list(adj, edge_attr, *size,
                                             keep_values=self.edge_dim is not None)
        check_edge_attr(edge_attr, self.edge_dim)
        if is_compiling() or torch.jit.is_scripting():
            return self._propagate(x_src, x_dst, edge_index, edge_attr, size)
        try:
            return self._propagate(x_src, x_dst, edge_index, edge_attr, size)
        except (IndexError, RuntimeError) as e:
            check_index_range(edge_index, *size, e)
            raise

    def _propagate(self, x_src: Tensor, x_dst: Tensor, edge_index: Tensor, edge_attr: OptTensor,
                   size: Tuple[int, int]) -> Tuple[Tensor, Tensor, Tensor]:
        H, D = self.heads, self.out_channels
        k = self.lin_key(x_src)  # [*, N_src, H*D]
        if self.lin_query is not None:
            q = self.lin_query(x_dst)  # [*, N_dst, H*D]
        else:
            q = k if x_dst is x_src else self.lin_key(x_dst)  # [*, N_dst, H*D]
        v = k if self.lin_value is None else self.lin_value(x_src)  # [*, N_src, H*D]
        q = self.score.prepare_query(q.unflatten(-1, (H, D)))  # [*, N_dst, H(, C)]
        k = self.score.prepare_key(k.unflatten(-1, (H, D)))  # [*, N_src, H(, C)]
        q = q.flatten(-2) if self._query_channels else q  # [*, N_dst, H*C] or [*, N_dst, H]
        k = k.flatten(-2) if self._key_channels else k  # [*, N_src, H*C] or [*, N_src, H]

        loop_mask: OptTensor = None
        if self.add_self_loops:
            edge_index, edge_attr, loop_mask = add_self_loops_masked(edge_index, edge_attr, size,
                                                                     self.fill_value)
        edge_emb: OptTensor = None
        if self.lin_edge is not None and edge_attr is not None:
            edge_attr = edge_attr.view(-1, 1) if edge_attr.dim() == 1 else edge_attr
            edge_emb = self.lin_edge(edge_attr.to(x_src.dtype))  # [E, H*C] or [E, H]
        alpha = self.edge_updater(edge_index, q=q, k=k, edge_emb=edge_emb,
                                  loop_mask=loop_mask, size=size)  # [*, E, H]
        out = self.propagate(edge_index, v=v, alpha=alpha, size=size,
                             edge_emb=edge_emb if self.edge_value else None)  # [*, N_dst, H*D]
        if not self.concat:
            out = out.unflatten(-1, (H, D)).mean(dim=-2)  # [*, N_dst, D]
        if self.lin_skip is not None:
            x_r = self.lin_skip(x_dst)  # [*, N_dst, out]
            if self.lin_beta is not None:
                beta = self.lin_beta(torch.cat([out, x_r, out - x_r], dim=-1)).sigmoid()
                out = beta * x_r + (1 - beta) * out
            else:
                out = out + x_r
        if self.bias is not None:
            out = out + self.bias
        return out, edge_index, alpha

    def edge_update(self, q_i: Tensor, k_j: Tensor, edge_emb: OptTensor, loop_mask: OptTensor,
                    index: Tensor, ptr: OptTensor, dim_size: Optional[int]) -> Tensor:
        if edge_emb is not None:
            k_j = k_j + edge_emb  # [*, E, H*C]
        if self._query_channels:
            q_i = q_i.unflatten(-1, (self.heads, self._query_channels))  # [*, E, H, C]
        if self._key_channels:
            k_j = k_j.unflatten(-1, (self.heads, self._key_channels))  # [*, E, H, C]
        score = self.score.pairwise(q_i, k_j)  # [*, E, H]
        if loop_mask is not None:  # the graph's own self-loops: replaced by the added ones
            # An additive -inf, not masked_fill: autograd keeps nothing for an addition, but
            # masked_fill would keep the [E] mask until backward. Same gradient: softmax gives
            # these edges alpha = 0 (each has its added loop), hence zero gradient.
            loop_bias = torch.zeros_like(loop_mask, dtype=score.dtype)  # [E]
            loop_bias.masked_fill_(loop_mask, float('-inf'))
            score = score + loop_bias.unsqueeze(-1)  # [*, E, H]
        alpha = softmax(score, index, ptr, dim_size, dim=-2)  # [*, E, H]
        return F.dropout(alpha, p=self.dropout, training=self.training)

    def message(self, v_j: Tensor, alpha: Tensor, edge_emb: OptTensor) -> Tensor:
        if edge_emb is not None:
            v_j = v_j + edge_emb  # [*, E, H*D]
        out = v_j.unflatten(-1, (self.heads, self.out_channels)) * alpha.unsqueeze(-1)
        return out.flatten(-2)  # [*, E, H*D]

    def __repr__(self) -> str:
        score = f"'{self.score_name}'" if self.score_name is not None else repr(self.score)
        extra = ', concat=False' if not self.concat else ''
        extra += f', edge_dim={self.edge_dim}' if self.edge_dim is not None else ''
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'heads={self.heads}, score={score}{extra})')


def _resolve_score(score: Union[str, AttentionScore], channels: int, heads: int,
                   negative_slope: float) -> AttentionScore:
    if isinstance(score, str):
        if score == 'additive':  # GAT's rank-one form
            return AdditiveScore(channels, heads, act='leaky_relu',
                                 negative_slope=negative_slope, rank_one=True)
        if score not in SCORES:
            raise ValueError(f"Unknown score '{score}'; use one of {list(SCORES)} or pass an "
                             f"AttentionScore module")
        return SCORES[score](channels, heads)
    if not isinstance(score, AttentionScore):
        raise ValueError(f"score must be a name or an AttentionScore, got {type(score).__name__}")
    if score.channels != channels or score.heads != heads:
        raise ValueError(f"The score was built with channels={score.channels}, heads="
                         f"{score.heads}; build it with channels={channels} (out_channels) and "
                         f"heads={heads}")
    return score


def _prepared_channels(prepare, heads: int, channels: int) -> int:
    # The score's node-level output for one node [1, H, D]: [1, H] -> 0, [1, H, C] -> C.
    with torch.no_grad():
        out = prepare(torch.zeros(1, heads, channels))
    return out.size(-1) if out.dim() == 3 else 0
