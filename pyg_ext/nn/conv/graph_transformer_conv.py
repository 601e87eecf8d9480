r"""A whole transformer layer whose attention is message passing over the graph.

Dimensions: B - batch, T - time, N - nodes, E - edges, F - features, F_E - edge features,
P - positional-encoding features, H - heads, G - graphs in a batch, k - global tokens per
graph, d - expander degree, ``*`` - leading dimensions (e.g. [B, T]).
"""
import copy
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn.inits import reset
from torch_geometric.typing import Adj, OptTensor

from pyg_ext.blocks.attention_score import AttentionScore
from pyg_ext.blocks.ffn import FFN
from pyg_ext.blocks.residual import Residual
from pyg_ext.nn.conv.graph_attention_conv import GraphAttentionConv
from pyg_ext.utils.checks import check_edge_index, check_feature_size
from pyg_ext.utils.edge_list import to_edge_list
from pyg_ext.utils.expander_edges import expander_edges
from pyg_ext.utils.global_token_edges import global_token_edges


class GraphTransformerConv(nn.Module):
    r"""A transformer layer (`"Attention Is All You Need" <https://arxiv.org/abs/1706.03762>`_)
    on a graph: the attention is a :class:`GraphAttentionConv` over each node's in-neighbours
    and itself (as in `"A Generalization of Transformer Networks to Graphs"
    <https://arxiv.org/abs/2012.09699>`_, Dwivedi and Bresson 2021), followed by the shared
    :class:`~pyg_ext.blocks.FFN`, with layer norms and residual sums as in
    :class:`~pyg_ext.blocks.TransformerLayer`. Pre-norm (``norm_first=True``):

    .. math::
        \mathbf{x} \leftarrow \mathbf{x} + \mathbf{W}^O\,\mathrm{Attn}_{\mathcal{G}}
        \big(\mathrm{LN}_1(\mathbf{x})\big), \qquad
        \mathbf{x} \leftarrow \mathbf{x} + \mathrm{FFN}\big(\mathrm{LN}_2(\mathbf{x})\big)

    (post-norm: :math:`\mathbf{x} \leftarrow \mathrm{LN}_1(\mathbf{x} + \mathbf{W}^O
    \mathrm{Attn}_{\mathcal{G}}(\mathbf{x}))`, :math:`\mathbf{x} \leftarrow \mathrm{LN}_2(
    \mathbf{x} + \mathrm{FFN}(\mathbf{x}))`), dropout on both branches. The FFN sublayer,
    :obj:`ffn_block`, is a :class:`~pyg_ext.blocks.Residual` (pre-norm:
    ``Residual(Sequential(norm2, ffn))``; post-norm: ``Sequential(Residual(ffn), norm2)``;
    :obj:`ffn` and :obj:`norm2` name its parts). Without extras the layer equals
    :class:`~pyg_ext.blocks.TransformerLayer` over the nodes with the mask
    :math:`\mathbf{A}^\top + \mathbf{I}` (:obj:`attn.lin_query/lin_key/lin_value` are the
    blocks of :obj:`attn.in_proj`).

    The long-range patterns of sequence transformers, carried to graphs:

    * **global tokens** (``num_global = k``): :math:`k` learned tokens per graph
      :math:`\boldsymbol{\tau}_g` first read the whole graph, :math:`\mathbf{t}_g =
      \mathrm{Attn}(\boldsymbol{\tau}_g \leftarrow \{\mathbf{h}_j\}_{j \in \text{graph}})`
      (:obj:`global_attn`, learned queries as Set Transformer's pooling), and every node then
      attends to :math:`\mathbf{t}_1, \ldots, \mathbf{t}_k` along with its neighbours, as
      BigBird's global tokens and Exphormer's virtual nodes: any two nodes of a graph
      exchange information within one layer.
    * **expander edges** (``expander_degree = d``): the edges of a random :math:`d`-regular
      expander (:func:`~pyg_ext.utils.expander_edges.expander_edges`, Exphormer, Shirzad et
      al. 2023) join the graph's. For one graph they are built once, from
      ``expander_seed``, and cached; for batches of graphs precompute them per graph with
      :class:`~pyg_ext.utils.add_expander_edges.AddExpanderEdges` and pass
      :obj:`expander_edge_index`.

    With ``edge_dim`` the expander and token edges get learned edge features
    (:obj:`expander_attr`, :obj:`global_attr`), Exphormer's edge-type embeddings.

    **Positional encodings** (``pe_dim = P``): the :obj:`pe` input, e.g.
    :obj:`data.laplacian_eigenvector_pe` of
    :class:`~torch_geometric.transforms.AddLaplacianEigenvectorPE` (:math:`P = k`) or
    :obj:`data.random_walk_pe` of :class:`~torch_geometric.transforms.AddRandomWalkPE`
    (:math:`P` = walk length), is projected by :obj:`pe_proj` and added,
    :math:`\mathbf{x} \leftarrow \mathbf{x} + \mathbf{W}^P \mathbf{p}`, before the layer;
    give it to the first layer of a stack only (it then flows on the residual stream).
    Laplacian eigenvectors have arbitrary signs: flip them at random while training.

    Args:
        channels (int): Size of each feature vector :math:`F`.
        heads (int): Number of heads :math:`H`, dividing :math:`F`.
        score (str or AttentionScore, optional): The attention score (see
            :class:`GraphAttentionConv`); a module is built with
            :obj:`(channels // heads, heads)`. (default: :obj:`'scaled_dot'`)
        ffn_channels (int, optional): FFN hidden size. (default: :obj:`4 * channels`)
        dropout (float, optional): Dropout on the attention weights, the FFN hidden layer and
            both branches. (default: :obj:`0.0`)
        norm_first (bool, optional): Pre-norm, else post-norm. (default: :obj:`True`)
        edge_dim (int, optional): Edge feature size :math:`F_E`. (default: :obj:`None`)
        act (str or torch.nn.Module, optional): FFN activation. (default: :obj:`'gelu'`)
        pe_dim (int, optional): Positional-encoding size :math:`P`. (default: :obj:`None`)
        num_global (int, optional): Global tokens per graph :math:`k`. (default: :obj:`0`)
        expander_degree (int, optional): Even expander degree :math:`d`, or :obj:`0`.
            (default: :obj:`0`)
        expander_seed (int, optional): Seed of the cached expander. (default: :obj:`0`)
        bias (bool, optional): Biases in projections and FFN. (default: :obj:`True`)
        layer_norm_eps (float, optional): :math:`\epsilon` of the layer norms.
            (default: :obj:`1e-5`)

    Shapes:
        - **input:** node features :math:`(*, N, F)`, e.g. :math:`(N, F)` or
          :math:`(B, T, N, F)`; edge indices :math:`(2, E)` or sparse :math:`(N, N[, F_E])`;
          edge features :math:`(E, F_E)` *(optional)*; :obj:`pe` :math:`(N, P)`;
          :obj:`batch` :math:`(N)` and :obj:`num_graphs` :math:`G` (with global tokens;
          without :obj:`num_graphs` it is read from :obj:`batch`, a host sync);
          :obj:`expander_edge_index` :math:`(2, N d)`
        - **output:** node features :math:`(*, N, F)`
    """
    def __init__(self, channels: int, heads: int, score: Union[str, AttentionScore] = 'scaled_dot',
                 ffn_channels: Optional[int] = None, dropout: float = 0.0,
                 norm_first: bool = True, edge_dim: Optional[int] = None,
                 act: Union[str, nn.Module] = 'gelu', pe_dim: Optional[int] = None,
                 num_global: int = 0, expander_degree: int = 0, expander_seed: int = 0,
                 bias: bool = True, layer_norm_eps: float = 1e-5):
        super().__init__()
        if heads < 1 or channels % heads:
            raise ValueError(f"channels={channels} must be divisible by heads={heads}; "
                             f"choose channels as a multiple of heads")
        if num_global < 0:
            raise ValueError(f"num_global={num_global}; use 0 (no global tokens) or more")
        if expander_degree:
            expander_edges(2, expander_degree)  # checks the degree
        self.channels, self.heads = channels, heads
        self.ffn_channels = ffn_channels or 4 * channels
        self.dropout, self.norm_first = dropout, norm_first
        self.edge_dim, self.pe_dim = edge_dim, pe_dim
        self.num_global, self.expander_degree = num_global, expander_degree
        self.expander_seed = expander_seed

        D = channels // heads
        self.attn = GraphAttentionConv(channels, D, heads, score=score, dropout=dropout,
                                       edge_dim=edge_dim, bias=False, value_weight=True,
                                       proj_bias=bias)
        self.out_proj = nn.Linear(channels, channels, bias=bias)
        ffn = FFN(channels, self.ffn_channels, channels, act=act, dropout=dropout, bias=bias)
        self.norm1 = nn.LayerNorm(channels, eps=layer_norm_eps)
        norm2 = nn.LayerNorm(channels, eps=layer_norm_eps)
        self.ffn_block = (Residual(nn.Sequential(norm2, ffn), dropout=dropout) if norm_first
                          else nn.Sequential(Residual(ffn, dropout=dropout), norm2))
        self.pe_proj = nn.Linear(pe_dim, channels, bias=bias) if pe_dim else None
        self.global_tokens = self.global_attn = None
        if num_global:
            self.global_tokens = nn.Parameter(torch.empty(num_global, channels))  # [k, F]
            self.global_attn = GraphAttentionConv(
                channels, D, heads, score=copy.deepcopy(score), dropout=dropout,
                add_self_loops=False, bias=False, value_weight=True, proj_bias=bias)
        with_attr = edge_dim is not None
        self.expander_attr = nn.Parameter(torch.empty(edge_dim)) if with_attr and \
            expander_degree else None  # [F_E]
        self.global_attr = nn.Parameter(torch.empty(edge_dim)) if with_attr and \
            num_global else None  # [F_E]
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters and clears the cached expander and token edges."""
        for module in (self.attn, self.out_proj, self.ffn_block, self.norm1, self.pe_proj,
                       self.global_attn):
            if module is not None:
                reset(module)
        if self.out_proj.bias is not None:
            nn.init.zeros_(self.out_proj.bias)
        for param in (self.global_tokens, self.expander_attr, self.global_attr):
            if param is not None:
                nn.init.normal_(param, std=0.02)
        self._expander: Tuple[int, OptTensor] = (-1, None)  # (N, [2, N d])
        self._tokens: Tuple[int, OptTensor, OptTensor] = (-1, None, None)  # (N, gather, spread)

    def forward(self, x: Tensor, edge_index: Adj, edge_attr: OptTensor = None,
                pe: OptTensor = None, batch: OptTensor = None, num_graphs: Optional[int] = None,
                expander_edge_index: OptTensor = None) -> Tensor:
        if x.dim() < 2:
            raise ValueError(f"'x' has shape {list(x.shape)}; expected [N, F] or [*, N, F] "
                             f"(e.g. [B, T, N, F])")
        check_feature_size(x, self.channels)
        N = x.size(-2)
        if (pe is None) != (self.pe_proj is None):
            raise ValueError(f"pe_dim={self.pe_dim} but pe was {'not ' if pe is None else ''}"
                             f"given; pass pe of shape [N, pe_dim] (e.g. data.random_walk_pe) "
                             f"with pe_dim set, or neither")
        if pe is not None:
            check_feature_size(pe, self.pe_dim, 'pe')
            x = x + self.pe_proj(pe)  # [*, N, F]
        if batch is not None and (batch.dim() != 1 or batch.numel() != N):
            raise ValueError(f"'batch' has shape {list(batch.shape)}; expected [{N}]")
        edge_index, edge_attr = to_edge_list(edge_index, edge_attr, N, N,
                                             keep_values=self.edge_dim is not None)
        if edge_attr is not None and edge_attr.dim() == 1:
            edge_attr = edge_attr.unsqueeze(-1)  # [E, 1]
        if self.expander_degree:
            extra = self._expander_edges(N, x.device, batch, expander_edge_index)  # [2, N d]
            edge_index, edge_attr = _join(edge_index, edge_attr, extra, self.expander_attr)
        elif expander_edge_index is not None:
            raise ValueError("expander_edge_index was given, but the layer has no expander; "
                             "build it with expander_degree=d")

        h = self.norm1(x) if self.norm_first else x  # [*, N, F]
        if self.global_tokens is not None:
            G = 1 if batch is None else (int(batch.max()) + 1 if num_graphs is None
                                         else num_graphs)
            gather, spread = self._token_edges(N, x.device, batch, G)  # [2, N k] each
            tokens = self.global_tokens.repeat(G, 1)  # [G k, F]
            tokens = tokens.expand(*h.shape[:-2], *tokens.shape)  # [*, G k, F]
            tokens = self.global_attn((h, tokens), gather)  # [*, G k, F]
            edge_index, edge_attr = _join(edge_index, edge_attr, spread, self.global_attr)
            a = self.attn((torch.cat([h, tokens], dim=-2), h), edge_index, edge_attr)  # [*,N,F]
        else:
            a = self.attn(h, edge_index, edge_attr)  # [*, N, F]
        a = self.out_proj(a)  # [*, N, F]

        # The attention branch reads the graph, the tokens and their edges, so its residual
        # sum is written here; the FFN sublayer is a Residual block.
        a = F.dropout(a, p=self.dropout, training=self.training)  # [*, N, F]
        x = x + a if self.norm_first else self.norm1(x + a)  # [*, N, F]
        return self.ffn_block(x)  # [*, N, F]

    @property
    def ffn(self) -> FFN:
        r"""The FFN of :obj:`ffn_block`."""
        return self.ffn_block.module[1] if self.norm_first else self.ffn_block[0].module

    @property
    def norm2(self) -> nn.LayerNorm:
        r"""The layer norm of :obj:`ffn_block` (before the FFN pre-norm, after the sum
        post-norm)."""
        return self.ffn_block.module[0] if self.norm_first else self.ffn_block[1]

    def _expander_edges(self, N: int, device: torch.device, batch: OptTensor,
                        given: OptTensor) -> Tensor:
        if given is not None:
            check_edge_index(given, 'expander_edge_index')
            return given
        if batch is not None:
            raise ValueError("A batch of graphs needs one expander per graph: build them once "
                             "with the AddExpanderEdges transform and pass "
                             "expander_edge_index=data.expander_edge_index")
        nodes, cached = self._expander
        if nodes != N or cached is None or cached.device != device:
            cached = expander_edges(N, self.expander_degree, self.expander_seed, device=device)
            self._expander = (N, cached)
        return cached

    def _token_edges(self, N: int, device: torch.device, batch: OptTensor, G: int
                     ) -> Tuple[Tensor, Tensor]:
        if batch is not None:
            return global_token_edges(N, self.num_global, batch, G, device)
        nodes, gather, spread = self._tokens
        if nodes != N or gather is None or spread is None or gather.device != device:
            gather, spread = global_token_edges(N, self.num_global, device=device)
            self._tokens = (N, gather, spread)
        return gather, spread

    def __repr__(self) -> str:
        score = self.attn.score_name
        extra = f", score='{score}'" if score is not None else f', score={self.attn.score}'
        extra += f', ffn_channels={self.ffn_channels}'
        extra += f', dropout={self.dropout}' if self.dropout > 0 else ''
        extra += ', norm_first=False' if not self.norm_first else ''
        for name in ('edge_dim', 'pe_dim'):
            extra += f', {name}={getattr(self, name)}' if getattr(self, name) else ''
        extra += f', num_global={self.num_global}' if self.num_global else ''
        extra += f', expander_degree={self.expander_degree}' if self.expander_degree else ''
        return f'{self.__class__.__name__}({self.channels}, heads={self.heads}{extra})'


def _join(edge_index: Tensor, edge_attr: OptTensor, extra: Tensor, extra_attr: OptTensor
          ) -> Tuple[Tensor, OptTensor]:
    # Appends the edges `extra` [2, E'] with the learned attributes `extra_attr` [F_E].
    edge_index = torch.cat([edge_index, extra.to(edge_index.device)], dim=1)  # [2, E + E']
    if edge_attr is not None and extra_attr is not None:
        filler = extra_attr.to(edge_attr.dtype).expand(extra.size(1), -1)  # [E', F_E]
        edge_attr = torch.cat([edge_attr, filler], dim=0)  # [E + E', F_E]
    return edge_index, edge_attr
