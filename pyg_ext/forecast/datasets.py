r"""The datasets ``pyg-ext forecast`` knows by name, and loading your own files.

Nothing is downloaded: a dataset other than the built-in Los-loop is read from ``--root``,
and a missing file raises the loader's :class:`FileNotFoundError`, which says where the
dataset is published and where to put it.
"""
from functools import partial
from pathlib import Path
from typing import Callable, Dict, Optional, Union

from pyg_ext.data.custom_dataset import load_custom, load_graph
from pyg_ext.data.dcrnn_datasets import load_metr_la, load_pems_bay
from pyg_ext.data.pems_datasets import load_pems
from pyg_ext.data.pyg_temporal_datasets import load_chickenpox, load_pedalme_london
from pyg_ext.data.spatiotemporal_series import SpatioTemporalSeries
from pyg_ext.data.tgcn_datasets import load_los_loop, load_sz_taxi

PathLike = Union[str, Path]

#: ``name -> loader(root)``. Los-loop reads the copy shipped in the package when no root is
#: given. England-COVID is left out: it has a different graph every day, and the forecast
#: models take one static graph.
DATASETS: Dict[str, Callable[[Optional[PathLike]], SpatioTemporalSeries]] = {
    'los_loop': load_los_loop,
    'metr_la': load_metr_la,
    'pems_bay': load_pems_bay,
    'pems03': partial(load_pems, name='pems03'),
    'pems04': partial(load_pems, name='pems04'),
    'pems07': partial(load_pems, name='pems07'),
    'pems08': partial(load_pems, name='pems08'),
    'sz_taxi': load_sz_taxi,
    'chickenpox': load_chickenpox,
    'pedalme_london': load_pedalme_london,
}


def load_dataset(name: Optional[str] = None, root: Optional[PathLike] = None,
                 series: Optional[PathLike] = None, adjacency: Optional[PathLike] = None,
                 edge_list: Optional[PathLike] = None,
                 zero_is_missing: bool = False) -> SpatioTemporalSeries:
    r"""Load a dataset by :obj:`name` (a key of :obj:`DATASETS`; ``-`` and ``_`` are the
    same) from :obj:`root`, or your own files: a :obj:`series` file with an
    :obj:`adjacency` matrix or an :obj:`edge_list` (see
    :func:`~pyg_ext.data.custom_dataset.load_custom`).

    Args:
        name (str, optional): The dataset. (default: :obj:`None`, ``'los_loop'`` when no
            :obj:`series` is given)
        root (str or Path, optional): Folder holding the dataset's files, as published.
            (default: :obj:`None`: the built-in copy for Los-loop, the current folder for
            the others)
        series (str or Path, optional): Your series file ``[T, N]`` or ``[T, N, F]``.
        adjacency (str or Path, optional): Your dense ``[N, N]`` adjacency or DCRNN's
            sensor-graph pickle (:func:`~pyg_ext.data.custom_dataset.load_graph`); with a
            named dataset it replaces the dataset's graph, e.g. Los-loop on DCRNN's
            directed METR-LA graph ``adj_mx.pkl`` (the same 207 sensors).
        edge_list (str or Path, optional): Your ``from,to[,weight]`` edge list (also a
            replacement graph for a named dataset).
        zero_is_missing (bool, optional): With :obj:`series`, mark zeros as missing.
            (default: :obj:`False`)
    """
    if series is not None:
        if name is not None:
            raise ValueError('pass either a dataset name or --series with --adjacency / '
                             '--edge-list, not both')
        if adjacency is None and edge_list is None:
            raise ValueError('--series needs its graph: pass --adjacency FILE (a dense [N, N] '
                             "matrix or DCRNN's adj_mx.pkl) or --edge-list FILE "
                             '(from,to[,weight])')
        return load_custom(series, adjacency=adjacency, edge_list=edge_list,
                           zero_is_missing=zero_is_missing)
    key = (name or 'los_loop').lower().replace('-', '_')
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; use one of {sorted(DATASETS)} or your "
                         f"own files with --series FILE --adjacency FILE")
    if root is None and key != 'los_loop':
        root = '.'
    data = DATASETS[key](root)
    if adjacency is None and edge_list is None:
        return data
    if adjacency is not None and edge_list is not None:
        raise ValueError('pass one of --adjacency and --edge-list, not both')
    return data.with_graph(*load_graph(adjacency, edge_list, num_nodes=data.num_nodes,
                                       node_ids=data.node_ids))
