r"""Load OGB's files on torch >= 2.6 without weakening ``torch.load`` for the rest of the process.

``ogb`` 1.3.6 calls ``torch.load(path)`` with the default ``weights_only=True`` of torch >= 2.6
on two kinds of file it cannot read that way:

* the processed PyG file (``processed/geometric_data_processed.pt``), a pickled
  :class:`~torch_geometric.data.Data` whose storage classes PyG does not allow-list;
* the split files of the link datasets and of datasets written by :class:`ogb.io.DatasetSaver`
  (``split/*/train.pt``, ``split_dict.pt``), pickled dicts of NumPy arrays (and NumPy scalars
  in the processed files of DatasetSaver's datasets).

The fix is :func:`ogb_safe_globals`: a context manager that allow-lists *exactly* those
classes (three PyG storage classes and NumPy's array, scalar and dtype reconstructors) while the ogb
loader runs, and restores the previous allow-list on exit. Nothing is monkeypatched and
``weights_only`` stays ``True``: any other global in those files is still refused, and any
``torch.load`` outside the context behaves as torch's default.
"""
import importlib
from contextlib import contextmanager
from typing import Any, Iterator, List, Tuple, Union

import numpy as np
import torch

_PYG_GLOBALS = (
    # Written by `InMemoryDataset.collate` (what ogb saves in `processed/`).
    'torch_geometric.data.data.DataEdgeAttr',
    'torch_geometric.data.data.DataTensorAttr',
    'torch_geometric.data.storage.GlobalStorage',
)
# NumPy pickles name their reconstructors by the module that wrote them: `numpy.core` before
# NumPy 2, `numpy._core` from NumPy 2 on. `_reconstruct` rebuilds arrays (split files),
# `scalar` rebuilds NumPy scalars (the `num_nodes` of graphs that DatasetSaver wrote).
_NUMPY_MODULES = ('numpy.core.multiarray', 'numpy._core.multiarray')
_NUMPY_FUNCTIONS = ('_reconstruct', 'scalar')
_NUMPY_DTYPES = ('bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32',
                 'uint64', 'float16', 'float32', 'float64')

SafeGlobal = Union[Any, Tuple[Any, str]]


def _import(name: str) -> Any:
    module, _, attr = name.rpartition('.')
    return getattr(importlib.import_module(module), attr)


def _numpy_function(name: str) -> Any:
    for module in reversed(_NUMPY_MODULES):
        try:
            return _import(f'{module}.{name}')
        except (ImportError, AttributeError):  # pragma: no cover - depends on NumPy version
            continue
    raise ImportError(f'numpy.core.multiarray.{name} not found')  # pragma: no cover


def ogb_safe_globals_list() -> List[SafeGlobal]:
    r"""The allow-list used by :func:`ogb_safe_globals`, as accepted by
    :class:`torch.serialization.safe_globals`: objects, or ``(object, 'module.name')`` pairs
    where a pickle names an object by an alias."""
    allowed: List[SafeGlobal] = [_import(name) for name in _PYG_GLOBALS]
    allowed += [np.ndarray, np.dtype]
    allowed += [(_numpy_function(name), f'{module}.{name}')
                for name in _NUMPY_FUNCTIONS for module in _NUMPY_MODULES]
    allowed += [type(np.dtype(name)) for name in _NUMPY_DTYPES]
    return allowed


@contextmanager
def ogb_safe_globals() -> Iterator[None]:
    r"""Allow-list, for the duration of the ``with`` block only, the classes that ogb's
    dataset files need (see the module docstring).

    .. code-block:: python

        with ogb_safe_globals():
            dataset = PygLinkPropPredDataset('ogbl-ddi', root='data')
            split_edge = dataset.get_edge_split()

    The allow-list is process-wide while the block runs (torch keeps one list), so a
    ``torch.load`` in another thread at that moment sees it too.
    """
    # Add only what is not allow-listed already, so that leaving the block removes exactly
    # what it added and never an entry the user (or PyG) had added for the whole process.
    present = torch.serialization.get_safe_globals()
    added = [g for g in ogb_safe_globals_list() if g not in present]
    with torch.serialization.safe_globals(added):
        yield
