r"""Sparse (long-sequence) multi-head attention without a :math:`T \times T` score matrix.

Dimensions: B - batch, H - heads, T - time (sequence), D - features per head,
F - features (:math:`H \cdot D`), N - nodes (optional), n - blocks, b - positions per block,
K - keys per block, d - dilation, L - stride, R - rows (blocks) of stride L,
c - summary positions, G - global tokens.

How it is computed: the pattern is split into disjoint parts, each evaluated in blocks with
its own grouping of the queries; every part returns its output and log-sum-exp per query,
and the parts are merged exactly as one softmax over their union would be.

- local (every pattern): queries in blocks of :math:`b = \min(w, T)` positions attend to
  their own and the :math:`\lceil w / b \rceil` neighbouring key blocks on each side (only
  the earlier ones if causal), one key block at a time, so each step holds :math:`[T, b]`
  scores; a dilated window first regroups the sequence into its :math:`d` residue classes,
  where it is a plain window. Cost :math:`O(T w)` time and memory.
- extra keys (Longformer/BigBird): the :math:`G` global keys and, per query block, the
  :math:`r` random keys, gathered by index. :math:`O(T (G + r))`.
- global queries: the :math:`G` global rows attend to all :math:`T` keys. :math:`O(G T)`.
- strided (Sparse Transformer): the sequence as a :math:`[T/L, L]` grid; each column is one
  residue class, attended causally. :math:`O(T^2 / L)`, the pattern's own cost.
- summary (fixed): the :math:`c` last positions of every block, gathered once.
  :math:`O(T^2 c / L^2)`.
"""
import math
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyg_ext.blocks.attention_patterns import (
    AttentionPattern,
    check_global_tokens,
    local_allowed,
    random_keys,
    strided_allowed,
    summary_allowed,
)
from pyg_ext.utils.checks import check_feature_size


def _attend(q: Tensor, k: Tensor, v: Tensor, allowed: Tensor,
            dropout_p: float) -> Tuple[Tensor, Tensor]:
    r"""Scaled dot-product attention of :obj:`q` over the keys where the boolean
    :obj:`allowed` (broadcast to the scores) holds. Returns (output, log-sum-exp).

    Barred scores get half the most negative finite value (adding a score cannot
    overflow) instead of :math:`-\infty`, whose :func:`exp` takes a slow path on CPU: their
    weights are still exactly 0, and a row without any allowed key stays finite, with a
    log-sum-exp so low that its part weighs 0 in the merge. :func:`torch.softmax` gives the
    weights; the log-sum-exp follows from the largest weight, :math:`\mathrm{lse} = s_{j^*} -
    \log p_{j^*}` with :math:`j^* = \arg\max_j p_j`: exact, with the exact gradient
    :math:`p`, and it keeps no score tensor alive for the backward pass.
    """
    low = torch.finfo(q.dtype).min / 2
    score = (q @ k.transpose(-1, -2)).mul_(q.size(-1) ** -0.5)  # [..., b, K]
    score = score.add_(allowed.to(q.dtype).sub_(1.0).mul_(-low))  # + 0 or + low
    prob = score.softmax(-1)  # [..., b, K]
    top = prob.argmax(-1, keepdim=True)  # [..., b, 1]
    lse = (score.gather(-1, top) - prob.gather(-1, top).log()).squeeze(-1)  # [..., b]
    del score  # free it before the next [..., b, K] tensor is made
    if dropout_p > 0.0:
        prob = F.dropout(prob, dropout_p)
    return prob @ v, lse  # [..., b, D], [..., b]


def _pad(x: Tensor, before: int, after: int) -> Tensor:
    return F.pad(x, (0, 0, before, after)) if before or after else x  # pad dimension -2


def _merge(out: Tensor, lse: Tensor, out_2: Tensor, lse_2: Tensor) -> Tuple[Tensor, Tensor]:
    r"""Merge two attentions over disjoint key sets as one softmax over their union, from
    their outputs :math:`[\ldots, D]` and log-sum-exps :math:`[\ldots]`."""
    total = torch.logaddexp(lse, lse_2)  # [...]
    out = out.mul_((lse - total).exp().unsqueeze(-1))
    return out.addcmul_(out_2, (lse_2 - total).exp().unsqueeze(-1)), total


