r"""The normalised transition operators of a graph, shared by diffusion convolutions.

Dimensions: N - nodes, E - edges.
"""
from typing import NamedTuple, Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.typing import Adj, OptTensor, SparseTensor
from torch_geometric.utils import is_torch_sparse_tensor, scatter, to_torch_csr_tensor
from torch_geometric.utils import to_edge_index as sparse_to_edge_index
from torch_geometric.utils.num_nodes import maybe_num_nodes

from pyg_ext.utils.checks import check_edge_weight


class DiffusionSupports(NamedTuple):
    r"""The two normalised transition operators of a graph, the forward
    :math:`\mathbf{P}_f = \mathbf{D}_O^{-1}\mathbf{W}` and the backward
    :math:`\mathbf{P}_b = \mathbf{D}_I^{-1}\mathbf{W}^{\top}`, as returned by
    :meth:`DiffConv.transitions <pyg_ext.nn.conv.diff_conv.DiffConv.transitions>`; pass
    them to :class:`~pyg_ext.nn.conv.diff_conv.DiffConv` in place of :obj:`edge_index` to
    reuse one normalisation across layers and calls.

    Each operator is an :obj:`(adjacency, per-edge weight)` pair in the form
    :meth:`MessagePassing.propagate` takes: an edge index :math:`(2, E)` with weights
    :math:`(E)`, or an :math:`(N, N)` sparse matrix (CSR from :meth:`transitions`) with
    weight :obj:`None`. For CSR operators, :obj:`forward_t` and :obj:`backward_t` hold
    their transposes :math:`\mathbf{P}_f^{\top}` and :math:`\mathbf{P}_b^{\top}` (also
    CSR), built once with the operators so that the backward pass of every propagation
    uses them (:func:`~pyg_ext.utils.csr_matmul.csr_matmul`) instead of transposing a
    sparse matrix per call; they are :obj:`None` for edge-index operators, and may be
    :obj:`None` for hand-built CSR operators (then torch's own backward is used).

    :obj:`num_nodes` and :obj:`normalize` record the graph's :math:`N` and whether the
    degree normalisation was applied, so that :class:`DiffConv` can check them against its
    input and its own :obj:`normalize`.

    Args:
        forward (torch.Tensor or SparseTensor): :math:`\mathbf{P}_f`: row :math:`i`
            averages the nodes that :math:`i` points to.
        forward_weight (torch.Tensor, optional): Its per-edge weights, or :obj:`None` for a
            sparse matrix.
        backward (torch.Tensor or SparseTensor): :math:`\mathbf{P}_b`: row :math:`j`
            averages the nodes that point to :math:`j`.
        backward_weight (torch.Tensor, optional): Its per-edge weights, or :obj:`None` for
            a sparse matrix.
        num_nodes (int): Number of nodes :math:`N`.
        normalize (bool): Whether the degree normalisation was applied.
        forward_t (torch.Tensor, optional): :math:`\mathbf{P}_f^{\top}` as CSR.
            (default: :obj:`None`)
        backward_t (torch.Tensor, optional): :math:`\mathbf{P}_b^{\top}` as CSR.
            (default: :obj:`None`)

    Shapes:
        - **forward, backward:** edge indices :math:`(2, E)` or sparse matrices
          :math:`(N, N)`
        - **forward_weight, backward_weight:** :math:`(E)` or :obj:`None`
        - **forward_t, backward_t:** sparse CSR matrices :math:`(N, N)` or :obj:`None`
    """
    forward: Adj  # D_O^{-1} W: row i averages the nodes that i points to
    forward_weight: OptTensor  # [E] or None
    backward: Adj  # D_I^{-1} W^T: row j averages the nodes that point to j
    backward_weight: OptTensor  # [E] or None
    num_nodes: int
    normalize: bool
    forward_t: OptTensor = None  # [N, N] CSR (D_O^{-1} W)^T, or None
    backward_t: OptTensor = None  # [N, N] CSR (D_I^{-1} W^T)^T, or None


