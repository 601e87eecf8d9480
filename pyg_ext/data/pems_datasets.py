"""PeMS03 / PeMS04 / PeMS07 / PeMS08 in ASTGCN's and STSGCN's published layout.

Files (ASTGCN, https://github.com/guoshnBJTU/ASTGCN-r-pytorch, and STSGCN,
https://github.com/Davidham3/STSGCN; one folder per dataset):

- ``pemsXX.npz`` (or ``PEMSXX.npz``): key ``data`` of shape ``[T, N, 3]`` = flow, occupancy,
  speed every 5 minutes (PeMS03: ``[T, N, 1]``, flow only).
- ``distance.csv``: header ``from,to,cost``, one row per road link, cost in metres.
- PeMS03 only: ``pems03.txt``, the sensor id of each node, because its ``distance.csv``
  refers to sensor ids rather than node indices.

Dimensions: T - time steps, N - sensors, F - features, E - edges.
"""
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from pyg_ext.data.files import PathLike, find_file, read_edge_list_csv
from pyg_ext.data.graph import edges_from_distances
from pyg_ext.data.spatiotemporal_series import SpatioTemporalSeries

PEMS_SOURCE = ('ASTGCN (https://github.com/guoshnBJTU/ASTGCN-r-pytorch, data/PEMS04 and '
               'data/PEMS08) or STSGCN (https://github.com/Davidham3/STSGCN, all four)')

#: First day of each series as stated by ASTGCN (PeMS04, PeMS08) and STSGCN (PeMS03,
#: PeMS07); the files carry no timestamps, so the first row is taken as midnight of that day.
PEMS_START = {
    'pems03': '2018-09-01',
    'pems04': '2018-01-01',
    'pems07': '2017-05-01',
    'pems08': '2016-07-01',
}
PEMS_FEATURES = ('flow', 'occupancy', 'speed')


def read_pems_graph(path: PathLike, num_nodes: int, weighting: str = 'gaussian',
                    sigma: Optional[float] = None, threshold: float = 0.0,
                    symmetric: bool = False,
                    node_ids: Optional[Sequence[str]] = None) -> Tuple[Tensor, Tensor]:
    r"""Read a PeMS ``distance.csv`` (``from,to,cost``) into ``(edge_index, edge_weight)``.

    Args:
        path (str or Path): The ``distance.csv`` file.
        num_nodes (int): The number of sensors (the graph may leave some isolated).
        weighting (str, optional): ``'gaussian'``:
            :math:`w_{ij} = \exp(-d_{ij}^2 / \sigma^2)` with :math:`\sigma` the standard
            deviation of the listed distances (DCRNN's kernel); ``'binary'``: 1 per listed
            link (ASTGCN); ``'distance'``: the cost itself. (default: :obj:`'gaussian'`)
        sigma (float, optional): Kernel width. (default: :obj:`None`)
        threshold (float, optional): Drop Gaussian weights below it. (default: :obj:`0.0`)
        symmetric (bool, optional): Add reverse links; as published the links are directed.
            (default: :obj:`False`)
        node_ids (sequence of str, optional): Sensor id of each node, when ``from``/``to``
            are sensor ids (PeMS03). (default: :obj:`None`, they are node indices)
    """
    src, dst, cost = read_edge_list_csv(path)
    if cost is None:
        raise ValueError(f"'{path}' has no 'cost' column; expected 'from,to,cost'")
    if node_ids is not None:
        index = {int(float(s)): i for i, s in enumerate(node_ids)}
        unknown = sorted({int(s) for s in np.concatenate([src, dst])} - set(index))
        if unknown:
            raise ValueError(f"'{path}' refers to sensors {unknown[:10]} that are not in the "
                             f"id list; use the id file published with it")
        src = np.array([index[int(s)] for s in src], dtype=np.int64)
        dst = np.array([index[int(s)] for s in dst], dtype=np.int64)
    if len(src) and max(src.max(), dst.max()) >= num_nodes:
        raise ValueError(f"'{path}' refers to node {max(src.max(), dst.max())} but the series "
                         f"has {num_nodes} nodes; use the distance.csv of the same dataset")
    return edges_from_distances(torch.from_numpy(src), torch.from_numpy(dst),
                                torch.from_numpy(cost), weighting, sigma, threshold, symmetric)


