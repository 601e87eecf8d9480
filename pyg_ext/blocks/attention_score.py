r"""The interface shared by attention score functions, in a dense and an edge-wise form.

Dimensions: ``B`` - batch, ``H`` - heads, ``L_q`` / ``L_k`` - query / key length,
``D`` - channels per head, ``E`` - edges, ``*`` - any leading dimensions, ``C`` - whatever a
score keeps per node after its node-level step (``D``, a hidden size, or nothing).
"""
from torch import Tensor, nn


class AttentionScore(nn.Module):
    r"""Base class of the attention scores :math:`e(\mathbf{q}, \mathbf{k})` of
    :class:`~pyg_ext.blocks.multi_head_attention.MultiHeadAttention` and of graph attention
    layers.

    A score is split in two steps so that graph layers do the node-level work once per node
    and only a cheap combination once per edge (what makes GAT fast):

    1. :meth:`prepare_query` and :meth:`prepare_key` map node (or token) features
       :math:`[*, H, D]` to whatever the combination needs;
    2. :meth:`pairwise` combines prepared queries and keys element-wise over the leading
       dimensions into one score per head. On a graph, gather first:
       ``score.pairwise(q_prep[dst], k_prep[src])`` gives the :math:`[E, H]` edge scores.

    :meth:`forward` is the dense form: every query against every key of the same batch
    entry, :math:`[B, H, L_q, L_k]`. Its default broadcasts :meth:`pairwise`; the
    dot-product scores override it with a matrix product. Subclasses whose score is
    :math:`\langle \mathrm{prepare\_query}(\mathbf{q}), \mathbf{k} \rangle` (and whose
    :meth:`prepare_key` is the identity) set :obj:`is_dot_product = True`, which lets
    relative positions (Shaw et al. 2018) add :math:`\mathbf{a}^K_{ij}` to the keys.

    Args:
        channels (int): Channels per head, :math:`D`.
        heads (int, optional): Number of heads :math:`H`; parameters, where a score has
            any, are per head. (default: :obj:`1`)

    Shapes:
        - **prepare_query / prepare_key input:** :math:`(*, H, D)`
        - **pairwise input:** prepared queries and keys :math:`(*, H, C)` that broadcast
          against each other; **output:** :math:`(*, H)`
        - **forward input:** :math:`q: (B, H, L_q, D)`, :math:`k: (B, H, L_k, D)`;
          **output:** :math:`(B, H, L_q, L_k)`
    """
    is_dot_product: bool = False

    def __init__(self, channels: int, heads: int = 1):
        super().__init__()
        if channels < 1 or heads < 1:
            raise ValueError(f"channels and heads must be positive, got channels={channels}, "
                             f"heads={heads}")
        self.channels = channels
        self.heads = heads

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module (none in the base class)."""

    def prepare_query(self, q: Tensor) -> Tensor:
        r"""Node-level step for queries :math:`[*, H, D]` (the identity by default)."""
        self._check_heads(q, 'q')
        return q

    def prepare_key(self, k: Tensor) -> Tensor:
        r"""Node-level step for keys :math:`[*, H, D]` (the identity by default)."""
        self._check_heads(k, 'k')
        return k

    def pairwise(self, q_prep: Tensor, k_prep: Tensor) -> Tensor:
        r"""Scores :math:`[*, H]` of prepared queries and keys, element-wise over ``*``."""
        raise NotImplementedError

    def forward(self, q: Tensor, k: Tensor) -> Tensor:
        r"""Dense scores :math:`[B, H, L_q, L_k]` of :math:`q: [B, H, L_q, D]` and
        :math:`k: [B, H, L_k, D]`."""
        self._check_dense(q, k)
        q_prep = self.prepare_query(q.transpose(1, 2))  # [B, L_q, H, C]
        k_prep = self.prepare_key(k.transpose(1, 2))  # [B, L_k, H, C]
        score = self.pairwise(q_prep.unsqueeze(2), k_prep.unsqueeze(1))  # [B, L_q, L_k, H]
        return score.permute(0, 3, 1, 2)  # [B, H, L_q, L_k]

    def _check_heads(self, x: Tensor, name: str):
        if x.dim() < 2 or x.size(-2) != self.heads or x.size(-1) != self.channels:
            raise ValueError(
                f"'{name}' has shape {list(x.shape)}; {self.__class__.__name__} expects "
                f"[*, H={self.heads}, D={self.channels}] (heads on axis -2). Split the "
                f"features with x.view(*x.shape[:-1], {self.heads}, {self.channels}), or "
                f"build the score with heads={x.size(-2) if x.dim() >= 2 else '?'}, "
                f"channels={x.size(-1) if x.dim() >= 1 else '?'}")

    def _check_dense(self, q: Tensor, k: Tensor):
        for name, x in (('q', q), ('k', k)):
            if x.dim() != 4 or x.size(1) != self.heads or x.size(-1) != self.channels:
                raise ValueError(
                    f"'{name}' has shape {list(x.shape)}; the dense form of "
                    f"{self.__class__.__name__} expects [B, H={self.heads}, L, "
                    f"D={self.channels}]; for per-edge scores use prepare_query/"
                    f"prepare_key and pairwise")
        if q.size(0) != k.size(0):
            raise ValueError(f"'q' and 'k' have batch sizes {q.size(0)} and {k.size(0)}; "
                             f"give both the same batch size B")

    def _repr_args(self) -> str:
        return ''

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.channels}, heads={self.heads}'
                f'{self._repr_args()})')
