r"""Turn any PyG adjacency into one edge list; self-loops and edge-attribute checks for it.

Dimensions: N_src / N_dst - source / target nodes (equal for a plain graph), E - edges,
F_E - edge features.

Attention layers need one score per edge, so they work on an edge list whatever form the
graph comes in: an :obj:`edge_index` tensor, a :class:`torch_geometric.EdgeIndex`, or a
transposed sparse adjacency :obj:`adj_t` (:obj:`adj_t[j, i]` = the edge :math:`i \to j`, PyG's
convention; a :class:`torch.sparse.Tensor`, or a :class:`torch_sparse.SparseTensor` where
installed), whose values may carry the edge features (a hybrid sparse tensor
:math:`[N_{dst}, N_{src}, F_E]`).
"""
from typing import Optional, Tuple, Union

import torch
from torch import Tensor
from torch_geometric.typing import Adj, OptTensor, SparseTensor
from torch_geometric.utils import is_torch_sparse_tensor, scatter, to_edge_index

from pyg_ext.utils.checks import check_edge_index


def to_edge_list(adj: Adj, edge_attr: OptTensor, num_src: int, num_dst: int,
                 keep_values: bool = True) -> Tuple[Tensor, OptTensor]:
    r"""Returns :obj:`(edge_index, edge_attr)`: an :math:`[2, E]` int64 edge index (row 0 =
    source, row 1 = target; an :class:`~torch_geometric.EdgeIndex` stays one) and the edge
    attributes, checked against it.

    For a sparse :obj:`adj` the attributes are the matrix's values (:obj:`None` with
    ``keep_values=False``, e.g. when the values are plain 1s a layer does not use), and
    :obj:`edge_attr` must be :obj:`None`: the order of the sparse entries is not the order
    of a separately given attribute tensor.

    Args:
        adj (torch.Tensor or EdgeIndex or SparseTensor): The graph.
        edge_attr (torch.Tensor, optional): Attributes :math:`[E]` or :math:`[E, *]` of a
            dense :obj:`edge_index`.
        num_src (int): Number of source nodes (columns of :obj:`adj_t`).
        num_dst (int): Number of target nodes (rows of :obj:`adj_t`).
        keep_values (bool, optional): Return a sparse matrix's values as the attributes.
            (default: :obj:`True`)
    """
    if isinstance(adj, SparseTensor):  # pragma: no cover - torch_sparse is not installed in CI
        _check_sparse_size(tuple(adj.sparse_sizes()), num_src, num_dst, edge_attr)
        row, col, value = adj.coo()
        return torch.stack([col, row], dim=0), value if keep_values else None
    if is_torch_sparse_tensor(adj):
        _check_sparse_size(tuple(adj.shape[:2]), num_src, num_dst, edge_attr)
        index, value = to_edge_index(adj)  # [2, E] (row 0 = target), [E, *]
        return index.flip(0), value if keep_values else None
    check_edge_index(adj)
    if adj.dtype != torch.long:
        adj = adj.long()
    if edge_attr is not None and (edge_attr.dim() == 0 or edge_attr.size(0) != adj.size(1)):
        raise ValueError(
            f"'edge_attr' has shape {list(edge_attr.shape)}, but edge_index has {adj.size(1)} "
            f"edges; expected one row per column of edge_index, shape [{adj.size(1)}, *]")
    return adj, edge_attr


def _check_sparse_size(shape: Tuple[int, ...], num_src: int, num_dst: int,
                       edge_attr: Optional[Tensor]) -> None:
    if shape != (num_dst, num_src):
        raise ValueError(
            f"the sparse adjacency has shape {list(shape)}, but the inputs have {num_src} "
            f"source and {num_dst} target nodes; expected adj_t of shape [{num_dst}, "
            f"{num_src}] (adj_t[j, i] = edge i -> j)")
    if edge_attr is not None:
        raise ValueError("'edge_attr' was given with a sparse adjacency; put the edge features "
                         "in the sparse matrix's values instead (a hybrid tensor [N, N, F_E], "
                         "e.g. to_torch_csr_tensor(edge_index.flip(0), edge_attr))")