def _local_part(q: Tensor, k: Tensor, v: Tensor, pattern: AttentionPattern,
                dropout_p: float) -> Tuple[Tensor, Tensor]:
    B, H, T, D = q.shape
    d = pattern.dilation
    S = math.ceil(T / d)  # positions per residue class
    b = min(pattern.window, S)  # block length
    nb = math.ceil(S / b)
    n_lo = 0 if pattern.kind == 'fixed' else min(math.ceil(pattern.window / b), nb - 1)
    n_hi = 0 if pattern.causal else n_lo
    n_k = nb + n_lo + n_hi  # key blocks, with padding blocks on both sides

    def blocks(x: Tensor, before: int, n: int) -> Tensor:  # position (i * b + t) * d + r
        x = _pad(x, before, n * b * d - T - before).view(B, H, n, b, d, D)
        return x.permute(2, 0, 1, 4, 3, 5).contiguous()  # [n, B, H, d, b, D], blocks first

    qb = blocks(q, 0, nb)  # [nb, B, H, d, b, D]
    kb, vb = (blocks(x, n_lo * b * d, n_k) for x in (k, v))  # [n_k, B, H, d, b, D]
    step = torch.arange(b, device=q.device)  # [b]
    block = torch.arange(nb, device=q.device).view(nb, 1, 1, 1, 1, 1) * b  # first index
    residue = torch.arange(d, device=q.device).view(d, 1, 1)  # [d, 1, 1]
    out = lse = None
    # One key block at a time (own block first: every real query sees itself there), so
    # that only [b, b] scores per query block are alive at once.
    for o in [n_lo] + [o for o in range(n_lo + n_hi + 1) if o != n_lo]:
        slot = (o - n_lo) * b + step  # [b], key index relative to the query block
        # The rule depends on the offsets inside the blocks only (blocks align with the
        # fixed pattern's blocks); which keys exist depends on the block.
        rule = local_allowed(pattern, step[:, None] * d, slot * d)  # [b, b]
        sub = block + slot  # [nb, 1, 1, 1, 1, b], key index in its residue class
        exists = (sub >= 0) & (sub * d + residue < T)  # [nb, 1, 1, d, 1, b]
        part = _attend(qb, kb[o:o + nb], vb[o:o + nb], rule & exists,
                       dropout_p)  # [nb, B, H, d, b, D], [nb, B, H, d, b]
        out, lse = part if out is None else _merge(out, lse, *part)
    out = out.permute(1, 2, 0, 4, 3, 5).reshape(B, H, nb * b * d, D)  # [B, H, T', D]
    lse = lse.permute(1, 2, 0, 4, 3).reshape(B, H, nb * b * d)  # [B, H, T']
    return out[:, :, :T], lse[:, :, :T]


def _strided_part(q: Tensor, k: Tensor, v: Tensor, pattern: AttentionPattern,
                  dropout_p: float) -> Tuple[Tensor, Tensor]:
    B, H, T, D = q.shape
    L = pattern.window  # stride
    R = math.ceil(T / L)  # rows of the [R, L] grid

    def columns(x: Tensor) -> Tensor:
        return _pad(x, 0, R * L - T).view(B, H, R, L, D).transpose(2, 3)  # [B, H, L, R, D]

    pos = torch.arange(R * L, device=q.device).view(R, L).t()  # [L, R]
    mask = strided_allowed(pattern, pos[:, :, None], pos[:, None, :])  # [L, R, R]
    mask = mask & (pos < T)[:, None, :]
    out, lse = _attend(columns(q), columns(k), columns(v), mask, dropout_p)  # [B,H,L,R,D]
    out = out.transpose(2, 3).reshape(B, H, R * L, D)[:, :, :T]  # [B, H, T, D]
    lse = lse.transpose(2, 3).reshape(B, H, R * L)[:, :, :T]  # [B, H, T]
    return out, lse


def _summary_part(q: Tensor, k: Tensor, v: Tensor, pattern: AttentionPattern,
                  dropout_p: float) -> Tuple[Tensor, Tensor]:
    B, H, T, D = q.shape
    L, c = pattern.window, pattern.summary
    R = math.ceil(T / L)  # blocks; the last block's summary is seen by no later block

    def summaries(x: Tensor) -> Tensor:
        x = x[:, :, :(R - 1) * L].view(B, H, R - 1, L, D)[:, :, :, L - c:]  # [B,H,R-1,c,D]
        return x.reshape(B, H, 1, (R - 1) * c, D)  # [B, H, 1, K, D]

    qb = _pad(q, 0, R * L - T).view(B, H, R, L, D)  # [B, H, R, L, D]
    start = torch.arange(R, device=q.device) * L  # [R], block starts
    k_pos = (start[:-1, None] + torch.arange(L - c, L, device=q.device)).flatten()  # [K]
    mask = summary_allowed(pattern, start[:, None, None], k_pos)  # [R, 1, K]
    out, lse = _attend(qb, summaries(k), summaries(v), mask, dropout_p)  # [B, H, R, L, D]
    return out.reshape(B, H, R * L, D)[:, :, :T], lse.reshape(B, H, R * L)[:, :, :T]


