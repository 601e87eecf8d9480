"""Reading the published file formats: dense CSV matrices, edge lists and pandas HDF5 frames.

Nothing here downloads: a missing file raises :class:`FileNotFoundError` naming where the
dataset is published and where to put the file.

Dimensions: T - time steps, N - nodes, E - edges.
"""
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

PathLike = Union[str, Path]


def find_file(root: PathLike, names: Sequence[str], dataset: str, source: str) -> Path:
    r"""Return the first of ``names`` that exists under ``root``, else raise a
    :class:`FileNotFoundError` that says where ``dataset`` is published (``source``)."""
    root = Path(root).expanduser()
    for name in names:
        if (root / name).is_file():
            return root / name
    raise FileNotFoundError(
        f"{dataset}: '{names[0]}' not found in '{root}'. pyg_ext never downloads data: get "
        f"it from {source} and put it at '{root / names[0]}'"
        + (f" (also accepted: {', '.join(names[1:])})" if len(names) > 1 else ''))


def require_file(path: PathLike, dataset: str, source: str) -> Path:
    r"""Return ``path`` if it is a file, else raise like :func:`find_file`."""
    path = Path(path).expanduser()
    return find_file(path.parent, [path.name], dataset, source)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def read_csv_matrix(path: PathLike,
                    header: Optional[bool] = None) -> Tuple[np.ndarray, Optional[List[str]]]:
    r"""Read a numeric CSV matrix and its optional header row. Empty cells are read as
    ``NaN``.

    Args:
        path (str or Path): The CSV file.
        header (bool, optional): Whether the first row is a header (e.g. T-GCN's row of
            sensor ids, which are numbers). (default: :obj:`None`, a header exactly when the
            first row is not all numbers)

    Returns:
        ``(values [rows, cols] float64, header or None)``.
    """
    import pandas as pd
    if header is None:
        with open(path) as f:
            first = f.readline().strip().split(',')
        header = not all(_is_number(c) for c in first if c != '')
    frame = pd.read_csv(path, header=0 if header else None)
    names = [str(c).strip() for c in frame.columns] if header else None
    try:
        values = frame.to_numpy(dtype=np.float64)
    except ValueError:
        raise ValueError(f"'{path}' has non-numeric cells below its first row; a numeric "
                         f"matrix with at most one header row is expected") from None
    return values, names


def read_edge_list_csv(path: PathLike) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    r"""Read an edge list CSV ``from,to[,weight]`` (with or without a header row; the third
    column is named ``cost``, ``weight`` or ``distance`` in the published files).

    Returns:
        ``(src [E] int64, dst [E] int64, weight [E] float64 or None)``.
    """
    values, _ = read_csv_matrix(path)
    if values.ndim != 2 or values.shape[1] not in (2, 3):
        raise ValueError(f"'{path}' has {values.shape[-1]} columns; an edge list needs "
                         f"'from,to' or 'from,to,weight'")
    src, dst = values[:, 0], values[:, 1]
    if not (np.all(src == np.round(src)) and np.all(dst == np.round(dst))):
        raise ValueError(f"'{path}': the 'from' and 'to' columns must hold integer node "
                         f"indices")
    weight = values[:, 2] if values.shape[1] == 3 else None
    return src.astype(np.int64), dst.astype(np.int64), weight


def read_pandas_hdf(
    path: PathLike,
    key: Optional[str] = None,
    engine: str = 'auto',
) -> Tuple[np.ndarray, List[str], Optional[np.ndarray]]:
    r"""Read a 2-D pandas frame stored with :meth:`pandas.DataFrame.to_hdf` (fixed format),
    the layout of DCRNN's ``metr-la.h5`` and ``pems-bay.h5``.

    With ``engine='pandas'`` this calls :func:`pandas.read_hdf`, which needs PyTables
    (``pip install pyg_ext[hdf5]``); with ``engine='h5py'`` the frame's arrays are read
    directly (``<key>/block0_values``, ``axis0`` = columns, ``axis1`` = index). ``'auto'``
    uses pandas when PyTables is installed, else h5py.

    Returns:
        ``(values [T, N] float64, columns [N] str, index [T] datetime64[s] or None)``.
    """
    if engine == 'auto':
        try:
            import tables  # noqa: F401
            engine = 'pandas'
        except ImportError:
            engine = 'h5py'
    if engine == 'pandas':
        import pandas as pd
        frame = pd.read_hdf(path, key=key)
        index = None
        if isinstance(frame.index, pd.DatetimeIndex):
            index = frame.index.values.astype('datetime64[s]')
        return (frame.to_numpy(dtype=np.float64), [str(c) for c in frame.columns], index)
    if engine != 'h5py':
        raise ValueError(f"unknown engine {engine!r}; use 'auto', 'pandas' or 'h5py'")
    import h5py
    with h5py.File(path, 'r') as f:
        if key is None:
            frames = [k for k in f.keys() if 'pandas_type' in f[k].attrs]
            if len(frames) != 1:
                raise ValueError(f"'{path}' holds {len(frames)} pandas frames ({frames}); pass "
                                 f"key= to choose one")
            key = frames[0]
        group = f[key]
        if group.attrs.get('pandas_type', b'') not in (b'frame', 'frame'):
            raise ValueError(f"'{path}/{key}' is not a pandas frame in fixed format; write it "
                             f"with DataFrame.to_hdf(path, key=...) or pass the array as .npy")
        columns = [_decode(c) for c in group['axis0'][:]]
        order = {c: i for i, c in enumerate(columns)}
        values = np.empty((group['axis1'].shape[0], len(columns)), dtype=np.float64)
        for b in range(int(group.attrs['nblocks'])):
            items = [order[_decode(c)] for c in group[f'block{b}_items'][:]]
            values[:, items] = group[f'block{b}_values'][:]  # [T, N_b]
        index = None
        kind = _decode(group['axis1'].attrs.get('kind', b''))
        if kind.startswith('datetime64'):
            unit = kind[len('datetime64['):-1] if '[' in kind else 'ns'
            index = group['axis1'][:].astype(f'datetime64[{unit}]').astype('datetime64[s]')
    return values, columns, index


def _decode(value) -> str:
    return value.decode('utf-8') if isinstance(value, (bytes, np.bytes_)) else str(value)
