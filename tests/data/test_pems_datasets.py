import math

import numpy as np
import pytest
import torch

from pyg_ext.data.pems_datasets import load_pems, read_pems_graph


def write_pems(root, name='pems04', t=6, n=4, f=3):
    data = np.random.rand(t, n, f).astype(np.float32) * 100
    np.savez(root / f'{name}.npz', data=data)
    (root / 'distance.csv').write_text('from,to,cost\n0,1,100.0\n1,2,200.0\n3,2,400.0\n')
    return data


def test_pems_tiny_fixture(tmp_path):
    data = write_pems(tmp_path)
    s = load_pems(tmp_path, 'pems04')
    assert s.series.shape == (6, 4, 3) and torch.equal(s.series, torch.from_numpy(data))
    assert s.edge_index.tolist() == [[0, 1, 3], [1, 2, 2]]  # directed, as published
    sigma = float(np.std([100., 200., 400.], ddof=1))
    assert torch.allclose(s.edge_weight, torch.tensor(
        [math.exp(-(d / sigma) ** 2) for d in (100., 200., 400.)]))
    assert s.timestamps[0] == np.datetime64('2018-01-01T00:00', 's').astype(np.int64)
    assert s.timestamps[1] - s.timestamps[0] == 300
    s = load_pems(tmp_path, 'pems04', features=['speed'], weighting='binary', symmetric=True,
                  start=None)
    assert torch.equal(s.series, torch.from_numpy(data[..., 2:]))
    assert s.edge_weight.tolist() == [1.] * 6 and s.timestamps is None


def test_pems_upper_case_and_pems03_ids(tmp_path):
    data = np.random.rand(5, 3, 1).astype(np.float32)
    np.savez(tmp_path / 'PEMS03.npz', data=data)
    (tmp_path / 'pems03.txt').write_text('317842\n318711\n313344\n')
    (tmp_path / 'distance.csv').write_text('from,to,cost\n317842,313344,1.5\n')
    s = load_pems(tmp_path, 'PEMS03', features=['flow'])
    assert s.edge_index.tolist() == [[0], [2]] and s.node_ids[1] == '318711'
    with pytest.raises(ValueError, match=r"features \('flow',\)"):
        load_pems(tmp_path, 'pems03', features=['speed'])


def test_pems_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='pems07.npz.*ASTGCN'):
        load_pems(tmp_path, 'pems07')
    with pytest.raises(ValueError, match='unknown PeMS dataset'):
        load_pems(tmp_path, 'pems05')
    write_pems(tmp_path, n=3)  # distance.csv refers to node 3
    with pytest.raises(ValueError, match='refers to node 3 but the series has 3 nodes'):
        load_pems(tmp_path)


@pytest.mark.parametrize('name,n,e', [('pems04', 307, 340), ('pems08', 170, 295)])
def test_real_distance_graphs(shared_data, tmp_path, name, n, e):
    path = shared_data / 'traffic' / name / 'distance.csv'
    edge_index, edge_weight = read_pems_graph(path, n, weighting='binary')
    assert edge_index.shape == (2, e) and int(edge_index.max()) < n
    edge_index, edge_weight = read_pems_graph(path, n)
    assert edge_index.shape == (2, e) and (edge_weight <= 1).all()
    # The real graph next to a PeMS-shaped series (the .npz is not shipped).
    (tmp_path / 'distance.csv').write_bytes(path.read_bytes())
    np.savez(tmp_path / f'{name}.npz', data=np.random.rand(4, n, 3).astype(np.float32))
    s = load_pems(tmp_path, name)
    assert (s.num_nodes, s.num_edges) == (n, e)
