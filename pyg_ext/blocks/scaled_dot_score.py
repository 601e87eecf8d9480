r"""The scaled dot-product attention score of Vaswani et al. (2017).

Dimensions: ``B`` - batch, ``H`` - heads, ``L_q`` / ``L_k`` - query / key length,
``D`` - channels per head, ``*`` - any leading dimensions (e.g. ``E`` edges).
"""
import math

from torch import Tensor

from pyg_ext.blocks.attention_score import AttentionScore


class ScaledDotScore(AttentionScore):
    r"""The scaled dot-product score from `"Attention Is All You Need"
    <https://arxiv.org/abs/1706.03762>`_ (Vaswani et al. 2017), per head:

    .. math::
        e(\mathbf{q}, \mathbf{k}) = \frac{\mathbf{q}^{\top} \mathbf{k}}{\sqrt{D}}

    The scaling is node-level work, so :meth:`prepare_query` returns
    :math:`\mathbf{q} / \sqrt{D}` and :meth:`pairwise` is a plain dot product.
    :class:`~pyg_ext.blocks.multi_head_attention.MultiHeadAttention` computes this score
    with :func:`torch.nn.functional.scaled_dot_product_attention` (the fused fast path).

    Args:
        channels (int): Channels per head, :math:`D`.
        heads (int, optional): Number of heads :math:`H`. (default: :obj:`1`)

    Shapes:
        - **prepare_query / prepare_key:** :math:`(*, H, D) \to (*, H, D)`
        - **pairwise:** :math:`(*, H, D), (*, H, D) \to (*, H)`
        - **forward:** :math:`(B, H, L_q, D), (B, H, L_k, D) \to (B, H, L_q, L_k)`
    """
    is_dot_product = True

    def __init__(self, channels: int, heads: int = 1):
        super().__init__(channels, heads)
        self.scale = 1.0 / math.sqrt(channels)

    def prepare_query(self, q: Tensor) -> Tensor:
        self._check_heads(q, 'q')
        return q * self.scale  # [*, H, D]

    def pairwise(self, q_prep: Tensor, k_prep: Tensor) -> Tensor:
        return (q_prep * k_prep).sum(dim=-1)  # [*, H]

    def forward(self, q: Tensor, k: Tensor) -> Tensor:
        self._check_dense(q, k)
        return (q * self.scale) @ k.transpose(-1, -2)  # [B, H, L_q, L_k]
