"""Input checks whose error messages name the fix.

All checks read only shapes and dtypes, so they never force a device sync and are
safe under ``torch.compile``.
"""
from typing import Optional, Sequence

import torch
from torch import Tensor


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
