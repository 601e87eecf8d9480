r"""The propagation matrix of one fixed graph, built once and stored dense or as CSR with its
transpose: what :class:`~pyg_ext.ogb.CachedGCNConv` and :class:`~pyg_ext.ogb.CachedSAGEConv`
share for fast full-batch training (ogbn-arxiv, ogbl-ddi, ogbl-collab).

Dimensions: N nodes, E edges, F features.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.typing import OptTensor
from torch_geometric.utils import is_torch_sparse_tensor, to_edge_index, to_torch_csr_tensor

from pyg_ext.typing import Adj
from pyg_ext.utils.checks import check_edge_index
from pyg_ext.utils.csr_matmul import csr_matmul

#: Store the matrix dense when it has at least this share of non-zeros ...
DENSE_DENSITY = 1 / 16
#: ... and at most this many entries (2^26 floats: 256 MiB).
DENSE_MAX_ENTRIES = 2 ** 26

#: A cached matrix: ``(matrix, transpose)``; the transpose is :obj:`None` when the matrix is
#: dense (a dense matmul's backward multiplies by the transposed view).
CachedMatrix = Tuple[Tensor, Optional[Tensor]]


def edges_of(adj: Adj) -> Tuple[Tensor, OptTensor]:
    r"""``(edge_index [2, E], weight [E] or None)`` of an ``edge_index`` (source, target) or
    of a sparse ``adj_t`` (``adj_t[i, j]`` for the edge :math:`j \to i`, as OGB's
    ``ToSparseTensor`` builds it)."""
    if is_torch_sparse_tensor(adj):
        (dst, src), weight = to_edge_index(adj)
        return torch.stack([src, dst]), weight  # [2, E], [E]
    check_edge_index(adj, 'adj')
    return adj, None


def cached_matrix(edge_index: Tensor, value: Tensor, num_nodes: int) -> CachedMatrix:
    r"""The :math:`N \times N` matrix with ``value[e]`` at (target, source) of edge ``e``
    (duplicates summed), stored dense when the graph has at least :data:`DENSE_DENSITY` of all
    pairs and at most :data:`DENSE_MAX_ENTRIES` entries (e.g. ogbl-ddi: 4,267 nodes, 12 % of
    all pairs linked, where a dense product is several times faster than a sparse one on the
    CPU), else as CSR (row = target) together with its CSR transpose."""
    src, dst = edge_index
    size = (num_nodes, num_nodes)
    if num_nodes ** 2 <= DENSE_MAX_ENTRIES and value.numel() >= DENSE_DENSITY * num_nodes ** 2:
        matrix = torch.zeros(size, dtype=value.dtype, device=value.device)  # [N, N]
        matrix.index_put_((dst, src), value, accumulate=True)
        return matrix, None
    matrix = to_torch_csr_tensor(torch.stack([dst, src]), value, size=size)  # row = target
    return matrix, to_torch_csr_tensor(edge_index, value, size=size)  # and its transpose


def propagate(cached: CachedMatrix, h: Tensor) -> Tensor:
    r"""``matrix @ h`` (``[N, F]``) in ``h``'s dtype; the backward pass of a CSR product
    multiplies by the cached transpose (:func:`~pyg_ext.utils.csr_matmul.csr_matmul`)."""
    matrix, matrix_t = cached
    matrix = matrix.to(h.dtype)
    if matrix_t is None:  # dense
        return matrix @ h  # [N, F]
    return csr_matmul(matrix, matrix_t.to(h.dtype), h)  # [N, F]
