r"""Multi-head attention along any axis of a tensor, with pluggable scores and positions.

Dimensions: ``B`` - batch, ``T`` - time, ``N`` - nodes, ``F`` - features (``F = H * D``),
``H`` - heads, ``D`` - channels per head, ``L_q`` / ``L_k`` - query / key length along the
attention axis, ``B'`` - every other axis of the input folded into one batch axis.
"""
from functools import reduce
from typing import List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyg_ext.blocks.additive_score import AdditiveScore
from pyg_ext.blocks.attention_score import AttentionScore
from pyg_ext.blocks.bilinear_score import BilinearScore
from pyg_ext.blocks.dot_score import DotScore
from pyg_ext.blocks.relative_positional_encoding import RelativePositionalEncoding
from pyg_ext.blocks.rotary_positional_encoding import RotaryPositionalEncoding
from pyg_ext.blocks.scaled_dot_score import ScaledDotScore
from pyg_ext.utils.checks import check_feature_size, check_mask

#: The score names :class:`MultiHeadAttention` understands.
SCORES = {
    'scaled_dot': ScaledDotScore,
    'dot': DotScore,
    'bilinear': BilinearScore,
    'additive': AdditiveScore,
}


class MultiHeadAttention(nn.Module):
    r"""Multi-head attention from `"Attention Is All You Need"
    <https://arxiv.org/abs/1706.03762>`_ (Vaswani et al. 2017), along the axis ``dim`` of
    :math:`[B, L, F]` or :math:`[B, T, N, F]` inputs (``dim=1``: over time, per node;
    ``dim=2``: over nodes, per time step):

    .. math::
        \mathrm{head}_h = \mathrm{softmax}_j\big(e_h(\mathbf{W}^Q_h \mathbf{x}_i,
        \mathbf{W}^K_h \mathbf{y}_j) + M_{ij}\big) \, \mathbf{W}^V_h \mathbf{y}_j, \qquad
        \mathrm{MHA}(\mathbf{x}, \mathbf{y}) = \mathbf{W}^O [\mathrm{head}_1 \| \dots \|
        \mathrm{head}_H]

    with the score :math:`e_h` one of :class:`~pyg_ext.blocks.ScaledDotScore`
    (:math:`\mathbf{q}^\top\mathbf{k}/\sqrt{D}`, computed with the fused
    :func:`torch.nn.functional.scaled_dot_product_attention`),
    :class:`~pyg_ext.blocks.DotScore`, :class:`~pyg_ext.blocks.BilinearScore` or
    :class:`~pyg_ext.blocks.AdditiveScore`, and :math:`M` the masks (:math:`-\infty` where
    attention is not allowed; a query with no allowed key gets zero attention, not NaN).
    For self-attention the :math:`Q, K, V` projections are one packed linear layer
    :obj:`in_proj` (:math:`[3F, F]`, the layout of :class:`torch.nn.MultiheadAttention`'s
    ``in_proj_weight``); with ``kdim`` or ``vdim`` they are :obj:`q_proj`, :obj:`k_proj`,
    :obj:`v_proj`.

    The forward pass returns the output only; :meth:`attention_weights` (same arguments)
    returns the attention probabilities :math:`[*, H, L_q, L_k]`.

    Args:
        channels (int): Size of each feature vector :math:`F`, divisible by ``heads``.
        heads (int): Number of heads :math:`H`.
        score (str or AttentionScore, optional): ``'scaled_dot'``, ``'dot'``,
            ``'bilinear'``, ``'additive'``, or a score module built with
            ``(channels // heads, heads)``. (default: :obj:`'scaled_dot'`)
        dropout (float, optional): Dropout on the attention probabilities.
            (default: :obj:`0.0`)
        bias (bool, optional): Learn biases in the input and output projections.
            (default: :obj:`True`)
        dim (int, optional): The attention axis of the inputs. (default: :obj:`1`)
        kdim (int, optional): Features of the key input. (default: :obj:`channels`)
        vdim (int, optional): Features of the value input. (default: :obj:`channels`)
        qkv_conv (torch.nn.Module, optional): A module applied to the packed projections
            :math:`[B', L, 3F] \to [B', L, 3F]` along the attention axis, before the heads
            are split (self-attention only), e.g. Primer's causal depthwise convolution
            ``TemporalConv(3F, 3F, 3, causal=True, groups=3F)``. (default: :obj:`None`)
        positional (torch.nn.Module, optional): A
            :class:`~pyg_ext.blocks.RotaryPositionalEncoding` (rotates per-head queries and
            keys; the fused kernel is kept) or a
            :class:`~pyg_ext.blocks.RelativePositionalEncoding` (Shaw et al.; needs a
            dot-product score and uses the explicit path), both built with
            ``channels // heads``. Absolute encodings are
            added to the input instead. (default: :obj:`None`)

    Shapes:
        - **query:** :math:`(*, L_q, *, F)` with :math:`L_q` on axis ``dim``, e.g.
          :math:`(B, L_q, F)` or :math:`(B, T, N, F)`
        - **key, value** (defaults: key = query, value = key): the query's shape, with
          :math:`L_k` on axis ``dim`` and ``kdim`` / ``vdim`` features
        - **key_padding_mask:** the key's shape without its last axis (size-1 axes
          broadcast), e.g. :math:`(B, L_k)`; :obj:`True` (or :math:`-\infty`) = ignore that key
        - **attn_mask:** :math:`(L_q, L_k)` or :math:`(B', H, L_q, L_k)` (size-1 axes
          broadcast), :math:`B'` the product of the input's axes other than ``dim`` and
          :math:`F` in order; bool (:obj:`True` = not allowed, as in torch) or additive float
        - **is_causal:** query :math:`i` sees keys :math:`j \leq i` (top-left aligned)
        - **output:** the query's shape
    """
    def __init__(
        self,
        channels: int,
        heads: int,
        score: Union[str, AttentionScore] = 'scaled_dot',
        dropout: float = 0.0,
        bias: bool = True,
        dim: int = 1,
        kdim: Optional[int] = None,
        vdim: Optional[int] = None,
        qkv_conv: Optional[nn.Module] = None,
        positional: Optional[nn.Module] = None,
    ):
        super().__init__()
        if heads < 1 or channels % heads != 0:
            raise ValueError(f"channels={channels} must be divisible by heads={heads}; "
                             f"choose channels as a multiple of heads")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
        self.channels, self.heads, self.head_channels = channels, heads, channels // heads
        self.dropout, self.bias, self.dim = dropout, bias, dim
        self.kdim, self.vdim = kdim or channels, vdim or channels
        self.score = _resolve_score(score, self.head_channels, heads)
        self.qkv_conv = qkv_conv
        self.positional = positional
        self._relative = isinstance(positional, RelativePositionalEncoding)
        self._check_positional()
        self._sdpa = isinstance(self.score, ScaledDotScore) and not self._relative

        packed = self.kdim == channels and self.vdim == channels
        self.in_proj = nn.Linear(channels, 3 * channels, bias) if packed else None
        self.q_proj = None if packed else nn.Linear(channels, channels, bias)
        self.k_proj = None if packed else nn.Linear(self.kdim, channels, bias)
        self.v_proj = None if packed else nn.Linear(self.vdim, channels, bias)
        self.out_proj = nn.Linear(channels, channels, bias)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters and every child: Xavier-uniform :math:`Q, K, V`
        weights (per block; :class:`torch.nn.MultiheadAttention` draws the packed matrix at
        once), the output projection as :class:`torch.nn.Linear`, zero biases."""
        with torch.no_grad():
            if self.in_proj is not None:
                for w in self.in_proj.weight.chunk(3, dim=0):
                    nn.init.xavier_uniform_(w)
            for lin in (self.q_proj, self.k_proj, self.v_proj):
                if lin is not None:
                    nn.init.xavier_uniform_(lin.weight)
            self.out_proj.reset_parameters()
            for lin in (self.in_proj, self.q_proj, self.k_proj, self.v_proj, self.out_proj):
                if lin is not None and lin.bias is not None:
                    nn.init.zeros_(lin.bias)
        for child in (self.score, self.qkv_conv, self.positional):
            if child is not None and hasattr(child, 'reset_parameters'):
                child.reset_parameters()

    def forward(self, query: Tensor, key: Optional[Tensor] = None,
                value: Optional[Tensor] = None, key_padding_mask: Optional[Tensor] = None,
                attn_mask: Optional[Tensor] = None, is_causal: bool = False) -> Tensor:
        q, k, v, lead, dim = self._project(query, key, value)  # [B', H, L, D] each
        mask = self._mask(key_padding_mask, attn_mask, is_causal, query if key is None else key,
                          q, k, lead, dim, kernel_causal=self._sdpa)
        p = self.dropout if self.training else 0.0
        if self._sdpa:
            out = F.scaled_dot_product_attention(  # [B', H, L_q, D]
                q, k, v, attn_mask=mask, dropout_p=p, is_causal=is_causal and mask is None)
        else:
            attn = F.dropout(self._weights(q, k, mask), p=p)  # [B', H, L_q, L_k]
            out = attn @ v  # [B', H, L_q, D]
            if self._relative:
                out = out + self.positional.value_bias(attn)
        out = out.transpose(1, 2).reshape(q.size(0), q.size(2), self.channels)  # [B', L_q, F]
        out = self.out_proj(out)
        return out.view(*lead, q.size(2), self.channels).movedim(-2, dim)  # query's shape

    def attention_weights(self, query: Tensor, key: Optional[Tensor] = None,
                          value: Optional[Tensor] = None,
                          key_padding_mask: Optional[Tensor] = None,
                          attn_mask: Optional[Tensor] = None,
                          is_causal: bool = False) -> Tensor:
        r"""The attention probabilities (before dropout) of :meth:`forward` called with the
        same arguments, :math:`[*, H, L_q, L_k]` with ``*`` the query's axes other than
        ``dim`` and :math:`F` (e.g. :math:`[B, H, L_q, L_k]` for :math:`[B, L, F]`)."""
        q, k, _, lead, dim = self._project(query, key, value)  # [B', H, L, D]
        mask = self._mask(key_padding_mask, attn_mask, is_causal, query if key is None else key,
                          q, k, lead, dim, kernel_causal=False)
        return self._weights(q, k, mask).view(*lead, *q.shape[1:3], k.size(2))

    def _weights(self, q: Tensor, k: Tensor, mask: Optional[Tensor]) -> Tensor:
        if self._relative:
            q_prep = self.score.prepare_query(q.transpose(1, 2)).transpose(1, 2)  # [B',H,L_q,D]
            score = q_prep @ k.transpose(-1, -2)  # [B', H, L_q, L_k]
            score = score + self.positional.score_bias(q_prep, k.size(2))
        else:
            score = self.score(q, k)  # [B', H, L_q, L_k]
        if mask is None:
            return score.softmax(dim=-1)
        # A query whose keys are all masked gets zero weights (as in the fused kernel), not
        # NaN: masked scores are clamped to the lowest finite value before the softmax.
        low = torch.finfo(score.dtype).min
        score = score.masked_fill(~mask, low) if mask.dtype == torch.bool \
            else (score + mask).clamp_min(low)
        return score.softmax(dim=-1).masked_fill(score.amax(dim=-1, keepdim=True) == low, 0.0)

    def _project(self, query: Tensor, key: Optional[Tensor], value: Optional[Tensor]
                 ) -> Tuple[Tensor, Tensor, Tensor, List[int], int]:
        self_attn = (key is None or key is query) and (value is None or value is key)
        key = query if key is None else key
        value = key if value is None else value
        dim = self._check_inputs(query, key, value)
        H, D, C = self.heads, self.head_channels, self.channels
        x = query.movedim(dim, -2)  # [*, L_q, F]
        lead = list(x.shape[:-2])
        x = x.reshape(-1, x.size(-2), x.size(-1))  # [B', L_q, F]
        if self_attn and self.in_proj is not None:
            qkv = self.in_proj(x)  # [B', L, 3F]
            if self.qkv_conv is not None:
                qkv = self.qkv_conv(qkv)  # [B', L, 3F]
            qkv = qkv.view(x.size(0), x.size(1), 3, H, D).permute(2, 0, 3, 1, 4)  # [3,B',H,L,D]
            q, k, v = qkv.unbind(0)
        else:
            if self.qkv_conv is not None:
                raise ValueError("qkv_conv acts on the packed projections of self-attention; "
                                 "call forward(query) without a separate key and value")
            y = key.movedim(dim, -2).reshape(x.size(0), -1, key.size(-1))  # [B', L_k, kdim]
            z = value.movedim(dim, -2).reshape(x.size(0), -1, value.size(-1))  # [B',L_k,vdim]
            if self.in_proj is not None:
                w, b = self.in_proj.weight, self.in_proj.bias
                b = (None, None, None) if b is None else b.split(C)
                q = F.linear(x, w[:C], b[0])  # [B', L_q, F]
                k = F.linear(y, w[C:2 * C], b[1])  # [B', L_k, F]
                v = F.linear(z, w[2 * C:], b[2])  # [B', L_k, F]
            else:
                q, k, v = self.q_proj(x), self.k_proj(y), self.v_proj(z)  # [B', L, F]
            q = q.view(q.size(0), q.size(1), H, D).transpose(1, 2)  # [B', H, L_q, D]
            k = k.view(k.size(0), k.size(1), H, D).transpose(1, 2)  # [B', H, L_k, D]
            v = v.view(v.size(0), v.size(1), H, D).transpose(1, 2)  # [B', H, L_k, D]
        if isinstance(self.positional, RotaryPositionalEncoding):
            q, k = self.positional(q), self.positional(k)  # [B', H, L, D]
        return q, k, v, lead, dim

    def _mask(self, key_padding_mask: Optional[Tensor], attn_mask: Optional[Tensor],
              is_causal: bool, key: Tensor, q: Tensor, k: Tensor, lead: List[int], dim: int,
              kernel_causal: bool) -> Optional[Tensor]:
        r"""Merge the masks into one mask broadcasting to :math:`[B', H, L_q, L_k]` (bool:
        :obj:`True` = attend; float: added), or :obj:`None`. With ``kernel_causal`` a lone
        ``is_causal`` is left to the fused kernel."""
        if key_padding_mask is None and attn_mask is None and (kernel_causal or not is_causal):
            return None
        masks = []
        if key_padding_mask is not None:
            shape = list(key.shape[:-1])
            check_mask(key_padding_mask, shape, 'key_padding_mask')
            if key_padding_mask.dim() != len(shape):
                raise ValueError(f"'key_padding_mask' has shape {list(key_padding_mask.shape)}"
                                 f"; expected {shape} (the key without its feature axis)")
            kpm = key_padding_mask.movedim(dim, -1).expand(*lead, k.size(2))  # [*, L_k]
            masks.append(kpm.reshape(-1, 1, 1, k.size(2)))  # [B', 1, 1, L_k]
        if attn_mask is not None:
            shape = [q.size(0), self.heads, q.size(2), k.size(2)]
            check_mask(attn_mask, shape, 'attn_mask')
            if attn_mask.dim() not in (2, 4):
                raise ValueError(f"'attn_mask' has shape {list(attn_mask.shape)}; expected "
                                 f"[L_q, L_k] = {shape[2:]} or [B', H, L_q, L_k] = {shape}")
            masks.append(attn_mask)
        if is_causal:
            masks.append(~_causal(q.size(2), k.size(2), q.device))  # True = not allowed
        if all(m.dtype == torch.bool for m in masks):
            return ~reduce(torch.logical_or, masks)  # True = attend
        return reduce(torch.add, [m.to(q.dtype) if m.dtype != torch.bool else torch.zeros_like(
            m, dtype=q.dtype).masked_fill(m, float('-inf')) for m in masks])  # added

    def _check_inputs(self, query: Tensor, key: Tensor, value: Tensor) -> int:
        dim = self.dim + query.dim() if self.dim < 0 else self.dim
        if query.dim() < 2 or not 0 <= dim < query.dim() - 1:
            raise ValueError(
                f"MultiHeadAttention attends along dim={self.dim}, but the query has shape "
                f"{list(query.shape)} (features on the last axis); build it with dim=1 for "
                f"[B, L, F] or time in [B, T, N, F], dim=2 for nodes in [B, T, N, F]")
        check_feature_size(query, self.channels, 'query')
        check_feature_size(key, self.kdim, 'key')
        check_feature_size(value, self.vdim, 'value')
        for name, x in (('key', key), ('value', value)):
            same = x.dim() == query.dim() and all(
                a == b for i, (a, b) in enumerate(zip(x.shape[:-1], query.shape[:-1]))
                if i != dim)
            if not same:
                raise ValueError(
                    f"'{name}' has shape {list(x.shape)} but the query has shape "
                    f"{list(query.shape)}; they may differ only in axis dim={self.dim} "
                    f"(length) and the last axis (features)")
        if key.size(dim) != value.size(dim):
            raise ValueError(f"'key' and 'value' have lengths {key.size(dim)} and "
                             f"{value.size(dim)} along dim={self.dim}; give one value per key")
        return dim

    def _check_positional(self):
        pos = self.positional
        if pos is None:
            return
        if not isinstance(pos, (RotaryPositionalEncoding, RelativePositionalEncoding)):
            raise ValueError(
                f"positional={pos.__class__.__name__} is not applied inside attention; add "
                f"absolute encodings to the input (x = pe(x)) and pass a "
                f"RotaryPositionalEncoding or RelativePositionalEncoding here")
        if pos.channels != self.head_channels:
            raise ValueError(f"{pos.__class__.__name__} was built for {pos.channels} "
                             f"channels, but each head has {self.head_channels}; build it "
                             f"with channels={self.head_channels} (channels // heads)")
        if self._relative and not self.score.is_dot_product:
            raise ValueError(f"RelativePositionalEncoding adds a^K to the keys of a dot-product"
                             f" score, not {self.score.__class__.__name__}; use score="
                             f"'scaled_dot', 'dot' or 'bilinear'")

    def __repr__(self) -> str:
        extra = '' if self._sdpa else f', score={self.score.__class__.__name__}'
        extra += f', dropout={self.dropout}' if self.dropout > 0 else ''
        extra += f', dim={self.dim}' if self.dim != 1 else ''
        extra += f', kdim={self.kdim}' if self.kdim != self.channels else ''
        extra += f', vdim={self.vdim}' if self.vdim != self.channels else ''
        extra += ', qkv_conv=True' if self.qkv_conv is not None else ''
        if self.positional is not None:
            extra += f', positional={self.positional.__class__.__name__}'
        return f'{self.__class__.__name__}({self.channels}, heads={self.heads}{extra})'


def _causal(len_q: int, len_k: int, device) -> Tensor:
    r"""Bool :math:`[L_q, L_k]`, :obj:`True` where key :math:`j \leq` query :math:`i`."""
    return torch.ones(len_q, len_k, dtype=torch.bool, device=device).tril()


def _resolve_score(score: Union[str, AttentionScore], channels: int, heads: int
                   ) -> AttentionScore:
    if isinstance(score, str):
        if score not in SCORES:
            raise ValueError(f"Unknown score '{score}'; use one of {list(SCORES)} or pass an "
                             f"AttentionScore module")
        return SCORES[score](channels, heads)
    if not isinstance(score, AttentionScore):
        raise ValueError(f"score must be a name or an AttentionScore, got "
                         f"{type(score).__name__}")
    if score.channels != channels or score.heads != heads:
        raise ValueError(f"The score was built with channels={score.channels}, "
                         f"heads={score.heads}; build it with channels={channels} "
                         f"(channels // heads) and heads={heads}")
    return score
