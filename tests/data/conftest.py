"""Fixtures shared by the tests of pyg_ext.data: writers of the published file layouts."""
import numpy as np
import pytest


def _write_with_h5py(path, frame, key):
    """pandas' fixed-format frame layout (as DCRNN's .h5 files), written with h5py alone."""
    import h5py
    columns = np.array([str(c) for c in frame.columns], dtype='S')
    with h5py.File(path, 'w') as f:
        g = f.create_group(key)
        g.attrs['pandas_type'] = b'frame'
        g.attrs['nblocks'] = 1
        g.create_dataset('axis0', data=columns)
        a1 = g.create_dataset('axis1', data=frame.index.values.astype('datetime64[ns]')
                              .astype(np.int64))
        a1.attrs['kind'] = b'datetime64'  # nanoseconds, as pandas < 3 wrote it
        g.create_dataset('block0_items', data=columns)
        g.create_dataset('block0_values', data=frame.to_numpy(dtype=np.float64))


@pytest.fixture
def write_frame_h5():
    """``write(path, frame, key='df')``: pandas ``to_hdf`` when PyTables is installed, else the
    same layout written with h5py; returns which writer was used."""
    def write(path, frame, key='df'):
        try:
            import tables  # noqa: F401
        except ImportError:
            _write_with_h5py(path, frame, key)
            return 'h5py'
        frame.to_hdf(path, key=key)
        return 'pandas'
    return write


@pytest.fixture
def write_old_frame_h5():
    """Write the fixed-format frame layout of older pandas with h5py (no PyTables)."""
    return lambda path, frame, key='df': _write_with_h5py(path, frame, key)
