r"""Sparse self-attention with :class:`~pyg_ext.blocks.MultiHeadAttention`'s call signature.

Legend: B - batch, T - steps, N - nodes, F - channels.
"""
from typing import Optional

from torch import Tensor

from pyg_ext.blocks.sparse_attention import SparseAttention


class SparseTimeAttention(SparseAttention):
    r"""A :class:`~pyg_ext.blocks.sparse_attention.SparseAttention` (strided, fixed,
    sliding-window or BigBird pattern over the steps, linear in :math:`T` for the window
    patterns) that can stand in for the :class:`~pyg_ext.blocks.MultiHeadAttention` of a
    :class:`~pyg_ext.blocks.TransformerLayer` (its :obj:`attn`): :meth:`forward` takes the
    same keyword arguments. The pattern says which steps each step sees (causality
    included), so masks and ``is_causal`` are refused rather than ignored.

    Args:
        channels (int): Channels :math:`F`.
        heads (int): Attention heads.
        pattern (AttentionPattern): The attention pattern.
        dropout (float, optional): Dropout on the attention weights. (default: :obj:`0.0`)
        dim (int, optional): The sequence axis. (default: :obj:`1`)

    Shapes:
        - **input:** :math:`(B, T, N, F)` (or :math:`(B, T, F)`)
        - **output:** the input's shape
    """
    def forward(self, x: Tensor, key_padding_mask: Optional[Tensor] = None,
                attn_mask: Optional[Tensor] = None, is_causal: bool = False) -> Tensor:
        if key_padding_mask is not None or attn_mask is not None or is_causal:
            raise ValueError("a sparse attention pattern fixes which steps are seen; build "
                             "the pattern with causal=True instead of passing masks or "
                             "is_causal")
        return super().forward(x)
