"""The JSON datasets of PyTorch Geometric Temporal (Rozemberczki et al., CIKM 2021).

Files (https://github.com/benedekrozemberczki/pytorch_geometric_temporal, folder
``dataset/``, MIT licence), as published:

- ``chickenpox.json``: ``edges`` (pairs), ``node_ids`` (county -> index), ``FX`` ``[T, N]``
  weekly chickenpox cases per Hungarian county, z-scored; unweighted graph.
- ``pedalme_london.json``: ``edges`` (pairs), ``weights`` ``[E]``, ``X`` ``[T, N]`` weekly
  bicycle deliveries per London area.
- ``england_covid.json``: ``y`` ``[T, N]`` daily COVID-19 cases per English region,
  ``time_periods`` = T, and ``edge_mapping`` = ``{'edge_index': {'t': pairs},
  'edge_weight': {'t': weights}}``: a different mobility graph each day.

PyTorch Geometric Temporal turns these series into lagged features inside its loaders; here
the raw series is kept (``[T, N, 1]``) and lags come from
:class:`~pyg_ext.data.window_dataset.WindowDataset`. The files carry no dates, so no
timestamps are attached.

Dimensions: T - time steps, N - nodes, E - edges.
"""
import json
from pathlib import Path

import numpy as np
import torch

from pyg_ext.data.files import PathLike, find_file
from pyg_ext.data.spatiotemporal_series import SpatioTemporalSeries

PYG_TEMPORAL_SOURCE = ('PyTorch Geometric Temporal '
                       '(https://github.com/benedekrozemberczki/pytorch_geometric_temporal, '
                       'folder dataset/)')


def _read_json(root: PathLike, name: str, keys) -> dict:
    path = find_file(Path(root), [f'{name}.json'], name, PYG_TEMPORAL_SOURCE)
    with open(path) as f:
        data = json.load(f)
    missing = [k for k in keys if k not in data]
    if missing:
        raise ValueError(f"'{path}' lacks the keys {missing}; expected the published layout "
                         f"with keys {list(keys)}")
    return data


def _pairs(edges, where: str) -> torch.Tensor:
    edge_index = torch.tensor(edges, dtype=torch.long).reshape(-1, 2).t()  # [2, E]
    if edge_index.numel() == 0 and len(edges):
        raise ValueError(f"{where}: edges must be a list of [source, target] pairs")
    return edge_index


def load_chickenpox(root: PathLike) -> SpatioTemporalSeries:
    r"""Hungarian chickenpox cases: 20 counties, 521 weeks from January 2005, z-scored as
    published (Rozemberczki et al., CIKM 2021).

    Args:
        root (str or Path): Folder with ``chickenpox.json``.

    Returns:
        :class:`SpatioTemporalSeries` with ``series [521, 20, 1]``, 102 unit-weight edges
        (self-loops included) and the county names as node ids.
    """
    data = _read_json(root, 'chickenpox', ('edges', 'node_ids', 'FX'))
    by_index = sorted(data['node_ids'].items(), key=lambda kv: kv[1])
    return SpatioTemporalSeries(np.asarray(data['FX'], dtype=np.float32),
                                _pairs(data['edges'], 'chickenpox'),
                                node_ids=[k for k, _ in by_index], name='chickenpox')


def load_pedalme_london(root: PathLike) -> SpatioTemporalSeries:
    r"""Pedal Me bicycle deliveries in London: 15 areas, 35 weeks (Rozemberczki et al.,
    CIKM 2021).

    Args:
        root (str or Path): Folder with ``pedalme_london.json``.

    Returns:
        :class:`SpatioTemporalSeries` with ``series [35, 15, 1]`` and the 225 weighted edges.
    """
    data = _read_json(root, 'pedalme_london', ('edges', 'weights', 'X'))
    return SpatioTemporalSeries(np.asarray(data['X'], dtype=np.float32),
                                _pairs(data['edges'], 'pedalme_london'),
                                np.asarray(data['weights'], dtype=np.float32),
                                name='pedalme-london')


def load_england_covid(root: PathLike) -> SpatioTemporalSeries:
    r"""Daily COVID-19 cases in 129 English NUTS3 regions over 61 days, with a mobility
    graph that changes every day (Panagopoulos et al., AAAI 2021).

    The daily graphs are kept apart: the result is a *dynamic*
    :class:`SpatioTemporalSeries` whose ``edge_index`` concatenates the days' edges in day
    order, ``edge_ptr [T + 1]`` marks where each day starts, and
    ``series.graph_at(t)`` returns day ``t``'s ``(edge_index, edge_weight)``.

    Args:
        root (str or Path): Folder with ``england_covid.json``.

    Returns:
        :class:`SpatioTemporalSeries` with ``series [61, 129, 1]`` (raw case counts) and a
        dynamic graph of 61 snapshots.
    """
    data = _read_json(root, 'england_covid', ('edge_mapping', 'time_periods', 'y'))
    y = np.asarray(data['y'], dtype=np.float32)  # [T, N]
    num_steps = int(data['time_periods'])
    if y.shape[0] != num_steps:
        raise ValueError(f"england_covid.json: 'y' has {y.shape[0]} rows but 'time_periods' "
                         f"is {num_steps}")
    edges, weights = data['edge_mapping']['edge_index'], data['edge_mapping']['edge_weight']
    missing = [t for t in range(num_steps) if str(t) not in edges or str(t) not in weights]
    if missing:
        raise ValueError(f"england_covid.json has no graph for days {missing[:10]}; every day "
                         f"0..{num_steps - 1} needs 'edge_index' and 'edge_weight'")
    index = [_pairs(edges[str(t)], f'england_covid day {t}') for t in range(num_steps)]
    weight = [torch.tensor(weights[str(t)], dtype=torch.float32) for t in range(num_steps)]
    for t in range(num_steps):
        if weight[t].numel() != index[t].size(1):
            raise ValueError(f"england_covid.json day {t}: {index[t].size(1)} edges but "
                             f"{weight[t].numel()} weights")
    counts = torch.tensor([0] + [e.size(1) for e in index])
    return SpatioTemporalSeries(y, torch.cat(index, dim=1), torch.cat(weight),
                                edge_ptr=counts.cumsum(0), name='england-covid')
