import json

import pytest
import torch

from pyg_ext.data.pyg_temporal_datasets import (
    load_chickenpox,
    load_england_covid,
    load_pedalme_london,
)


def test_tiny_fixtures(tmp_path):
    (tmp_path / 'chickenpox.json').write_text(json.dumps(
        {'edges': [[0, 1], [1, 0], [1, 1]], 'node_ids': {'B': 1, 'A': 0},
         'FX': [[0.1, -0.2], [0.3, 0.4], [0.5, 0.6]]}))
    s = load_chickenpox(tmp_path)
    assert s.series.shape == (3, 2, 1) and s.node_ids == ['A', 'B']
    assert s.edge_index.tolist() == [[0, 1, 1], [1, 0, 1]] and s.edge_weight.tolist() == [1.] * 3
    (tmp_path / 'pedalme_london.json').write_text(json.dumps(
        {'edges': [[0, 1], [1, 0]], 'weights': [0.5, 0.25], 'X': [[1, 2], [3, 4]]}))
    s = load_pedalme_london(tmp_path)
    assert s.edge_weight.tolist() == [0.5, 0.25] and s.series[1, 0, 0] == 3
    (tmp_path / 'england_covid.json').write_text(json.dumps(
        {'time_periods': 2, 'y': [[1, 2, 3], [4, 5, 6]],
         'edge_mapping': {'edge_index': {'0': [[0, 1]], '1': [[1, 2], [2, 0]]},
                          'edge_weight': {'0': [7.0], '1': [8.0, 9.0]}}}))
    s = load_england_covid(tmp_path)
    assert s.is_dynamic and s.edge_ptr.tolist() == [0, 1, 3]
    assert s.graph_at(0)[0].tolist() == [[0], [1]]
    assert s.graph_at(1)[0].tolist() == [[1, 2], [2, 0]] and s.graph_at(1)[1].tolist() == [8, 9]


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='pytorch_geometric_temporal'):
        load_chickenpox(tmp_path)
    (tmp_path / 'england_covid.json').write_text(json.dumps(
        {'time_periods': 2, 'y': [[1], [2]],
         'edge_mapping': {'edge_index': {'0': [[0, 0]]}, 'edge_weight': {'0': [1.0]}}}))
    with pytest.raises(ValueError, match=r'no graph for days \[1\]'):
        load_england_covid(tmp_path)
    (tmp_path / 'pedalme_london.json').write_text(json.dumps({'edges': []}))
    with pytest.raises(ValueError, match=r"lacks the keys \['weights', 'X'\]"):
        load_pedalme_london(tmp_path)


def test_real_files(shared_data):
    root = shared_data / 'traffic' / 'pyg_temporal'
    s = load_chickenpox(root)
    assert (s.num_steps, s.num_nodes, s.num_edges) == (521, 20, 102)
    assert s.node_ids[4] == 'BUDAPEST'
    s = load_pedalme_london(root)
    assert (s.num_steps, s.num_nodes, s.num_edges) == (35, 15, 225)
    s = load_england_covid(root)
    assert (s.num_steps, s.num_nodes) == (61, 129) and s.is_dynamic
    raw = json.loads((root / 'england_covid.json').read_text())
    for t in (0, 30, 60):
        edge_index, edge_weight = s.graph_at(t)
        assert edge_index.t().tolist() == raw['edge_mapping']['edge_index'][str(t)]
        assert torch.equal(edge_weight, torch.tensor(raw['edge_mapping']['edge_weight'][str(t)]))
    assert torch.equal(s.series[..., 0], torch.tensor(raw['y'], dtype=torch.float32))
