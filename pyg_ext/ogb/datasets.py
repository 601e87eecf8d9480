r"""OGB's own PyG dataset classes, loaded safely, with errors that say what to do.

:func:`load_dataset` picks ``PygGraphPropPredDataset``, ``PygNodePropPredDataset`` or
``PygLinkPropPredDataset`` from the name's prefix, runs it inside
:func:`~pyg_ext.ogb.safe_load.ogb_safe_globals` (the torch >= 2.6 fix), and turns ogb's
interactive prompts and download failures into errors that name the fix.
:func:`load_split` does the same for the official split and returns torch tensors only.
"""
import importlib
import os
import os.path as osp
import shutil
import socket
import urllib.error
from typing import Any, Callable, Dict, Optional

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import InMemoryDataset

from pyg_ext.ogb.safe_load import ogb_safe_globals

_TASKS = {'ogbg': 'graphproppred', 'ogbn': 'nodeproppred', 'ogbl': 'linkproppred'}


def _dataset_class(prefix: str) -> Callable[..., InMemoryDataset]:
    if prefix == 'ogbg':
        from ogb.graphproppred import PygGraphPropPredDataset
        return PygGraphPropPredDataset
    if prefix == 'ogbn':
        from ogb.nodeproppred import PygNodePropPredDataset
        return PygNodePropPredDataset
    from ogb.linkproppred import PygLinkPropPredDataset
    return PygLinkPropPredDataset


def task_of(name: str) -> str:
    r"""``'graphproppred'``, ``'nodeproppred'`` or ``'linkproppred'`` for an OGB name."""
    prefix = name.split('-')[0]
    if prefix not in _TASKS:
        raise ValueError(f"'{name}' is not an OGB dataset name; expected one starting with "
                         f"'ogbg-', 'ogbn-' or 'ogbl-' (e.g. 'ogbg-molhiv')")
    return _TASKS[prefix]


def master_info(name: str) -> Dict[str, Any]:
    r"""The row of ogb's ``master.csv`` for ``name`` (its metric, version, URL, ...)."""
    import ogb
    task = task_of(name)
    path = osp.join(osp.dirname(ogb.__file__), task, 'master.csv')
    master = pd.read_csv(path, index_col=0, keep_default_na=False)
    if name not in master:
        raise ValueError(f"'{name}' is not in ogb's {task} master list; choose one of "
                         f"{sorted(master.keys())}, or pass the meta_dict that "
                         f"ogb.io.DatasetSaver wrote for your own dataset")
    return dict(master[name])


def _folder(name: str, root: str) -> str:
    folder = osp.join(root, '_'.join(name.split('-')))
    return folder + '_pyg' if osp.exists(folder + '_pyg') else folder


def _check_folder(name: str, folder: str, version: Any) -> None:
    # ogb would otherwise ask on stdin whether to delete the folder, or fail writing into it.
    if not osp.isdir(folder):
        return
    if not osp.exists(osp.join(folder, f'RELEASE_v{version}.txt')):
        raise ValueError(
            f"'{folder}' has no RELEASE_v{version}.txt, so it is not version {version} of "
            f"{name} (ogb would ask to delete it); remove the folder to download it again, or "
            f"put the official files there")
    processed = osp.join(folder, 'processed', 'geometric_data_processed.pt')
    if not osp.exists(processed) and not os.access(folder, os.W_OK):
        raise ValueError(
            f"'{folder}' is read-only, and ogb writes '{osp.dirname(processed)}' on first use; "
            f"copy (or symlink the files of) '{folder}' into a writable root and pass that "
            f"root instead")


def load_dataset(name: str, root: str = 'data', meta_dict: Optional[Dict[str, Any]] = None,
                 transform: Optional[Callable] = None) -> InMemoryDataset:
    r"""Load an OGB dataset with ogb's own PyG class.

    Args:
        name (str): the OGB name, e.g. ``'ogbg-molhiv'``; it picks the dataset class and,
            for :class:`ogb.graphproppred.Evaluator` & co., the metric.
        root (str, optional): the folder holding ``ogbg_molhiv/`` & co. A missing dataset is
            downloaded there by ogb. (default: ``'data'``)
        meta_dict (dict, optional): the meta-information that :class:`ogb.io.DatasetSaver`
            writes for a custom dataset (its ``dir_path`` replaces ``root``).
            (default: :obj:`None`)
        transform (callable, optional): a PyG transform applied on access.
            (default: :obj:`None`)
    """
    prefix = name.split('-')[0]
    task_of(name)
    if meta_dict is None:
        info = master_info(name)
        folder, url = _folder(name, root), info['url']
        _check_folder(name, folder, info['version'])
    else:
        folder, url = meta_dict['dir_path'], meta_dict.get('url', '')
    existed = osp.exists(folder)
    try:
        with ogb_safe_globals():
            return _dataset_class(prefix)(name, root=root, transform=transform,
                                          meta_dict=meta_dict)
    except (urllib.error.URLError, socket.timeout, ConnectionError, EOFError) as error:
        if not existed and osp.isdir(folder):
            shutil.rmtree(folder)  # ogb left an empty folder that would make it prompt later
        raise RuntimeError(
            f"{name} is not in '{folder}' and could not be downloaded ({error!r}). On a "
            f"machine with internet, download {url}, unzip it and move the unzipped folder to "
            f"'{folder}' (so that '{osp.join(folder, 'raw')}' exists); then run again with "
            f"--root {root}") from error


def make_evaluator(name: str, meta_dict: Optional[Dict[str, Any]] = None) -> Any:
    r"""ogb's ``Evaluator`` for ``name``; for a custom dataset whose name is not in ogb's
    master list, one built from its ``meta_dict`` (``'eval metric'``, ``'num tasks'``)."""
    module = importlib.import_module(f'ogb.{task_of(name)}')
    try:
        return module.Evaluator(name)
    except ValueError:
        if meta_dict is None:
            raise
    evaluator = module.Evaluator.__new__(module.Evaluator)
    evaluator.name, evaluator.eval_metric = name, meta_dict['eval metric']
    evaluator.num_tasks = int(meta_dict.get('num tasks', 1))
    if evaluator.eval_metric.startswith('hits@'):
        evaluator.K = int(evaluator.eval_metric.split('@')[1])
    return evaluator


def _to_torch(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _to_torch(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    return value


def load_split(dataset: InMemoryDataset) -> Dict[str, Any]:
    r"""The official split of an ogb dataset: ``get_idx_split()`` for node and graph tasks,
    ``get_edge_split()`` for link tasks, loaded safely and with every array as a tensor."""
    with ogb_safe_globals():
        if hasattr(dataset, 'get_edge_split'):
            split = dataset.get_edge_split()
        else:
            split = dataset.get_idx_split()
    return _to_torch(split)
