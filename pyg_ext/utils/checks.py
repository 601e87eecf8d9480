"""Input checks whose error messages name the fix.

Dimensions: N - nodes (N_src, N_dst when bipartite), E - edges, F - features,
F_e - edge features, ``*`` - any leading dimensions.

All checks but :func:`check_index_range` read only shapes and dtypes, so they never force a
device sync and are safe under ``torch.compile``; :func:`check_index_range` reads the
indices and belongs on an error path.
"""
from typing import Optional, Sequence

import torch
from torch import Tensor
from torch_geometric.typing import Adj, OptTensor
from torch_geometric.utils import is_sparse


def check_feature_size(x: Tensor, expected: int, name: str = 'x', dim: int = -1) -> None:
    r"""Raise :class:`ValueError` if ``x.size(dim) != expected``."""
    if x.dim() == 0:
        raise ValueError(f"'{name}' is a scalar; expected a tensor whose dimension {dim} "
                         f"has size {expected}")
    if x.size(dim) != expected:
        raise ValueError(
            f"'{name}' has {x.size(dim)} features in dimension {dim}, but the layer was "
            f"built for {expected}; build the layer with in_channels={x.size(dim)} or "
            f"project the input to {expected} features first")


def check_edge_index(edge_index: Tensor, name: str = 'edge_index') -> None:
    r"""Raise if a dense ``edge_index`` is not an integer tensor of shape ``[2, E]``."""
    if not isinstance(edge_index, Tensor) or edge_index.is_sparse:
        return
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(
            f"'{name}' has shape {list(edge_index.shape)}; expected shape [2, E] (row 0 = "
            f"source, row 1 = target). If you have a list of (src, dst) pairs of shape "
            f"[E, 2], pass {name}.t()")
    if edge_index.dtype not in (torch.long, torch.int32, torch.int64):
        raise ValueError(
            f"'{name}' has dtype {edge_index.dtype}; expected an integer index tensor "
            f"(call {name}.long())")


def check_edge_weight(edge_index: Tensor, edge_weight: Optional[Tensor]) -> None:
    r"""Raise if a dense ``edge_index`` is not ``[2, E]`` integers (:func:`check_edge_index`)
    or ``edge_weight`` is given but not one weight per edge, ``[E]``."""
    check_edge_index(edge_index)
    if edge_weight is not None and (edge_weight.dim() != 1
                                    or edge_weight.numel() != edge_index.size(1)):
        raise ValueError(
            f"'edge_weight' has shape {list(edge_weight.shape)}, but edge_index has "
            f"{edge_index.size(1)} edges; expected shape [{edge_index.size(1)}] (one weight "
            f"per column of edge_index)")


def check_mask(mask: Optional[Tensor], expected: Sequence[int], name: str = 'mask') -> None:
    r"""Raise if ``mask`` cannot broadcast to the shape ``expected``."""
    if mask is None:
        return
    try:
        torch.broadcast_shapes(tuple(mask.shape), tuple(expected))
    except RuntimeError:
        raise ValueError(
            f"'{name}' has shape {list(mask.shape)}, which does not broadcast to "
            f"{list(expected)}; build it with that shape (or one that broadcasts to it, "
            f"with size-1 dimensions)") from None


def check_index_range(edge_index: Adj, num_nodes: int, num_dst: Optional[int] = None,
                      error: Optional[Exception] = None) -> None:
    r"""Raise an :class:`IndexError` that names the bad node if a dense :obj:`edge_index`
    points outside the :obj:`num_nodes` nodes of :obj:`x` (in dimension -2), or, when
    :obj:`num_dst` is given (a bipartite graph), if row 0 points outside the
    :obj:`num_nodes` source nodes or row 1 outside the :obj:`num_dst` target nodes;
    otherwise return. It reads the indices on the host (a device sync): call it on an error
    path, chained to the original :obj:`error`, not on every step."""
    if (not isinstance(edge_index, Tensor) or edge_index.is_sparse or edge_index.dim() != 2
            or edge_index.numel() == 0 or edge_index.is_floating_point()):
        return
    if num_dst is None:
        parts = ((edge_index, num_nodes, 'node', "'x' has"), )
    elif edge_index.size(0) == 2:
        parts = ((edge_index[0], num_nodes, 'source node', 'the source features have'),
                 (edge_index[1], num_dst, 'target node', 'the target features have'))
    else:
        return
    for index, num, what, owner in parts:
        low, high = int(index.min()), int(index.max())
        if low >= 0 and high < num:
            continue
        bad = low if low < 0 else high
        raise IndexError(
            f"'edge_index' refers to {what} {bad}, but {owner} {num} nodes in dimension -2 "
            f"(valid indices 0 ... {num - 1}); make sure x and edge_index describe the same "
            f"graph, or relabel the nodes (e.g. torch_geometric.utils.subgraph(..., "
            f"relabel_nodes=True))") from error


