import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from pyg_ext.data.custom_dataset import load_custom, load_graph


@pytest.fixture
def arrays():
    series = np.random.rand(5, 3, 2).astype(np.float32)
    adj = np.array([[0, 1, 0], [0, 0, 2], [3, 0, 0]], dtype=np.float32)
    return series, adj


def dense(s):
    out = torch.zeros(s.num_nodes, s.num_nodes)
    out[s.edge_index[0], s.edge_index[1]] = s.edge_weight
    return out


def test_npy_npz_with_adjacency(tmp_path, arrays):
    series, adj = arrays
    np.save(tmp_path / 's.npy', series)
    np.save(tmp_path / 'a.npy', adj)
    np.savetxt(tmp_path / 'a.csv', adj, delimiter=',')
    for graph in ('a.npy', 'a.csv'):
        s = load_custom(tmp_path / 's.npy', adjacency=tmp_path / graph)
        assert torch.equal(s.series, torch.from_numpy(series)) and s.name == 's'
        assert torch.equal(dense(s), torch.from_numpy(adj))
    np.savez(tmp_path / 'two.npz', speed=series, other=series[:1])
    s = load_custom(tmp_path / 'two.npz', adjacency=tmp_path / 'a.npy', key='speed')
    assert torch.equal(s.series, torch.from_numpy(series))
    with pytest.raises(ValueError, match='pass key= to choose one'):
        load_custom(tmp_path / 'two.npz', adjacency=tmp_path / 'a.npy')


def test_csv_with_edge_list(tmp_path):
    (tmp_path / 's.csv').write_text('101,102,103\n1,,3\n4,0,6\n')
    (tmp_path / 'e.csv').write_text('from,to,weight\n0,1,0.5\n2,0,1.5\n')
    s = load_custom(tmp_path / 's.csv', edge_list=tmp_path / 'e.csv', header=True,
                    zero_is_missing=True)
    assert s.node_ids == ['101', '102', '103'] and s.series.shape == (2, 3, 1)
    assert s.mask[..., 0].tolist() == [[True, False, True], [True, False, True]]
    assert s.edge_index.tolist() == [[0, 2], [1, 0]] and s.edge_weight.tolist() == [0.5, 1.5]
    (tmp_path / 'e2.csv').write_text('0,1\n1,2\n')  # no header, no weights
    s = load_custom(tmp_path / 's.csv', edge_list=tmp_path / 'e2.csv', header=True)
    assert s.edge_weight.tolist() == [1., 1.]


def test_hdf5_frame_and_dataset(tmp_path, arrays, write_frame_h5):
    import h5py
    series, adj = arrays
    np.save(tmp_path / 'a.npy', adj)
    with h5py.File(tmp_path / 'x.h5', 'w') as f:
        f['speed'] = series
    s = load_custom(tmp_path / 'x.h5', adjacency=tmp_path / 'a.npy')
    assert torch.equal(s.series, torch.from_numpy(series))
    index = pd.date_range('2020-01-01', periods=5, freq='15min')
    write_frame_h5(tmp_path / 'f.h5', pd.DataFrame(series[..., 0], index=index,
                                                   columns=['a', 'b', 'c']))
    s = load_custom(tmp_path / 'f.h5', adjacency=tmp_path / 'a.npy')
    assert s.node_ids == ['a', 'b', 'c'] and s.timestamps[1] - s.timestamps[0] == 900
    assert torch.equal(s.series[..., 0], torch.from_numpy(series[..., 0]))


def test_errors(tmp_path, arrays):
    series, adj = arrays
    np.save(tmp_path / 's.npy', series)
    np.save(tmp_path / 'a4.npy', np.eye(4))
    with pytest.raises(ValueError, match=r'shape \[4, 4\] but the series has 3 nodes'):
        load_custom(tmp_path / 's.npy', adjacency=tmp_path / 'a4.npy')
    (tmp_path / 'e.csv').write_text('0,5\n')
    with pytest.raises(ValueError, match='refers to node 5, but the series has 3 nodes'):
        load_custom(tmp_path / 's.npy', edge_list=tmp_path / 'e.csv')
    with pytest.raises(ValueError, match='exactly one of adjacency'):
        load_custom(tmp_path / 's.npy')
    with pytest.raises(FileNotFoundError, match='series file'):
        load_custom(tmp_path / 'none.npy', adjacency=tmp_path / 'a4.npy')
    with pytest.raises(ValueError, match='num_nodes=4'):
        load_custom(tmp_path / 's.npy', edge_list=tmp_path / 'e.csv', num_nodes=4)
    (tmp_path / 's.parquet').write_text('')
    with pytest.raises(ValueError, match='unknown series format'):
        load_custom(tmp_path / 's.parquet', edge_list=tmp_path / 'e.csv')


def write_dcrnn_pickle(path, ids, adj):
    """DCRNN's published layout: a protocol-2 pickle of (ids, id -> index, adj)."""
    with open(path, 'wb') as f:
        pickle.dump((ids, {i: k for k, i in enumerate(ids)}, adj), f, protocol=2)


def test_dcrnn_pickle_is_matched_by_sensor_id(tmp_path, arrays):
    _, adj = arrays  # over the sensors 'a', 'b', 'c'
    (tmp_path / 's.csv').write_text('c,a,b\n1,2,3\n4,5,6\n')  # the series: c, a, b
    write_dcrnn_pickle(tmp_path / 'adj_mx.pkl', ['a', 'b', 'c'], adj)
    s = load_custom(tmp_path / 's.csv', adjacency=tmp_path / 'adj_mx.pkl')
    assert s.node_ids == ['c', 'a', 'b']
    order = [2, 0, 1]  # position of c, a, b in the pickle
    assert torch.equal(dense(s), torch.from_numpy(adj[np.ix_(order, order)]))
    # e.g. the pickle's edge b -> c (weight 2) is the series' edge 2 -> 0
    assert dense(s)[2, 0] == 2
    # without node names the pickle's order is the series'
    edge_index, edge_weight = load_graph(tmp_path / 'adj_mx.pkl', num_nodes=3)
    assert edge_index.tolist() == [[0, 1, 2], [1, 2, 0]] and edge_weight.tolist() == [1, 2, 3]


def test_load_graph_errors(tmp_path, arrays):
    _, adj = arrays
    write_dcrnn_pickle(tmp_path / 'adj_mx.pkl', ['a', 'b', 'c'], adj)
    with pytest.raises(ValueError, match=r"missing from the graph: \['d'\]"):
        load_graph(tmp_path / 'adj_mx.pkl', node_ids=['a', 'b', 'd'])
    with pytest.raises(ValueError, match=r'shape \[3, 3\] but the series has 4 nodes'):
        load_graph(tmp_path / 'adj_mx.pkl', num_nodes=4)
    with pytest.raises(ValueError, match='exactly one of adjacency'):
        load_graph(tmp_path / 'adj_mx.pkl', tmp_path / 'e.csv')
    with pytest.raises(FileNotFoundError, match='edge list file'):
        load_graph(edge_list=tmp_path / 'none.csv')
    (tmp_path / 'neg.csv').write_text('0,1\n-1,2\n')
    with pytest.raises(ValueError, match='refers to node -1, but the series has 3 nodes'):
        load_graph(edge_list=tmp_path / 'neg.csv', num_nodes=3)
