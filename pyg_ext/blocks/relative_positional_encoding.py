r"""Relative position representations (Shaw et al. 2018), added inside attention.

Dimensions: ``*`` - any leading dimensions (e.g. ``B, H``), ``L_q`` / ``L_k`` - query / key
length, ``D`` - channels per head, ``R = 2K + 1`` - clipped relative distances.
"""
from typing import Tuple

import torch
from torch import Tensor, nn


class RelativePositionalEncoding(nn.Module):
    r"""The relative position representations from `"Self-Attention with Relative Position
    Representations" <https://arxiv.org/abs/1803.02155>`_ (Shaw et al. 2018). Distances are
    clipped to :math:`[-K, K]` and each clipped distance has a learned key and value vector,
    shared by all heads:

    .. math::
        \mathbf{a}^K_{ij} = \mathbf{w}^K_{\mathrm{clip}(j - i, K)}, \qquad
        \mathbf{a}^V_{ij} = \mathbf{w}^V_{\mathrm{clip}(j - i, K)}

    Inside attention (scaled dot product) they enter as

    .. math::
        e_{ij} = \frac{\mathbf{q}_i (\mathbf{k}_j + \mathbf{a}^K_{ij})^{\top}}{\sqrt{D}},
        \qquad \alpha_{ij} = \mathrm{softmax}_j(e_{ij}), \qquad
        \mathbf{z}_i = \sum_j \alpha_{ij} (\mathbf{v}_j + \mathbf{a}^V_{ij}).

    Pass it as ``positional=`` to
    :class:`~pyg_ext.blocks.multi_head_attention.MultiHeadAttention` (with a dot-product
    score: ``'scaled_dot'``, ``'dot'`` or ``'bilinear'``), which then computes attention
    explicitly instead of with the fused kernel. It calls :meth:`score_bias` and
    :meth:`value_bias`; both work on the :math:`R = 2K + 1` distances and never build the
    :math:`[L_q, L_k, D]` tensors of the formula, which :meth:`forward` returns for
    inspection.

    Args:
        channels (int): Channels per head :math:`D`.
        max_distance (int): The clipping distance :math:`K \geq 1`.

    Shapes:
        - **forward:** lengths :math:`L_q, L_k` :math:`\to` :math:`\mathbf{a}^K,
          \mathbf{a}^V: (L_q, L_k, D)`
        - **score_bias:** prepared queries :math:`(*, L_q, D)` :math:`\to` :math:`(*, L_q,
          L_k)`
        - **value_bias:** attention weights :math:`(*, L_q, L_k)` :math:`\to` :math:`(*, L_q,
          D)`
    """
    def __init__(self, channels: int, max_distance: int):
        super().__init__()
        if channels < 1 or max_distance < 1:
            raise ValueError(f"channels and max_distance must be positive, got "
                             f"channels={channels}, max_distance={max_distance}")
        self.channels = channels
        self.max_distance = max_distance
        num = 2 * max_distance + 1
        self.key_embedding = nn.Parameter(torch.empty(num, channels))  # [R, D]
        self.value_embedding = nn.Parameter(torch.empty(num, channels))  # [R, D]
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.xavier_uniform_(self.key_embedding)
        nn.init.xavier_uniform_(self.value_embedding)

    def relative_index(self, len_q: int, len_k: int, device=None) -> Tensor:
        r"""The index :math:`\mathrm{clip}(j - i, K) + K \in [0, 2K]`, :math:`[L_q, L_k]`."""
        i = torch.arange(len_q, device=device).unsqueeze(1)  # [L_q, 1]
        j = torch.arange(len_k, device=device).unsqueeze(0)  # [1, L_k]
        k = self.max_distance
        return (j - i).clamp(-k, k) + k  # [L_q, L_k]

    def forward(self, len_q: int, len_k: int) -> Tuple[Tensor, Tensor]:
        r"""The dense :math:`\mathbf{a}^K, \mathbf{a}^V` of the formula, each
        :math:`[L_q, L_k, D]`."""
        index = self.relative_index(len_q, len_k, self.key_embedding.device)  # [L_q, L_k]
        return self.key_embedding[index], self.value_embedding[index]

    def score_bias(self, q: Tensor, len_k: int) -> Tensor:
        r""":math:`\mathbf{q}_i^{\top} \mathbf{a}^K_{ij}` for prepared (e.g. scaled) queries
        :math:`[*, L_q, D]`, as :math:`[*, L_q, L_k]`."""
        self._check(q, 'q')
        per_distance = q @ self.key_embedding.t()  # [*, L_q, R]
        index = self.relative_index(q.size(-2), len_k, q.device)  # [L_q, L_k]
        index = index.expand(*q.shape[:-2], -1, -1)  # [*, L_q, L_k]
        return per_distance.gather(-1, index)  # [*, L_q, L_k]

    def value_bias(self, attn: Tensor) -> Tensor:
        r""":math:`\sum_j \alpha_{ij} \mathbf{a}^V_{ij}` for attention weights
        :math:`[*, L_q, L_k]`, as :math:`[*, L_q, D]`."""
        index = self.relative_index(attn.size(-2), attn.size(-1), attn.device)  # [L_q, L_k]
        index = index.expand(attn.shape)  # [*, L_q, L_k]
        per_distance = attn.new_zeros(*attn.shape[:-1], 2 * self.max_distance + 1)
        per_distance = per_distance.scatter_add(-1, index, attn)  # [*, L_q, R]
        return per_distance @ self.value_embedding  # [*, L_q, D]

    def _check(self, x: Tensor, name: str):
        if x.dim() < 2 or x.size(-1) != self.channels:
            raise ValueError(
                f"'{name}' has shape {list(x.shape)}; {self.__class__.__name__} expects "
                f"[*, L, D={self.channels}] (channels per head); build it with "
                f"channels={x.size(-1)}")

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.channels}, max_distance={self.max_distance})'
