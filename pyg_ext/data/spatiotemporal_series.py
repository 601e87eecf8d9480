"""A multivariate time series on the nodes of a graph, with its mask of observed values.

Dimensions: T - time steps, N - nodes, F - features per node, E - edges.
"""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from pyg_ext.data.graph import dense_to_edges
from pyg_ext.utils.checks import check_edge_index

ArrayLike = Union[Tensor, np.ndarray]


class SpatioTemporalSeries:
    r"""A spatio-temporal series: ``T`` time steps of ``F`` features on ``N`` nodes of a graph.

    Missing values are explicit. Every non-finite entry of :obj:`series` (``NaN``, ``inf``) is
    replaced by ``0`` and marked ``False`` in :obj:`mask`, so a missing value is never used as
    if it had been observed; metrics, scalers and baselines of :mod:`pyg_ext.data` read the
    mask. Loaders whose format encodes missing values as zeros (METR-LA, PEMS-BAY) pass the
    corresponding mask.

    The graph is static (:obj:`edge_index` of shape ``[2, E]``) or, when :obj:`edge_ptr` is
    given, dynamic: the edges of step :math:`t` are the columns
    ``edge_ptr[t]:edge_ptr[t + 1]`` of :obj:`edge_index` (a CSR layout over time, as
    :class:`torch_geometric.data.Batch` stores graphs), read with :meth:`graph_at`.

    Args:
        series (torch.Tensor or numpy.ndarray): The values, ``[T, N, F]`` or ``[T, N]`` (read
            as ``F = 1``). Stored as ``float32``.
        edge_index (torch.Tensor or numpy.ndarray): Edges ``[2, E]``, row 0 = source,
            row 1 = target.
        edge_weight (torch.Tensor or numpy.ndarray, optional): Edge weights ``[E]``.
            (default: :obj:`None`, all ones)
        mask (torch.Tensor or numpy.ndarray, optional): Boolean ``[T, N, F]`` (or ``[T, N]``)
            of observed values. (default: :obj:`None`, every finite value is observed)
        timestamps (torch.Tensor or numpy.ndarray, optional): ``[T]`` time of each step, as
            integer seconds since 1970-01-01 (``numpy.datetime64`` arrays are converted).
            (default: :obj:`None`)
        node_ids (sequence of str, optional): ``N`` node names, e.g. sensor ids.
            (default: :obj:`None`)
        edge_ptr (torch.Tensor or numpy.ndarray, optional): ``[T + 1]`` offsets of each
            step's edges for a dynamic graph. (default: :obj:`None`, static graph)
        name (str, optional): The dataset's name. (default: :obj:`None`)

    Shapes:
        - **series**: :math:`(T, N, F)`, **mask**: :math:`(T, N, F)` bool
        - **edge_index**: :math:`(2, E)`, **edge_weight**: :math:`(E)`
        - **timestamps**: :math:`(T)` int64 seconds, **edge_ptr**: :math:`(T + 1)`
    """

    def __init__(
        self,
        series: ArrayLike,
        edge_index: ArrayLike,
        edge_weight: Optional[ArrayLike] = None,
        mask: Optional[ArrayLike] = None,
        timestamps: Optional[ArrayLike] = None,
        node_ids: Optional[Sequence[str]] = None,
        edge_ptr: Optional[ArrayLike] = None,
        name: Optional[str] = None,
    ):
        series = torch.as_tensor(series).to(torch.float32)
        if series.dim() == 2:
            series = series.unsqueeze(-1)  # [T, N, 1]
        if series.dim() != 3:
            raise ValueError(f"'series' has shape {list(series.shape)}; expected [T, N, F] "
                             f"or [T, N] (time steps, nodes, features)")
        finite = torch.isfinite(series)
        if mask is None:
            mask = finite
        else:
            mask = torch.as_tensor(mask).to(torch.bool)
            if mask.dim() == 2:
                mask = mask.unsqueeze(-1)  # [T, N, 1]
            if mask.shape != series.shape:
                raise ValueError(f"'mask' has shape {list(mask.shape)} but 'series' has shape "
                                 f"{list(series.shape)}; pass a boolean mask of the same shape")
            mask = mask & finite
        self.series = torch.where(finite, series, torch.zeros((), dtype=series.dtype))
        self.mask = mask

        edge_index = torch.as_tensor(edge_index)
        check_edge_index(edge_index)
        self.edge_index = edge_index.long()
        num_edges = self.edge_index.size(1)
        if edge_weight is None:
            edge_weight = torch.ones(num_edges)
        edge_weight = torch.as_tensor(edge_weight).to(torch.float32).reshape(-1)
        if edge_weight.numel() != num_edges:
            raise ValueError(f"'edge_weight' has {edge_weight.numel()} entries but 'edge_index' "
                             f"has {num_edges} edges; pass one weight per edge")
        self.edge_weight = edge_weight
        num_nodes = self.series.size(1)
        check_node_range(self.edge_index, num_nodes)

        self.edge_ptr = None
        if edge_ptr is not None:
            edge_ptr = torch.as_tensor(edge_ptr).long().reshape(-1)
            if edge_ptr.numel() != self.num_steps + 1:
                raise ValueError(f"'edge_ptr' has {edge_ptr.numel()} entries; a dynamic graph "
                                 f"needs T + 1 = {self.num_steps + 1} offsets (one graph per "
                                 f"time step)")
            if (int(edge_ptr[0]) != 0 or int(edge_ptr[-1]) != num_edges
                    or bool((edge_ptr.diff() < 0).any())):
                raise ValueError(f"'edge_ptr' must rise from 0 to the number of edges "
                                 f"({num_edges}); got {edge_ptr.tolist()[:5]}...")
            self.edge_ptr = edge_ptr

        self.timestamps = None
        if timestamps is not None:
            timestamps = _to_seconds(timestamps)
            if timestamps.numel() != self.num_steps:
                raise ValueError(f"'timestamps' has {timestamps.numel()} entries but the series "
                                 f"has {self.num_steps} time steps; pass one per step")
            self.timestamps = timestamps
        self.node_ids: Optional[List[str]] = None
        if node_ids is not None:
            node_ids = [str(i) for i in node_ids]
            if len(node_ids) != num_nodes:
                raise ValueError(f"'node_ids' has {len(node_ids)} names but the series has "
                                 f"{num_nodes} nodes; pass one name per node")
            self.node_ids = node_ids
        self.name = name

    @classmethod
    def from_dense(cls, series: ArrayLike, adj: ArrayLike, **kwargs) -> 'SpatioTemporalSeries':
        r"""Build from a dense ``[N, N]`` adjacency; ``adj[i, j] != 0`` is the edge
        :math:`i \to j` with weight ``adj[i, j]``."""
        series = torch.as_tensor(series)
        adj = torch.as_tensor(adj)
        if adj.dim() != 2 or adj.size(0) != adj.size(1):
            raise ValueError(f"the adjacency has shape {list(adj.shape)}; expected a square "
                             f"[N, N] matrix")
        if adj.size(0) != series.size(1):
            raise ValueError(f"the adjacency has {adj.size(0)} nodes but the series has "
                             f"{series.size(1)} (dimension 1 of [T, N, F]); they must "
                             f"describe the same nodes in the same order")
        edge_index, edge_weight = dense_to_edges(adj)
        return cls(series, edge_index, edge_weight, **kwargs)

    def with_graph(self, edge_index: ArrayLike,
                   edge_weight: Optional[ArrayLike] = None) -> 'SpatioTemporalSeries':
        r"""The same series (values, mask, timestamps and node names) on another static
        graph, checked as the constructor checks it; e.g. Los-loop on DCRNN's directed
        METR-LA graph of the same sensors. :obj:`self` keeps its graph.

        Shapes:
            - **edge_index**: :math:`(2, E)`, **edge_weight**: :math:`(E)` *(optional)*
        """
        return SpatioTemporalSeries(self.series, edge_index, edge_weight, mask=self.mask,
                                    timestamps=self.timestamps, node_ids=self.node_ids,
                                    name=self.name)

    @property
    def num_steps(self) -> int:
        return self.series.size(0)

    @property
    def num_nodes(self) -> int:
        return self.series.size(1)

    @property
    def num_features(self) -> int:
        return self.series.size(2)

    @property
    def num_edges(self) -> int:
        return self.edge_index.size(1)

    @property
    def is_dynamic(self) -> bool:
        return self.edge_ptr is not None

    def graph_at(self, t: int) -> Tuple[Tensor, Tensor]:
        r"""The graph ``(edge_index [2, E_t], edge_weight [E_t])`` of step ``t`` (views); the
        static graph for every ``t`` when the graph is static."""
        if not -self.num_steps <= t < self.num_steps:
            raise IndexError(f"step {t} is outside the series of {self.num_steps} steps")
        if self.edge_ptr is None:
            return self.edge_index, self.edge_weight
        t = t % self.num_steps
        lo, hi = int(self.edge_ptr[t]), int(self.edge_ptr[t + 1])
        return self.edge_index[:, lo:hi], self.edge_weight[lo:hi]

    def to(self, device) -> 'SpatioTemporalSeries':
        r"""Move every tensor to ``device`` (in place); returns ``self``."""
        for key in ('series', 'mask', 'edge_index', 'edge_weight', 'timestamps', 'edge_ptr'):
            value = getattr(self, key)
            if value is not None:
                setattr(self, key, value.to(device))
        return self

    def __repr__(self) -> str:
        graph = f'E={self.num_edges}' + (', dynamic' if self.is_dynamic else '')
        name = f'{self.name!r}, ' if self.name else ''
        return (f'{self.__class__.__name__}({name}T={self.num_steps}, N={self.num_nodes}, '
                f'F={self.num_features}, {graph})')


