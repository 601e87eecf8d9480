import numpy as np
import pytest
import torch

from pyg_ext.data.tgcn_datasets import (
    BUILTIN_LOS_LOOP,
    build_los_loop_builtin,
    load_los_loop,
    load_sz_taxi,
)


def write_tgcn(root, prefix, speed, adj, ids):
    (root / f'{prefix}_speed.csv').write_text(
        ','.join(ids) + '\n' + '\n'.join(','.join(f'{v:g}' for v in row) for row in speed))
    (root / f'{prefix}_adj.csv').write_text(
        '\n'.join(','.join(f'{v:g}' for v in row) for row in adj))


def test_tiny_fixtures(tmp_path):
    speed = np.array([[60.5, 61, 0], [59, 58.25, 40]])
    adj = np.array([[1, 0.5, 0], [0.5, 1, 0], [0, 0, 1]])
    write_tgcn(tmp_path, 'los', speed, adj, ['773869', '767541', '767542'])
    s = load_los_loop(tmp_path)
    assert torch.equal(s.series[..., 0], torch.tensor(speed, dtype=torch.float32))
    assert s.node_ids == ['773869', '767541', '767542']  # numeric header kept as ids
    assert s.num_edges == 5 and s.mask.all()
    assert s.timestamps[0] == np.datetime64('2012-03-01T00:00', 's').astype(np.int64)
    write_tgcn(tmp_path, 'sz', speed, (adj > 0.6).astype(float), ['9', '10', '11'])
    s = load_sz_taxi(tmp_path)
    assert s.name == 'sz-taxi' and s.num_edges == 3 and s.timestamps[1] - s.timestamps[0] == 900


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='sz_speed.csv.*lehaifeng/T-GCN'):
        load_sz_taxi(tmp_path)
    write_tgcn(tmp_path, 'los', np.ones((2, 3)), np.eye(2), ['1', '2', '3'])
    with pytest.raises(ValueError, match="'los_adj.csv' is 2x2 but 'los_speed.csv' has 3"):
        load_los_loop(tmp_path)


def test_builtin_is_small_and_loads():
    assert BUILTIN_LOS_LOOP.stat().st_size < 1_000_000
    s = load_los_loop()
    assert (s.num_steps, s.num_nodes, s.num_features, s.num_edges) == (2016, 207, 1, 2833)
    assert s.mask.all() and 1 <= s.series.min() and s.series.max() <= 70


def test_builtin_equals_shared_csv(shared_data, tmp_path):
    root = shared_data / 'traffic' / 'los_loop'
    builtin, csv = load_los_loop(), load_los_loop(root)
    assert torch.equal(builtin.series, csv.series)
    assert torch.equal(builtin.edge_index, csv.edge_index)
    assert torch.equal(builtin.edge_weight, csv.edge_weight)
    assert builtin.node_ids == csv.node_ids
    # The converter reproduces the committed file's arrays.
    out = build_los_loop_builtin(root, tmp_path / 'los_loop.npz')
    with np.load(out) as new, np.load(BUILTIN_LOS_LOOP) as old:
        for key in ('speed', 'adj', 'sensor_ids'):
            assert np.array_equal(new[key], old[key])
    # Los-loop's columns are METR-LA's sensors in order.
    ids = (shared_data / 'traffic' / 'metr_la_pems_bay_graph' / 'graph_sensor_ids.txt')
    assert builtin.node_ids == ids.read_text().strip().split(',')