def load_pems(root: PathLike, name: str = 'pems04', features: Optional[Sequence[str]] = None,
              weighting: str = 'gaussian', sigma: Optional[float] = None,
              threshold: float = 0.0, symmetric: bool = False,
              start: Optional[str] = 'published') -> SpatioTemporalSeries:
    r"""PeMS03/04/07/08 traffic from Caltrans PeMS, 5-minute steps (ASTGCN, Guo et al.,
    AAAI 2019; STSGCN, Song et al., AAAI 2020).

    Args:
        root (str or Path): Folder with ``pemsXX.npz`` and ``distance.csv`` (and
            ``pems03.txt`` for PeMS03).
        name (str, optional): ``'pems03'``, ``'pems04'``, ``'pems07'`` or ``'pems08'``.
            (default: :obj:`'pems04'`)
        features (sequence of str, optional): Subset of ``('flow', 'occupancy', 'speed')``,
            in that order. (default: :obj:`None`, all in the file)
        weighting (str, optional): Edge weights, see :func:`read_pems_graph`.
            (default: :obj:`'gaussian'`)
        sigma (float, optional): Gaussian kernel width. (default: :obj:`None`)
        threshold (float, optional): Gaussian kernel threshold. (default: :obj:`0.0`)
        symmetric (bool, optional): Add reverse links. (default: :obj:`False`)
        start (str, optional): Date of the first row (midnight), giving 5-minute timestamps;
            ``'published'`` uses :obj:`PEMS_START`, :obj:`None` gives no timestamps.
            (default: :obj:`'published'`)

    Returns:
        :class:`SpatioTemporalSeries` with ``series [T, N, F]``; zeros are kept as observed
        values (a zero flow can be real); :func:`~pyg_ext.data.metrics.masked_mape` skips
        them anyway.
    """
    name = name.lower()
    if name not in PEMS_START:
        raise ValueError(f"unknown PeMS dataset {name!r}; use one of {sorted(PEMS_START)}")
    root = Path(root)
    npz = find_file(root, [f'{name}.npz', f'{name.upper()}.npz'], name, PEMS_SOURCE)
    with np.load(npz) as f:
        if 'data' not in f:
            raise ValueError(f"'{npz}' has keys {list(f.keys())}; the published layout "
                             f"stores the series under 'data' as [T, N, F]")
        data = np.asarray(f['data'], dtype=np.float32)
    if data.ndim == 2:
        data = data[..., None]  # [T, N, 1]
    if data.ndim != 3:
        raise ValueError(f"'{npz}': 'data' has shape {data.shape}; expected [T, N, F]")
    if features is not None:
        names = PEMS_FEATURES[:data.shape[-1]]
        unknown = [f for f in features if f not in names]
        if unknown:
            raise ValueError(f"{name} has features {names}; {unknown} are not among them")
        data = data[..., [names.index(f) for f in features]]  # [T, N, F']
    node_ids = None
    if name == 'pems03':
        ids = find_file(root, ['pems03.txt', 'PEMS03.txt'], name, PEMS_SOURCE)
        node_ids = [line.strip() for line in open(ids) if line.strip()]
        if len(node_ids) != data.shape[1]:
            raise ValueError(f"'{ids}' lists {len(node_ids)} sensors but '{npz.name}' has "
                             f"{data.shape[1]}; use the files published together")
    distance = find_file(root, ['distance.csv', f'{name.upper()}.csv', f'{name}.csv'], name,
                         PEMS_SOURCE)
    edge_index, edge_weight = read_pems_graph(distance, data.shape[1], weighting, sigma,
                                              threshold, symmetric, node_ids)
    timestamps = None
    if start is not None:
        first = np.datetime64(PEMS_START[name] if start == 'published' else start, 's')
        timestamps = first + np.arange(data.shape[0]) * np.timedelta64(300, 's')
    return SpatioTemporalSeries(torch.from_numpy(data), edge_index, edge_weight,
                                timestamps=timestamps, node_ids=node_ids, name=name)