def check_node_range(edge_index: Tensor, num_nodes: int, source: str = 'the graph') -> None:
    r"""Raise a :class:`ValueError` naming the bad node if :obj:`edge_index` ``[2, E]``
    points outside the :obj:`num_nodes` nodes of a series; :obj:`source` names the graph
    in the message (e.g. the file it was read from)."""
    if edge_index.numel() == 0:
        return
    low, high = int(edge_index.min()), int(edge_index.max())
    if low < 0 or high >= num_nodes:
        raise ValueError(
            f"{source} refers to node {high if high >= num_nodes else low}, but the series "
            f"has {num_nodes} nodes (indices 0..{num_nodes - 1}); the adjacency and the "
            f"series must describe the same nodes in the same order")


def _to_seconds(timestamps: ArrayLike) -> Tensor:
    if isinstance(timestamps, np.ndarray) and np.issubdtype(timestamps.dtype, np.datetime64):
        timestamps = timestamps.astype('datetime64[s]').astype(np.int64)
    timestamps = torch.as_tensor(timestamps).reshape(-1)
    if timestamps.is_floating_point() or timestamps.dtype == torch.bool:
        raise ValueError("'timestamps' must be integer seconds since 1970-01-01 or a "
                         "numpy.datetime64 array; convert with "
                         "np.asarray(ts, dtype='datetime64[s]')")
    return timestamps.long()
