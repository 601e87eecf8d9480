import pytest

from pyg_ext.forecast.datasets import DATASETS, load_dataset


def test_builtin_los_loop_by_default():
    series = load_dataset()
    assert (series.num_steps, series.num_nodes, series.num_features) == (2016, 207, 1)
    assert series.timestamps is not None
    assert load_dataset('Los-Loop').num_nodes == 207


def test_named_datasets_read_the_published_files(shared_data):
    root = shared_data / 'traffic'
    chickenpox = load_dataset('chickenpox', root / 'pyg_temporal')
    assert (chickenpox.num_steps, chickenpox.num_nodes) == (521, 20)
    assert load_dataset('los_loop', root / 'los_loop').num_nodes == 207


def test_custom_files(tiny_files):
    series, adj = tiny_files
    data = load_dataset(series=series, adjacency=adj)
    assert (data.num_steps, data.num_nodes, data.num_edges) == (100, 4, 10)
    assert data.node_ids == ['s0', 's1', 's2', 's3']


def test_errors_name_the_fix(tiny_files, tmp_path):
    series, adj = tiny_files
    with pytest.raises(ValueError, match='unknown dataset'):
        load_dataset('mars')
    with pytest.raises(ValueError, match='not both'):
        load_dataset('los_loop', series=series, adjacency=adj)
    with pytest.raises(ValueError, match='--adjacency FILE'):
        load_dataset(series=series)
    with pytest.raises(ValueError, match='pass --series FILE too'):
        load_dataset(adjacency=adj)
    for name in DATASETS:
        if name != 'los_loop':
            with pytest.raises(FileNotFoundError, match='never downloads'):
                load_dataset(name, tmp_path)
