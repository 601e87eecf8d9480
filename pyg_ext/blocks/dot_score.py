r"""The dot-product attention score of Luong et al. (2015).

Dimensions: ``B`` - batch, ``H`` - heads, ``L_q`` / ``L_k`` - query / key length,
``D`` - channels per head, ``*`` - any leading dimensions (e.g. ``E`` edges).
"""
from torch import Tensor

from pyg_ext.blocks.attention_score import AttentionScore


class DotScore(AttentionScore):
    r"""The dot-product score from `"Effective Approaches to Attention-based Neural Machine
    Translation" <https://arxiv.org/abs/1508.04025>`_ (Luong et al. 2015), per head:

    .. math::
        e(\mathbf{q}, \mathbf{k}) = \mathbf{q}^{\top} \mathbf{k}

    It has no parameters; :meth:`prepare_query` and :meth:`prepare_key` are the identity.

    Args:
        channels (int): Channels per head, :math:`D`.
        heads (int, optional): Number of heads :math:`H`. (default: :obj:`1`)

    Shapes:
        - **prepare_query / prepare_key:** :math:`(*, H, D) \to (*, H, D)`
        - **pairwise:** :math:`(*, H, D), (*, H, D) \to (*, H)`
        - **forward:** :math:`(B, H, L_q, D), (B, H, L_k, D) \to (B, H, L_q, L_k)`
    """
    is_dot_product = True

    def pairwise(self, q_prep: Tensor, k_prep: Tensor) -> Tensor:
        return (q_prep * k_prep).sum(dim=-1)  # [*, H]

    def forward(self, q: Tensor, k: Tensor) -> Tensor:
        self._check_dense(q, k)
        return q @ k.transpose(-1, -2)  # [B, H, L_q, L_k]
