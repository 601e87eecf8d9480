import numpy as np
import pytest
import torch

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
    with pytest.raises(ValueError, match=r'shape \[4, 4\] but the series has 207 nodes'):
        load_dataset(adjacency=adj)  # the built-in Los-loop on a graph of 4 nodes
    with pytest.raises(ValueError, match='not both'):
        load_dataset('los_loop', adjacency=adj, edge_list=adj)
    for name in DATASETS:
        if name != 'los_loop':
            with pytest.raises(FileNotFoundError, match='never downloads'):
                load_dataset(name, tmp_path)


def test_named_dataset_on_another_graph(tmp_path):
    builtin = load_dataset()
    # a graph of the same 207 nodes replaces the dataset's own; the series stays
    adj = np.zeros((207, 207), dtype=np.float32)
    adj[np.arange(206), np.arange(1, 207)] = 0.5  # the path 0 -> 1 -> ... -> 206
    np.save(tmp_path / 'path.npy', adj)
    data = load_dataset('los_loop', adjacency=tmp_path / 'path.npy')
    assert torch.equal(data.series, builtin.series)
    assert torch.equal(data.timestamps, builtin.timestamps)
    assert data.node_ids == builtin.node_ids and data.name == 'los-loop'
    assert data.edge_index.tolist() == [list(range(206)), list(range(1, 207))]
    assert data.edge_weight.tolist() == [0.5] * 206
    (tmp_path / 'edges.csv').write_text('0,1,2.0\n5,3,1.0\n')
    data = load_dataset(edge_list=tmp_path / 'edges.csv')
    assert data.edge_index.tolist() == [[0, 5], [1, 3]] and data.num_nodes == 207


def test_los_loop_on_dcrnn_metr_la_graph(shared_data):
    """Los-loop's 207 sensors are METR-LA's, in the same order: DCRNN's directed graph
    (1,722 entries, a subset of T-GCN's 2,833 symmetric ones) applies as it is."""
    from pyg_ext.data.dcrnn_datasets import read_dcrnn_graph
    pkl = shared_data / 'traffic' / 'metr_la_pems_bay_graph' / 'adj_mx.pkl'
    data = load_dataset('los_loop', adjacency=pkl)
    ids, adj = read_dcrnn_graph(pkl)
    assert ids == data.node_ids and data.num_edges == 1722
    dense = torch.zeros(207, 207)
    dense[data.edge_index[0], data.edge_index[1]] = data.edge_weight
    assert torch.equal(dense, torch.from_numpy(adj))
    own = load_dataset()
    assert set(map(tuple, data.edge_index.t().tolist())) < set(
        map(tuple, own.edge_index.t().tolist()))
