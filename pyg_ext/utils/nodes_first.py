r"""The nodes-first layout that sparse and per-node propagations share: a ``[*, N, F]``
tensor folded to a ``[N, M F]`` matrix (M: the leading dimensions ``*`` folded), so that one
matmul with an ``[N, N]`` operator propagates every batch element and time step at once.

A layer that returns :func:`unfold_nodes_first` of its ``[N, M F]`` result hands on a
``[*, N, F]`` *view* whose memory is nodes first; :func:`fold_nodes_first` of such a view is
again a view, so a recurrent state fed back into the layer is never copied.

Dimensions: N - nodes, M - leading dimensions folded, F - features.
"""
from typing import Tuple

import torch
from torch import Tensor


def fold_nodes_first(x: Tensor) -> Tuple[Tensor, torch.Size]:
    r"""``x [*, N, F]`` as ``[N, M F]`` (a view when ``x``'s memory is nodes first, else a
    copy), and the leading shape ``*`` for :func:`unfold_nodes_first`."""
    return x.movedim(-2, 0).reshape(x.size(-2), -1), x.shape[:-2]


def unfold_nodes_first(out: Tensor, num_nodes: int, lead: torch.Size,
                       channels: int) -> Tensor:
    r"""The inverse of :func:`fold_nodes_first`: ``out`` (``[N, M C]`` or ``[N M, C]``) as a
    ``[*, N, C]`` view, with :math:`N` = :obj:`num_nodes` and :math:`C` = :obj:`channels`."""
    return out.view(num_nodes, *lead, channels).movedim(0, -2)