def check_node_inputs(x_src: Tensor, x_dst: Tensor, src_channels: int,
                      dst_channels: int) -> None:
    r"""Raise :class:`ValueError` unless the source and target node features are
    :obj:`[N, F]` or :obj:`[*, N, F]` with :obj:`src_channels` and :obj:`dst_channels`
    features (pass the same tensor twice for a graph that is not bipartite)."""
    for name, h, size in (('x_src', x_src, src_channels), ('x_dst', x_dst, dst_channels)):
        if h.dim() < 2:
            raise ValueError(
                f"'{name}' has shape {list(h.shape)}; expected [N, F] or [*, N, F] "
                f"(e.g. [B, T, N, F]); add a feature dimension with x[..., None]")
        check_feature_size(h, size, name)


def check_edge_inputs(edge_index: Adj, edge_attr: OptTensor, edge_dim: Optional[int]) -> None:
    r"""Raise :class:`ValueError` if a dense :obj:`edge_index` is not :obj:`[2, E]` integers,
    or :obj:`edge_attr` (:obj:`[E, F_e]` or :obj:`[*, E, F_e]`) does not match it and
    :obj:`edge_dim` (:obj:`None` for a layer without edge features). A sparse adjacency
    must carry its edge features in its values; see :func:`check_sparse_edge_attr`."""
    if is_sparse(edge_index):
        if edge_attr is not None:
            raise ValueError(
                "'edge_attr' was given with a sparse adjacency; put the edge features "
                "in the sparse matrix's values instead (a hybrid sparse tensor of "
                "shape [N_dst, N_src, F_e])")
        return
    check_edge_index(edge_index)
    if edge_dim is None:
        if edge_attr is not None:
            raise ValueError(
                f"'edge_attr' was given, but the layer was built without edge features; "
                f"build it with edge_dim={edge_attr.size(-1)}")
        return
    if edge_attr is None:
        raise ValueError(
            f"The layer was built with edge_dim={edge_dim} but no 'edge_attr' was given; "
            f"pass edge_attr of shape [E, {edge_dim}] or build the layer with "
            f"edge_dim=None")
    num_edges = edge_index.size(1)
    if edge_attr.dim() < 2 or edge_attr.size(-2) != num_edges:
        raise ValueError(
            f"'edge_attr' has shape {list(edge_attr.shape)}, but edge_index has {num_edges} "
            f"edges; expected shape [{num_edges}, {edge_dim}] (one row per column of "
            f"edge_index; use edge_attr[:, None] for a single feature)")
    check_feature_size(edge_attr, edge_dim, 'edge_attr')


def check_sparse_edge_attr(edge_attr: OptTensor, edge_dim: Optional[int]) -> None:
    r"""For use inside :meth:`message`: raise :class:`ValueError` if the edge features that a
    sparse adjacency's values gave (or did not give) disagree with :obj:`edge_dim`."""
    if (edge_dim is None) != (edge_attr is None):
        raise ValueError(
            f"The layer was built with edge_dim={edge_dim}, but the sparse adjacency "
            f"{'has no' if edge_attr is None else 'has'} edge features; match edge_dim to "
            f"the values of the sparse matrix (a hybrid sparse tensor of shape "
            f"[N_dst, N_src, F_e] carries F_e edge features)")


def check_gate_width(t: Tensor, expected: int, what: str, fix: str) -> None:
    r"""Raise :class:`ValueError` if ``t`` (e.g. the output of an injected gate map) has a
    last dimension other than ``expected``; :obj:`what` names ``t`` in the message and
    :obj:`fix` tells the user what to do."""
    if t.size(-1) != expected:
        raise ValueError(f"{what} has {t.size(-1)} features in its last dimension; expected "
                         f"{expected}. {fix}")
