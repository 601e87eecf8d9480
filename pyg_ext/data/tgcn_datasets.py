"""Los-loop and SZ-taxi in T-GCN's published layout (Zhao et al., T-ITS 2019).

Files (https://github.com/lehaifeng/T-GCN, folder ``data/``, MIT licence):

- ``los_speed.csv`` / ``sz_speed.csv``: a header row of sensor (road) ids, then one row per
  time step, speed in mph (Los-loop) or km/h (SZ-taxi).
- ``los_adj.csv`` / ``sz_adj.csv``: the ``[N, N]`` adjacency, no header.

Los-loop also ships inside pyg_ext (``pyg_ext/data/builtin/los_loop.npz``, built by
:func:`build_los_loop_builtin`), so :func:`load_los_loop` works with no files at all.

Dimensions: T - time steps, N - sensors, E - edges.
"""
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from pyg_ext.data.files import PathLike, find_file, read_csv_matrix
from pyg_ext.data.spatiotemporal_series import SpatioTemporalSeries

TGCN_SOURCE = 'T-GCN (https://github.com/lehaifeng/T-GCN, folder data/)'
BUILTIN_LOS_LOOP = Path(__file__).resolve().parent / 'builtin' / 'los_loop.npz'

#: First step of each series. Los-loop is the first week of METR-LA (1 March 2012, 00:00,
#: 5-minute steps; its columns follow METR-LA's sensor order); SZ-taxi covers January 2015
#: in 15-minute steps (T-GCN, Section IV-A). The CSVs carry no timestamps.
LOS_LOOP_START, LOS_LOOP_STEP = '2012-03-01T00:00', 300
SZ_TAXI_START, SZ_TAXI_STEP = '2015-01-01T00:00', 900


def _read_tgcn(root: PathLike, speed: str, adj: str, dataset: str):
    root = Path(root)
    values, header = read_csv_matrix(find_file(root, [speed], dataset, TGCN_SOURCE),
                                     header=True)  # [T, N]
    matrix, _ = read_csv_matrix(find_file(root, [adj], dataset, TGCN_SOURCE),
                                header=False)  # [N, N]
    if matrix.shape != (values.shape[1], values.shape[1]):
        raise ValueError(f"{dataset}: '{adj}' is {matrix.shape[0]}x{matrix.shape[1]} but "
                         f"'{speed}' has {values.shape[1]} sensor columns; use the files "
                         f"published together")
    return values.astype(np.float32), matrix.astype(np.float32), header


def _timestamps(start: str, step: int, num_steps: int) -> np.ndarray:
    return np.datetime64(start, 's') + np.arange(num_steps) * np.timedelta64(step, 's')


def build_los_loop_builtin(root: PathLike, out: PathLike = BUILTIN_LOS_LOOP) -> Path:
    r"""Convert T-GCN's ``los_speed.csv`` / ``los_adj.csv`` under ``root`` into the compressed
    built-in copy (``speed`` [T, N] float32, ``adj`` [N, N] float32, ``sensor_ids`` [N] str)."""
    speed, adj, header = _read_tgcn(root, 'los_speed.csv', 'los_adj.csv', 'los-loop')
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, speed=speed, adj=adj, sensor_ids=np.array(header))
    return out


def load_los_loop(root: Optional[PathLike] = None) -> SpatioTemporalSeries:
    r"""Los-loop: 207 loop detectors in Los Angeles, speed (mph) every 5 minutes,
    1-7 March 2012 (2,016 steps; gaps filled by linear interpolation upstream), from T-GCN
    (Zhao et al., T-ITS 2019).

    Args:
        root (str or Path, optional): Folder with ``los_speed.csv`` and ``los_adj.csv``.
            (default: :obj:`None`, the copy shipped in the package)

    Returns:
        :class:`SpatioTemporalSeries` with ``series [2016, 207, 1]``, the symmetric weighted
        graph of ``los_adj.csv`` (2,833 non-zeros, diagonal 1 kept as self-loops), 5-minute
        timestamps from 1 March 2012 00:00 and the sensor ids.
    """
    if root is None:
        with np.load(BUILTIN_LOS_LOOP) as f:
            speed, adj, header = f['speed'], f['adj'], [str(s) for s in f['sensor_ids']]
    else:
        speed, adj, header = _read_tgcn(root, 'los_speed.csv', 'los_adj.csv', 'los-loop')
    return SpatioTemporalSeries.from_dense(
        torch.from_numpy(speed), torch.from_numpy(adj), node_ids=header, name='los-loop',
        timestamps=_timestamps(LOS_LOOP_START, LOS_LOOP_STEP, speed.shape[0]))


def load_sz_taxi(root: PathLike) -> SpatioTemporalSeries:
    r"""SZ-taxi: taxi speed (km/h) on 156 roads of Luohu, Shenzhen, every 15 minutes,
    January 2015 (2,976 steps), from T-GCN (Zhao et al., T-ITS 2019).

    Args:
        root (str or Path): Folder with ``sz_speed.csv`` and ``sz_adj.csv``.

    Returns:
        :class:`SpatioTemporalSeries` with ``series [T, 156, 1]``, the road adjacency of
        ``sz_adj.csv``, 15-minute timestamps from 1 January 2015 00:00 and the
        road ids. Zeros are kept as observed (no missing-value convention is published).
    """
    speed, adj, header = _read_tgcn(root, 'sz_speed.csv', 'sz_adj.csv', 'sz-taxi')
    return SpatioTemporalSeries.from_dense(
        torch.from_numpy(speed), torch.from_numpy(adj), node_ids=header, name='sz-taxi',
        timestamps=_timestamps(SZ_TAXI_START, SZ_TAXI_STEP, speed.shape[0]))
