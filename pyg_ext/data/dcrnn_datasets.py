"""METR-LA and PEMS-BAY in DCRNN's published layout (Li et al., ICLR 2018).

Files (https://github.com/liyaguang/DCRNN, speed files linked from its README):

- ``metr-la.h5`` / ``pems-bay.h5``: a pandas HDF5 frame, rows = 5-minute timestamps,
  columns = sensor ids, speed in mph, zeros = missing.
- ``adj_mx.pkl`` / ``adj_mx_bay.pkl``: a pickle (``encoding='latin1'``) of
  ``(sensor_ids, sensor_id_to_ind, adj)``; ``adj`` is a float32 thresholded Gaussian kernel
  of road distance, directed, diagonal 1.

Dimensions: T - time steps, N - sensors, E - edges.
"""
import pickle
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import torch

from pyg_ext.data.files import PathLike, find_file, read_pandas_hdf, require_file
from pyg_ext.data.spatiotemporal_series import SpatioTemporalSeries

DCRNN_SOURCE = ('DCRNN (https://github.com/liyaguang/DCRNN: the graph pickles are in '
                'data/sensor_graph/, the .h5 speed files are linked from its README)')


def read_dcrnn_graph(path: PathLike) -> Tuple[List[str], np.ndarray]:
    r"""Read DCRNN's ``adj_mx.pkl``: returns ``(sensor_ids [N], adj [N, N] float32)``, where
    ``adj[i, j]`` weighs the edge :math:`i \to j`."""
    path = require_file(path, 'DCRNN sensor graph', DCRNN_SOURCE)
    with open(path, 'rb') as f:
        sensor_ids, sensor_id_to_ind, adj = pickle.load(f, encoding='latin1')
    sensor_ids = [str(s) for s in sensor_ids]
    adj = np.asarray(adj, dtype=np.float32)
    if adj.shape != (len(sensor_ids), len(sensor_ids)):
        raise ValueError(f"'{path}': the adjacency has shape {adj.shape} but the pickle "
                         f"lists {len(sensor_ids)} sensors")
    return sensor_ids, adj


#: Each dataset's files: ``name: (speed file, graph pickle)``.
DCRNN_FILES = {'metr-la': ('metr-la.h5', 'adj_mx.pkl'),
               'pems-bay': ('pems-bay.h5', 'adj_mx_bay.pkl')}


def load_dcrnn_dataset(name: str, root: PathLike, graph_root: Optional[PathLike] = None,
                       zero_is_missing: bool = True, engine: str = 'auto'
                       ) -> SpatioTemporalSeries:
    r"""One of DCRNN's speed datasets with its sensor graph: ``'metr-la'``
    (:func:`load_metr_la`) or ``'pems-bay'`` (:func:`load_pems_bay`).

    Args:
        name (str): ``'metr-la'`` or ``'pems-bay'``.
        root (str or Path): Folder holding the speed file (``metr-la.h5`` /
            ``pems-bay.h5``) and, unless :obj:`graph_root` is given, the graph pickle
            (``adj_mx.pkl`` / ``adj_mx_bay.pkl``).
        graph_root (str or Path, optional): Folder holding the graph pickle.
            (default: :obj:`None`, same as :obj:`root`)
        zero_is_missing (bool, optional): Mark zero speeds as missing, as published.
            (default: :obj:`True`)
        engine (str, optional): HDF5 reader, see :func:`~pyg_ext.data.files.read_pandas_hdf`.
            (default: :obj:`'auto'`)

    Returns:
        :class:`SpatioTemporalSeries` with ``series [T, N, 1]``, the directed graph of the
        pickle (self-loops included), timestamps and sensor ids. Columns of the speed file
        are put in the graph's sensor order.
    """
    if name not in DCRNN_FILES:
        raise ValueError(f"'{name}' is not one of DCRNN's datasets; choose one of "
                         f"{sorted(DCRNN_FILES)}")
    speed, graph = DCRNN_FILES[name]
    root = Path(root)
    speed_path = find_file(root, [speed], name, DCRNN_SOURCE)
    graph_path = find_file(Path(graph_root) if graph_root is not None else root, [graph], name,
                           DCRNN_SOURCE)
    sensor_ids, adj = read_dcrnn_graph(graph_path)
    values, columns, index = read_pandas_hdf(speed_path, engine=engine)  # [T, N]
    if columns != sensor_ids:
        missing = sorted(set(sensor_ids) - set(columns))
        if missing or len(columns) != len(sensor_ids):
            raise ValueError(
                f"{name}: '{speed_path.name}' has {len(columns)} sensor columns and "
                f"'{graph_path.name}' has {len(sensor_ids)} sensors; sensors of the graph "
                f"missing from the speed file: {missing[:10]}. Use the pair of files "
                f"published together")
        # Same sensors in another order: follow the graph's order.
        values = values[:, [columns.index(s) for s in sensor_ids]]  # [T, N]
    series = torch.from_numpy(values.astype(np.float32))  # [T, N]
    mask = torch.isfinite(series)
    if zero_is_missing:
        mask &= series != 0
    return SpatioTemporalSeries.from_dense(series, torch.from_numpy(adj), mask=mask,
                                           timestamps=index, node_ids=sensor_ids, name=name)


def load_metr_la(root: PathLike, graph_root: Optional[PathLike] = None,
                 zero_is_missing: bool = True, engine: str = 'auto') -> SpatioTemporalSeries:
    r"""METR-LA: 207 loop detectors on Los Angeles highways, speed (mph) every 5 minutes,
    1 March - 30 June 2012 (34,272 steps), from DCRNN (Li et al., ICLR 2018):
    ``series [T, 207, 1]`` and the directed graph of ``adj_mx.pkl`` (1,722 edges,
    self-loops included).

    :func:`load_dcrnn_dataset` with ``name='metr-la'``: :obj:`root` holds ``metr-la.h5``
    (and ``adj_mx.pkl`` unless :obj:`graph_root` is given); the arguments and the returned
    :class:`SpatioTemporalSeries` are described there.
    """
    return load_dcrnn_dataset('metr-la', root, graph_root, zero_is_missing, engine)


def load_pems_bay(root: PathLike, graph_root: Optional[PathLike] = None,
                  zero_is_missing: bool = True, engine: str = 'auto') -> SpatioTemporalSeries:
    r"""PEMS-BAY: 325 sensors in the San Francisco Bay Area, speed (mph) every 5 minutes,
    1 January - 31 May 2017 (52,116 steps), from DCRNN (Li et al., ICLR 2018):
    ``series [T, 325, 1]`` and the directed graph of ``adj_mx_bay.pkl`` (2,694 edges,
    self-loops included).

    :func:`load_dcrnn_dataset` with ``name='pems-bay'``: :obj:`root` holds ``pems-bay.h5``
    (and ``adj_mx_bay.pkl`` unless :obj:`graph_root` is given); the arguments and the
    returned :class:`SpatioTemporalSeries` are described there.
    """
    return load_dcrnn_dataset('pems-bay', root, graph_root, zero_is_missing, engine)