def diffusion_transitions(edge_index: Adj, edge_weight: OptTensor = None,
                          num_nodes: Optional[int] = None, dtype: Optional[torch.dtype] = None,
                          normalize: bool = True) -> DiffusionSupports:
    r"""Computes the forward and backward transition operators
    :math:`\mathbf{D}_O^{-1}\mathbf{W}` and :math:`\mathbf{D}_I^{-1}\mathbf{W}^{\top}`
    of a graph once, for any number of :class:`~pyg_ext.nn.conv.DiffConv` calls on it
    (pass the result in place of :obj:`edge_index`; also ``DiffConv.transitions``). Edges
    with their weights stay edges (with per-edge weights :math:`w_{ij} / d^{out}_i`, on
    the reversed edges, and :math:`w_{ij} / d^{in}_j`); a torch sparse adjacency gives
    two CSR matrices and their two transposes, which the backward pass of every
    propagation uses (fastest: build :obj:`adj_t = to_torch_csr_tensor(edge_index.flip(0),
    edge_weight, size=(N, N))` and pass that). Gradients flow back to :obj:`edge_weight`
    (through torch's own sparse backward when the CSR values require gradients).

    Args:
        edge_index (torch.Tensor or SparseTensor): The graph, in any form
            :class:`DiffConv` takes.
        edge_weight (torch.Tensor, optional): Edge weights; not with a sparse
            adjacency. (default: :obj:`None`, weight 1)
        num_nodes (int, optional): Number of nodes :math:`N`. (default: :obj:`None`,
            the sparse size, or :obj:`edge_index.max() + 1` for a plain edge index,
            which reads the indices on the host: pass it)
        dtype (torch.dtype, optional): The dtype of the weights; it must be the node
            features' dtype. (default: :obj:`None`, that of :obj:`edge_weight`, or
            torch's default)
        normalize (bool, optional): Apply the degree normalisation; must match the
            :obj:`normalize` of the layers that use the result. (default: :obj:`True`)

    Shapes:
        - **input:** edge indices :math:`(2, E)` or sparse matrix :math:`(N, N)`,
          edge weights :math:`(E)` *(optional)*
        - **output:** :class:`DiffusionSupports` with two operators of :math:`N` nodes
          (and, for a torch sparse adjacency, their transposes)
    """
    torch_sparse_input = isinstance(edge_index, SparseTensor)
    sparse = torch_sparse_input or is_torch_sparse_tensor(edge_index)
    if sparse:
        if edge_weight is not None:
            raise ValueError("'edge_weight' was given with a sparse adjacency; put the "
                             "weights in the sparse matrix's values instead")
        num_nodes = edge_index.size(0) if num_nodes is None else num_nodes
        if tuple(edge_index.size()) != (num_nodes, num_nodes):
            raise ValueError(f"the sparse adjacency has shape {list(edge_index.size())}, "
                             f"but the graph has {num_nodes} nodes (those of 'x'); "
                             f"expected [{num_nodes}, {num_nodes}]")
        edge_index, edge_weight = _sparse_to_edges(edge_index)
    else:
        check_edge_weight(edge_index, edge_weight)
        num_nodes = maybe_num_nodes(edge_index, num_nodes)
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.size(1), dtype=dtype, device=edge_index.device)
    elif dtype is not None:
        edge_weight = edge_weight.to(dtype)

    src, dst = edge_index[0], edge_index[1]
    if normalize:
        deg_out = scatter(edge_weight, src, dim=0, dim_size=num_nodes)  # [N]
        deg_in = scatter(edge_weight, dst, dim=0, dim_size=num_nodes)  # [N]
        fwd_weight = edge_weight * _inverse(deg_out)[src]  # [E]  w_ij / d_out(i)
        bwd_weight = edge_weight * _inverse(deg_in)[dst]  # [E]  w_ij / d_in(j)
    else:
        fwd_weight = bwd_weight = edge_weight

    if not sparse:
        # Forward: node i gathers from the targets j of its edges -> reverse the edges.
        return DiffusionSupports(edge_index.flip(0), fwd_weight, edge_index, bwd_weight,
                                 num_nodes, normalize)

    size = (num_nodes, num_nodes)
    if torch_sparse_input:  # pragma: no cover - torch_sparse is not installed in CI
        fwd = SparseTensor(row=src, col=dst, value=fwd_weight, sparse_sizes=size)
        bwd = SparseTensor(row=dst, col=src, value=bwd_weight, sparse_sizes=size)
        return DiffusionSupports(fwd, None, bwd, None, num_nodes, normalize)
    # Four CSR matrices: the operators and their transposes, for csr_matmul's backward.
    fwd = to_torch_csr_tensor(edge_index, fwd_weight, size=size)  # [N, N], row i
    bwd = to_torch_csr_tensor(edge_index.flip(0), bwd_weight, size=size)  # row j
    fwd_t = to_torch_csr_tensor(edge_index.flip(0), fwd_weight, size=size)  # P_f^T
    bwd_t = to_torch_csr_tensor(edge_index, bwd_weight, size=size)  # P_b^T
    return DiffusionSupports(fwd, None, bwd, None, num_nodes, normalize, fwd_t, bwd_t)


def _sparse_to_edges(adj_t) -> Tuple[Tensor, Tensor]:
    # adj_t[j, i] = W[i, j]  ->  edge_index [2, E] (row 0 = source i) and weights [E].
    if isinstance(adj_t, SparseTensor):  # pragma: no cover - needs torch_sparse
        row, col, value = adj_t.coo()
        if value is None:
            value = torch.ones(row.numel(), device=row.device)
        return torch.stack([col, row], dim=0), value
    indices, value = sparse_to_edge_index(adj_t)  # [2, E], [E]
    return indices.flip(0), value


def _inverse(deg: Tensor) -> Tensor:
    # 1 / deg with 0^{-1} = 0.
    inv = deg.reciprocal()
    return inv.masked_fill(deg == 0, 0.0)
