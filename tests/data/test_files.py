import numpy as np
import pandas as pd
import pytest

from pyg_ext.data.files import find_file, read_csv_matrix, read_edge_list_csv, read_pandas_hdf


def test_find_file_names_source_and_destination(tmp_path):
    with pytest.raises(FileNotFoundError, match='never downloads.*get it from SRC and put it at'):
        find_file(tmp_path, ['a.npz', 'A.npz'], 'toy', 'SRC')
    (tmp_path / 'A.npz').write_text('')
    assert find_file(tmp_path, ['a.npz', 'A.npz'], 'toy', 'SRC').name == 'A.npz'


def test_read_csv_matrix_header(tmp_path):
    path = tmp_path / 'm.csv'
    path.write_text('11,12\n1.5,2\n3,\n')
    values, header = read_csv_matrix(path, header=True)
    assert header == ['11', '12'] and values.shape == (2, 2) and np.isnan(values[1, 1])
    values, header = read_csv_matrix(path)  # numeric first row: no header
    assert header is None and values.shape == (3, 2)
    path.write_text('a,b\n1,2\n')
    assert read_csv_matrix(path)[1] == ['a', 'b']
    path.write_text('1,2\nx,3\n')
    with pytest.raises(ValueError, match='non-numeric cells'):
        read_csv_matrix(path)


def test_read_edge_list(tmp_path):
    path = tmp_path / 'e.csv'
    path.write_text('from,to,cost\n0,1,2.5\n1,2,3\n')
    src, dst, w = read_edge_list_csv(path)
    assert src.tolist() == [0, 1] and dst.tolist() == [1, 2] and w.tolist() == [2.5, 3.]
    path.write_text('0,1\n1,2\n')
    assert read_edge_list_csv(path)[2] is None
    path.write_text('0.5,1\n')
    with pytest.raises(ValueError, match='integer node indices'):
        read_edge_list_csv(path)


@pytest.mark.parametrize('engine', ['pandas', 'h5py'])
def test_read_pandas_hdf_engines_agree(tmp_path, engine):
    pytest.importorskip('tables')  # only to *write* the fixture with pandas.to_hdf
    index = pd.date_range('2012-03-01', periods=4, freq='5min')
    frame = pd.DataFrame(np.arange(12.).reshape(4, 3), index=index,
                         columns=['773869', '767541', '767542'])
    frame.to_hdf(tmp_path / 'x.h5', key='df')
    values, columns, stamps = read_pandas_hdf(tmp_path / 'x.h5', engine=engine)
    assert np.array_equal(values, frame.to_numpy())
    assert columns == ['773869', '767541', '767542']
    assert stamps[1] == np.datetime64('2012-03-01T00:05:00')
    with pytest.raises(ValueError, match='unknown engine'):
        read_pandas_hdf(tmp_path / 'x.h5', engine='zarr')


def test_read_pandas_hdf_h5py_old_layout(tmp_path, write_old_frame_h5):
    index = pd.date_range('2012-03-01', periods=3, freq='5min')
    frame = pd.DataFrame(np.arange(6.).reshape(3, 2), index=index, columns=[1, 2])
    write_old_frame_h5(tmp_path / 'old.h5', frame)
    out, columns, stamps = read_pandas_hdf(tmp_path / 'old.h5', engine='h5py')
    assert np.array_equal(out, frame.to_numpy()) and columns == ['1', '2']
    assert stamps[2] == np.datetime64('2012-03-01T00:10:00')
