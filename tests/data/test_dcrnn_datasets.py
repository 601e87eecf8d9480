import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from pyg_ext.data.dcrnn_datasets import (
    load_dcrnn_dataset,
    load_metr_la,
    load_pems_bay,
    read_dcrnn_graph,
)


@pytest.fixture
def write_dcrnn(write_frame_h5):
    def write(root, ids, adj, values, speed='metr-la.h5', graph='adj_mx.pkl', columns=None):
        with open(root / graph, 'wb') as f:  # DCRNN's layout: (sensor_ids, id_to_ind, adj)
            pickle.dump((ids, {s: i for i, s in enumerate(ids)}, adj), f, protocol=2)
        index = pd.date_range('2012-03-01', periods=len(values), freq='5min')
        frame = pd.DataFrame(values, index=index, columns=columns or ids)
        return write_frame_h5(root / speed, frame)
    return write


@pytest.fixture
def tiny(tmp_path, write_dcrnn):
    ids = ['717', '718', '719']
    adj = np.array([[1, .5, 0], [0, 1, .2], [.7, 0, 1]], dtype=np.float32)
    values = np.array([[60., 0., 55.], [61., 62., np.nan], [0., 63., 57.], [64., 65., 58.]])
    write_dcrnn(tmp_path, ids, adj, values)
    return tmp_path, ids, adj, values


@pytest.mark.parametrize('engine', ['pandas', 'h5py'])
def test_metr_la_tiny_fixture(tiny, engine):
    if engine == 'pandas':
        pytest.importorskip('tables', reason='engine="pandas" needs PyTables (pyg_ext[hdf5])')
    root, ids, adj, values = tiny
    s = load_metr_la(root, engine=engine)
    assert s.series.shape == (4, 3, 1) and s.node_ids == ids and s.name == 'metr-la'
    dense = torch.zeros(3, 3)
    dense[s.edge_index[0], s.edge_index[1]] = s.edge_weight
    assert torch.equal(dense, torch.from_numpy(adj))
    expected_mask = torch.from_numpy((values != 0) & ~np.isnan(values))[..., None]
    assert torch.equal(s.mask, expected_mask)  # zeros and NaN are missing
    assert torch.equal(s.series[s.mask], torch.from_numpy(values[expected_mask[..., 0].numpy()])
                       .float())
    assert s.timestamps[1] - s.timestamps[0] == 300
    assert load_metr_la(root, zero_is_missing=False).mask.sum() == 11


def test_columns_follow_graph_order(tmp_path, write_dcrnn):
    ids = ['a1', 'b2', 'c3']
    values = np.arange(1., 7.).reshape(2, 3)
    write_dcrnn(tmp_path, ids, np.eye(3, dtype=np.float32), values[:, [2, 0, 1]],
                columns=['c3', 'a1', 'b2'])
    s = load_metr_la(tmp_path)
    assert torch.equal(s.series[..., 0], torch.from_numpy(values).float())


def test_mismatch_and_missing_files(tmp_path, write_dcrnn):
    write_dcrnn(tmp_path, ['1', '2'], np.eye(2, dtype=np.float32), np.ones((2, 3)),
                columns=['1', '2', '3'])
    with pytest.raises(ValueError, match='3 sensor columns.*2 sensors'):
        load_metr_la(tmp_path)
    with pytest.raises(FileNotFoundError, match=r'pems-bay\.h5.*liyaguang/DCRNN'):
        load_pems_bay(tmp_path)


def test_real_graphs_with_fixture_speeds(shared_data, tmp_path, write_frame_h5):
    graphs = shared_data / 'traffic' / 'metr_la_pems_bay_graph'
    for pkl, n, nnz in [('adj_mx.pkl', 207, 1722), ('adj_mx_bay.pkl', 325, 2694)]:
        ids, adj = read_dcrnn_graph(graphs / pkl)
        assert len(ids) == n and adj.shape == (n, n) and (adj != 0).sum() == nnz
        assert np.all(np.diag(adj) == 1)
    ids, adj = read_dcrnn_graph(graphs / 'adj_mx.pkl')
    # A METR-LA-shaped speed file (the real one is not shipped) next to the real graph.
    index = pd.date_range('2012-03-01', periods=6, freq='5min')
    write_frame_h5(tmp_path / 'metr-la.h5',
                   pd.DataFrame(np.random.rand(6, 207) * 70, index=index, columns=ids))
    s = load_metr_la(tmp_path, graph_root=graphs)
    assert s.num_nodes == 207 and s.num_edges == 1722
    assert s.node_ids == (graphs / 'graph_sensor_ids.txt').read_text().strip().split(',')


def test_load_dcrnn_dataset_by_name(tiny, tmp_path_factory, write_dcrnn):
    root, ids, adj, values = tiny
    s, ref = load_dcrnn_dataset('metr-la', root), load_metr_la(root)
    assert s.name == 'metr-la' and torch.equal(s.series, ref.series)
    bay = tmp_path_factory.mktemp('bay')  # PEMS-BAY's own file names
    write_dcrnn(bay, ids, adj, values, speed='pems-bay.h5', graph='adj_mx_bay.pkl')
    s = load_dcrnn_dataset('pems-bay', bay)
    assert s.name == 'pems-bay' and torch.equal(s.series, load_pems_bay(bay).series)
    assert torch.equal(s.series, ref.series) and s.node_ids == ids
    with pytest.raises(ValueError, match=r"choose one of \['metr-la', 'pems-bay'\]"):
        load_dcrnn_dataset('metr_la', root)