def _extra_part(q: Tensor, k: Tensor, v: Tensor, pattern: AttentionPattern,
                dropout_p: float) -> Tuple[Tensor, Tensor]:
    B, H, T, D = q.shape
    G = len(pattern.global_tokens)
    keys = torch.tensor(pattern.global_tokens, dtype=torch.long, device=q.device)  # [G]
    if pattern.num_random > 0:
        b = pattern.window
        nb = math.ceil(T / b)
        rand = random_keys(pattern, T, q.device)  # [nb, R]
        if G > 0:  # a random key that is a global token is seen once, as a global key
            rand = rand.masked_fill((rand[:, :, None] == keys).any(-1), -1)
        keys = torch.cat([keys.expand(nb, G), rand], dim=1)  # [nb, K]
    else:
        b, nb = T, 1
        keys = keys[None]  # [1, K]
    K = keys.size(1)
    q_pos = torch.arange(nb * b, device=q.device).view(nb, b)  # [nb, b]
    mask = ~local_allowed(pattern, q_pos[:, :, None], keys[:, None, :])  # [nb, b, K]
    mask = mask & (keys >= 0)[:, None, :]
    if pattern.causal:
        mask = mask & (keys[:, None, :] <= q_pos[:, :, None])
    qb = _pad(q, 0, nb * b - T).view(B, H, nb, b, D)  # [B, H, nb, b, D]
    idx = keys.clamp(min=0).flatten()  # [nb * K]
    kb = k.index_select(2, idx).view(B, H, nb, K, D)  # [B, H, nb, K, D]
    vb = v.index_select(2, idx).view(B, H, nb, K, D)  # [B, H, nb, K, D]
    out, lse = _attend(qb, kb, vb, mask, dropout_p)  # [B, H, nb, b, D], [B, H, nb, b]
    return out.view(B, H, nb * b, D)[:, :, :T], lse.view(B, H, nb * b)[:, :, :T]


def _check_qkv(query: Tensor, key: Tensor, value: Tensor) -> None:
    for name, x in (('query', query), ('key', key), ('value', value)):
        if x.dim() != 4:
            raise ValueError(
                f"'{name}' has shape {list(x.shape)}; expected [B, H, T, D] (split the "
                f"heads first, e.g. x.view(B, T, H, D).transpose(1, 2), or use "
                f"SparseAttention on [B, T, F])")
    if key.size(-2) != query.size(-2) or value.size(-2) != query.size(-2):
        raise ValueError(
            f"query, key and value have {query.size(-2)}, {key.size(-2)} and "
            f"{value.size(-2)} positions; a sparse pattern is laid over one sequence, so "
            f"pass keys and values of the same length T as the queries (for cross-attention "
            f"between different lengths use MultiHeadAttention)")
    if key.size(-1) != query.size(-1) or key.shape[:2] != query.shape[:2] \
            or value.shape[:2] != query.shape[:2]:
        raise ValueError(
            f"query {list(query.shape)}, key {list(key.shape)} and value "
            f"{list(value.shape)} do not fit; expected query and key [B, H, T, D] and value "
            f"[B, H, T, D_v] with the same B and H")


def sparse_attention(query: Tensor, key: Tensor, value: Tensor, pattern: AttentionPattern,
                     dropout_p: float = 0.0) -> Tensor:
    r"""Scaled dot-product attention restricted to :obj:`pattern`, computed in blocks: time
    and memory grow linearly in :math:`T` for the window patterns. Equal to
    ``scaled_dot_product_attention(query, key, value, attn_mask=pattern.dense_mask(T))``.
    Dropout with probability :obj:`dropout_p` acts on the attention weights, as in SDPA.

    Shapes: query, key :math:`(B, H, T, D)`, value :math:`(B, H, T, D_v)`
    :math:`\to` :math:`(B, H, T, D_v)`.
    """
    _check_qkv(query, key, value)
    check_global_tokens(pattern, query.size(-2))
    T = query.size(-2)
    parts = [_local_part]
    if pattern.kind == 'strided' and T > 2 * pattern.window:
        parts.append(_strided_part)
    if pattern.kind == 'fixed' and T > pattern.window:
        parts.append(_summary_part)
    if pattern.global_tokens or pattern.num_random > 0:
        parts.append(_extra_part)
    out, lse = parts[0](query, key, value, pattern, dropout_p)  # [B, H, T, D], [B, H, T]
    for part in parts[1:]:  # one part at a time, merged as one softmax over the union
        out, lse = _merge(out, lse, *part(query, key, value, pattern, dropout_p))
    if pattern.global_tokens:  # global queries attend to every key
        g = torch.tensor(pattern.global_tokens, dtype=torch.long, device=query.device)
        out_g = F.scaled_dot_product_attention(query.index_select(2, g), key, value,
                                               dropout_p=dropout_p)  # [B, H, G, D]
        out = out.index_copy(2, g, out_g)
    return out