def add_self_loops_masked(edge_index: Tensor, edge_attr: OptTensor, size: Tuple[int, int],
                          fill_value: Union[float, Tensor, str] = 'mean'
                          ) -> Tuple[Tensor, OptTensor, Tensor]:
    r"""Appends the self-loops :math:`(i, i)`, :math:`i < \min(N_{src}, N_{dst})`, and
    returns :obj:`(edge_index, edge_attr, loop_mask)` with :obj:`loop_mask` :math:`[E + N]`
    :obj:`True` at the loops that were already in the graph.

    :func:`torch_geometric.utils.add_self_loops` after
    :func:`~torch_geometric.utils.remove_self_loops` gives a graph whose size depends on the
    data (a graph break under :func:`torch.compile`); here nothing is removed and an attention
    layer masks the old loops out of its softmax instead (the added loop keeps every such
    softmax non-empty), which gives the same result with static shapes. The added loops'
    attributes follow :obj:`fill_value` as in PyG: a number or tensor, or :obj:`'mean'`,
    :obj:`'add'`, :obj:`'max'`, :obj:`'min'` of the node's incoming edges other than old
    loops (0 for a node with none).

    Shapes: :obj:`edge_index` :math:`[2, E] \to [2, E + N]`, :obj:`edge_attr`
    :math:`[E, *] \to [E + N, *]`.
    """
    num_loops = min(size)
    is_loop = edge_index[0] == edge_index[1]  # [E]
    if edge_attr is not None:
        loop_attr = _loop_attr(edge_index[1], edge_attr, is_loop, size[1], fill_value)
        edge_attr = torch.cat([edge_attr, loop_attr[:num_loops]], dim=0)  # [E + N, *]
    loop = torch.arange(num_loops, device=edge_index.device)  # [N]
    edge_index = torch.cat([edge_index, loop.repeat(2, 1)], dim=1)  # [2, E + N]
    loop_mask = torch.cat([is_loop, is_loop.new_zeros(num_loops)])  # [E + N]
    return edge_index, edge_attr, loop_mask


def _loop_attr(dst: Tensor, edge_attr: Tensor, is_loop: Tensor, num_dst: int,
               fill: Union[float, Tensor, str]) -> Tensor:
    if not isinstance(fill, str):
        fill = torch.as_tensor(fill, dtype=edge_attr.dtype, device=edge_attr.device)
        return fill.expand(num_dst, *edge_attr.shape[1:])  # [N_dst, *]
    keep = (~is_loop).view(-1, *([1] * (edge_attr.dim() - 1)))  # [E, 1, ...]
    if fill in ('mean', 'add'):
        total = scatter(edge_attr * keep, dst, 0, num_dst, reduce='sum')  # [N_dst, *]
        if fill == 'add':
            return total
        count = scatter(keep.to(edge_attr.dtype), dst, 0, num_dst, reduce='sum')  # [N_dst, 1..]
        return total / count.clamp(min=1)
    if fill not in ('max', 'min'):
        raise ValueError(f"fill_value='{fill}' is unknown; use a number, a tensor, 'mean', "
                         f"'add', 'max' or 'min'")
    masked = edge_attr.masked_fill(~keep, float('-inf') if fill == 'max' else float('inf'))
    out = scatter(masked, dst, 0, num_dst, reduce=fill)  # [N_dst, *]
    return out.masked_fill(out.isinf(), 0.0)  # no incoming edge but old loops: 0, as PyG


def check_edge_attr(edge_attr: OptTensor, edge_dim: Optional[int]) -> None:
    r"""Raises if :obj:`edge_attr` does not fit a layer built with :obj:`edge_dim` (:obj:`None`
    = no edge features): it must be :math:`[E, F_E]` (or :math:`[E]` for :math:`F_E = 1`)
    exactly when :obj:`edge_dim` is set."""
    if edge_dim is None:
        if edge_attr is not None:
            raise ValueError(f"'edge_attr' was given, but the layer was built without edge "
                             f"features; build it with edge_dim="
                             f"{edge_attr.size(-1) if edge_attr.dim() > 1 else 1}")
        return
    if edge_attr is None:
        raise ValueError(f"The layer was built with edge_dim={edge_dim}; pass edge_attr of "
                         f"shape [E, {edge_dim}] (or build it with edge_dim=None)")
    width = edge_attr.size(-1) if edge_attr.dim() > 1 else 1
    if edge_attr.dim() > 2 or width != edge_dim:
        raise ValueError(f"'edge_attr' has shape {list(edge_attr.shape)}, but the layer was "
                         f"built with edge_dim={edge_dim}; pass [E, {edge_dim}] or build it "
                         f"with edge_dim={width}")
