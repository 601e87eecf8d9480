r"""The bilinear ("general") attention score of Luong et al. (2015).

Dimensions: ``B`` - batch, ``H`` - heads, ``L_q`` / ``L_k`` - query / key length,
``D`` - channels per head, ``*`` - any leading dimensions (e.g. ``E`` edges).
"""
import torch
from torch import Tensor, nn
from torch_geometric.nn.inits import glorot

from pyg_ext.blocks.attention_score import AttentionScore


class BilinearScore(AttentionScore):
    r"""The "general" score from `"Effective Approaches to Attention-based Neural Machine
    Translation" <https://arxiv.org/abs/1508.04025>`_ (Luong et al. 2015), with one matrix
    :math:`\mathbf{W}_h \in \mathbb{R}^{D \times D}` per head :math:`h`:

    .. math::
        e_h(\mathbf{q}, \mathbf{k}) = \mathbf{q}^{\top} \mathbf{W}_h \mathbf{k}

    :meth:`prepare_query` does the node-level product :math:`\mathbf{q}^{\top}\mathbf{W}_h`
    once per node, so :meth:`pairwise` is a plain dot product per edge.

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
        self.weight = nn.Parameter(torch.empty(heads, channels, channels))  # [H, D, D]
        self.reset_parameters()

    def reset_parameters(self):
        glorot(self.weight)

    def prepare_query(self, q: Tensor) -> Tensor:
        self._check_heads(q, 'q')
        return torch.einsum('...hd,hde->...he', q, self.weight)  # [*, H, D]

    def pairwise(self, q_prep: Tensor, k_prep: Tensor) -> Tensor:
        return (q_prep * k_prep).sum(dim=-1)  # [*, H]

    def forward(self, q: Tensor, k: Tensor) -> Tensor:
        self._check_dense(q, k)
        q = q @ self.weight.unsqueeze(0)  # [B, H, L_q, D]
        return q @ k.transpose(-1, -2)  # [B, H, L_q, L_k]