class SparseAttention(nn.Module):
    r"""Multi-head self-attention restricted to a sparse long-sequence pattern: the strided
    and fixed patterns of the `"Generating Long Sequences with Sparse Transformers"
    <https://arxiv.org/abs/1904.10509>`_ paper (Child et al., 2019), the (dilated) sliding
    window and global tokens of `"Longformer" <https://arxiv.org/abs/2004.05150>`_ (Beltagy
    et al., 2020), and the window, global and random keys of `"Big Bird"
    <https://arxiv.org/abs/2007.14062>`_ (Zaheer et al., 2020):

    .. math::
        \mathbf{o}_i = \sum_{j \in A_i} \operatorname{softmax}_{j \in A_i}\left(
        \frac{\mathbf{q}_i^{\top} \mathbf{k}_j}{\sqrt{D}}\right) \mathbf{v}_j,
        \qquad [\mathbf{q}, \mathbf{k}, \mathbf{v}] = \mathbf{x} \mathbf{W}_{qkv},

    per head, followed by the output projection :math:`\mathbf{W}_o`. The key sets
    :math:`A_i` come from an :class:`~pyg_ext.blocks.attention_patterns.AttentionPattern`
    (:func:`strided_pattern`, :func:`fixed_pattern`, :func:`sliding_window_pattern`,
    :func:`bigbird_pattern`); :func:`sparse_attention` computes them in blocks, never
    building a :math:`T \times T` matrix. The packed :obj:`qkv` projection has the layout of
    :class:`torch.nn.MultiheadAttention`'s :obj:`in_proj_weight`.

    Args:
        channels (int): Number of features :math:`F`.
        heads (int): Number of heads :math:`H` (must divide :obj:`channels`).
        pattern (AttentionPattern): Which keys each position attends to.
        dropout (float, optional): Dropout on the attention weights. (default: :obj:`0.0`)
        bias (bool, optional): If set to :obj:`False`, the projections have no bias.
            (default: :obj:`True`)
        dim (int, optional): The sequence axis of the input. (default: :obj:`1`)

    Shapes:
        - **input:** :math:`(B, T, F)` or :math:`(B, T, N, F)` (with :obj:`dim=1`; any
          axis other than the last with :obj:`dim`)
        - **output:** the same shape as the input
    """
    def __init__(self, channels: int, heads: int, pattern: AttentionPattern,
                 dropout: float = 0.0, bias: bool = True, dim: int = 1):
        super().__init__()
        if channels % heads != 0:
            raise ValueError(f"'channels' ({channels}) must be divisible by 'heads' "
                             f"({heads}); pick heads among the divisors of {channels}")
        if not isinstance(pattern, AttentionPattern):
            raise ValueError(f"'pattern' must be an AttentionPattern (got "
                             f"{type(pattern).__name__}); build one with e.g. "
                             f"sliding_window_pattern(window=128)")
        self.channels, self.heads, self.pattern = channels, heads, pattern
        self.dropout, self.dim = dropout, dim
        self.qkv = nn.Linear(channels, 3 * channels, bias=bias)
        self.out = nn.Linear(channels, channels, bias=bias)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Xavier-uniform packed projection and zero biases, as in
        :class:`torch.nn.MultiheadAttention`."""
        nn.init.xavier_uniform_(self.qkv.weight)
        self.out.reset_parameters()
        for lin in (self.qkv, self.out):
            if lin.bias is not None:
                nn.init.zeros_(lin.bias)

    def forward(self, x: Tensor) -> Tensor:
        check_feature_size(x, self.channels)
        x = x.movedim(self.dim, -2)  # [*, T, F]
        shape = x.shape
        T, H = shape[-2], self.heads
        x = x.reshape(-1, T, self.channels)  # [B', T, F]
        q, k, v = self.qkv(x).view(-1, T, 3, H, self.channels // H).permute(2, 0, 3, 1, 4)
        out = sparse_attention(q, k, v, self.pattern,  # q, k, v: [B', H, T, D]
                               self.dropout if self.training else 0.0)  # [B', H, T, D]
        out = out.transpose(1, 2).reshape(-1, T, self.channels)  # [B', T, F]
        return self.out(out).view(shape).movedim(-2, self.dim)  # input's shape

    def __repr__(self) -> str:
        extra = f', dropout={self.dropout}' if self.dropout > 0 else ''
        return (f'{self.__class__.__name__}({self.channels}, heads={self.heads}, '
                f'pattern={self.pattern!r}{extra})')
