"""Bring your own data: a series file plus an adjacency matrix or an edge list.

Series: ``[T, N]`` or ``[T, N, F]`` from ``.csv`` (``[T, N]``; optional header row of node
ids), ``.npy``, ``.npz`` (one array, or the one named by ``key``) or ``.h5`` / ``.hdf5``
(a pandas frame written by :meth:`pandas.DataFrame.to_hdf`, or an h5py dataset named by
``key``). Graph: a dense ``[N, N]`` matrix (``.csv`` without header, or ``.npy``), DCRNN's
sensor-graph pickle (``.pkl``) or an edge list CSV ``from,to[,weight]`` of node indices
(:func:`load_graph`, which also gives a named dataset another graph).

Dimensions: T - time steps, N - nodes, F - features, E - edges.
"""
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from pyg_ext.data.dcrnn_datasets import read_dcrnn_graph
from pyg_ext.data.files import PathLike, read_csv_matrix, read_edge_list_csv, read_pandas_hdf
from pyg_ext.data.graph import dense_to_edges
from pyg_ext.data.spatiotemporal_series import SpatioTemporalSeries, check_node_range


def _read_series(path: Path, key: Optional[str], header: Optional[bool]
                 ) -> Tuple[np.ndarray, Optional[List[str]], Optional[np.ndarray]]:
    suffix = path.suffix.lower()
    if suffix == '.csv':
        values, names = read_csv_matrix(path, header=header)
        return values, names, None
    if suffix == '.npy':
        return np.load(path), None, None
    if suffix == '.npz':
        with np.load(path) as f:
            keys = list(f.keys())
            if key is None and len(keys) != 1:
                raise ValueError(f"'{path}' holds the arrays {keys}; pass key= to choose one")
            key = keys[0] if key is None else key
            if key not in keys:
                raise ValueError(f"'{path}' has no array {key!r}; it holds {keys}")
            return np.asarray(f[key]), None, None
    if suffix in ('.h5', '.hdf5'):
        import h5py
        with h5py.File(path, 'r') as f:
            frames = [k for k in f.keys() if 'pandas_type' in f[k].attrs]
            datasets = [k for k in f.keys() if isinstance(f[k], h5py.Dataset)]
            if key is None:
                if len(frames) + len(datasets) != 1:
                    raise ValueError(f"'{path}' holds {frames + datasets}; pass key= to "
                                     f"choose one")
                key = (frames + datasets)[0]
            if key not in f:
                raise ValueError(f"'{path}' has no entry {key!r}; it holds {list(f.keys())}")
            is_frame = 'pandas_type' in f[key].attrs
            if not is_frame:
                return np.asarray(f[key]), None, None
        values, columns, index = read_pandas_hdf(path, key=key)
        return values, columns, index
    raise ValueError(f"'{path}': unknown series format {suffix!r}; use .csv, .npy, .npz, "
                     f".h5 or .hdf5")


def load_custom(
    series: PathLike,
    adjacency: Optional[PathLike] = None,
    edge_list: Optional[PathLike] = None,
    key: Optional[str] = None,
    header: Optional[bool] = None,
    zero_is_missing: bool = False,
    num_nodes: Optional[int] = None,
    name: Optional[str] = None,
) -> SpatioTemporalSeries:
    r"""Load a series and its graph from your own files.

    Args:
        series (str or Path): The series file, ``[T, N]`` or ``[T, N, F]`` (see module doc).
        adjacency (str or Path, optional): Dense ``[N, N]`` matrix, ``.csv`` or ``.npy``
            (``adj[i, j] != 0`` is the edge :math:`i \to j`), or DCRNN's ``.pkl``
            (:func:`load_graph`). (default: :obj:`None`)
        edge_list (str or Path, optional): CSV ``from,to[,weight]`` of node indices
            (header optional; weights default to 1). (default: :obj:`None`)
        key (str, optional): Array name inside ``.npz`` / ``.h5``. (default: :obj:`None`)
        header (bool, optional): Whether a CSV series starts with a row of node ids; pass
            :obj:`True` when the ids are numbers. (default: :obj:`None`, a header exactly when
            the first row is not all numbers)
        zero_is_missing (bool, optional): Mark zeros as missing. ``NaN`` is always missing.
            (default: :obj:`False`)
        num_nodes (int, optional): Expected ``N``, checked against both files.
            (default: :obj:`None`)
        name (str, optional): Name of the dataset. (default: :obj:`None`, the file's stem)

    Exactly one of :obj:`adjacency` and :obj:`edge_list` must be given. A pandas HDF5 frame
    with a datetime index gives timestamps; column headers give node ids.
    """
    if (adjacency is None) == (edge_list is None):
        raise ValueError("pass exactly one of adjacency= (a dense [N, N] matrix or DCRNN's "
                         "adj_mx.pkl) and edge_list= (a 'from,to[,weight]' CSV)")
    path = Path(series)
    if not path.is_file():
        raise FileNotFoundError(f"series file '{path}' not found")
    values, node_ids, index = _read_series(path, key, header)
    if values.ndim not in (2, 3):
        raise ValueError(f"'{path}' holds an array of shape {list(values.shape)}; expected "
                         f"[T, N] or [T, N, F]")
    values = torch.from_numpy(np.asarray(values, dtype=np.float32))
    n = values.size(1)
    if num_nodes is not None and num_nodes != n:
        raise ValueError(f"'{path}' has {n} nodes (dimension 1) but num_nodes={num_nodes}")
    mask = torch.isfinite(values)
    if zero_is_missing:
        mask &= values != 0
    edge_index, edge_weight = load_graph(adjacency, edge_list, num_nodes=n, node_ids=node_ids)
    return SpatioTemporalSeries(values, edge_index, edge_weight, mask=mask, timestamps=index,
                                node_ids=node_ids, name=name or path.stem)


def load_graph(adjacency: Optional[PathLike] = None, edge_list: Optional[PathLike] = None,
               num_nodes: Optional[int] = None, node_ids: Optional[List[str]] = None
               ) -> Tuple[Tensor, Tensor]:
    r"""Read a graph file of :obj:`num_nodes` nodes: a dense adjacency (``.csv`` without
    header or ``.npy``; ``adj[i, j] != 0`` is the edge :math:`i \to j`, in the series' node
    order), DCRNN's sensor-graph pickle (``.pkl``, e.g. ``adj_mx.pkl``; its sensors are
    matched to :obj:`node_ids` by name and put in their order), or an edge list CSV
    ``from,to[,weight]`` of node indices (weights default to 1).

    Args:
        adjacency (str or Path, optional): The dense matrix or DCRNN pickle.
        edge_list (str or Path, optional): Or the edge list.
        num_nodes (int, optional): The series' node count :math:`N`, checked against the
            file. (default: :obj:`None`, not checked)
        node_ids (list of str, optional): The series' node names, matched against a
            pickle's sensor ids. (default: :obj:`None`: the pickle's order is taken as the
            series')

    Exactly one of :obj:`adjacency` and :obj:`edge_list` must be given.

    Shapes:
        - **output:** ``edge_index`` :math:`(2, E)` long, ``edge_weight`` :math:`(E)`
          float32
    """
    if (adjacency is None) == (edge_list is None):
        raise ValueError("pass exactly one of adjacency= (a dense [N, N] matrix or DCRNN's "
                         "adj_mx.pkl) and edge_list= (a 'from,to[,weight]' CSV)")
    if adjacency is None:
        list_path = Path(edge_list)
        if not list_path.is_file():
            raise FileNotFoundError(f"edge list file '{list_path}' not found")
        src, dst, weight = read_edge_list_csv(list_path)
        edge_index = torch.from_numpy(np.stack([src, dst])).long()  # [2, E]
        if num_nodes is not None:
            check_node_range(edge_index, num_nodes, f"the edge list '{list_path.name}'")
        edge_weight = (torch.ones(edge_index.size(1)) if weight is None
                       else torch.from_numpy(weight.astype(np.float32)))
        return edge_index, edge_weight
    adj_path = Path(adjacency)
    if not adj_path.is_file():
        raise FileNotFoundError(f"adjacency file '{adj_path}' not found")
    suffix = adj_path.suffix.lower()
    if suffix == '.pkl':
        sensor_ids, adj = read_dcrnn_graph(adj_path)
        if node_ids is not None and sensor_ids != list(node_ids):
            missing = [i for i in node_ids if i not in set(sensor_ids)]
            if missing or len(sensor_ids) != len(node_ids):
                raise ValueError(
                    f"the graph '{adj_path.name}' has {len(sensor_ids)} sensors and the "
                    f"series {len(node_ids)} nodes; nodes of the series missing from the "
                    f"graph: {missing[:10]}. The graph must cover the same sensors")
            order = [sensor_ids.index(i) for i in node_ids]
            adj = adj[np.ix_(order, order)]  # the series' node order
    elif suffix == '.npy':
        adj = np.load(adj_path)
    else:
        adj, _ = read_csv_matrix(adj_path, header=False)
    if num_nodes is not None and adj.shape != (num_nodes, num_nodes):
        raise ValueError(f"the adjacency '{adj_path.name}' has shape {list(adj.shape)} but "
                         f"the series has {num_nodes} nodes; expected [{num_nodes}, "
                         f"{num_nodes}] in the series' node order")
    return dense_to_edges(torch.from_numpy(np.asarray(adj, dtype=np.float32)))
