import numpy as np
import pytest
import torch

from pyg_ext.data.spatiotemporal_series import SpatioTemporalSeries


def test_nan_becomes_missing_and_zero(directed_graph):
    edge_index, edge_weight, n = directed_graph
    x = torch.randn(5, n, 2)
    x[1, 3, 0] = float('nan')
    x[4, 0, 1] = float('inf')
    s = SpatioTemporalSeries(x, edge_index, edge_weight, name='toy')
    assert torch.isfinite(s.series).all()
    assert s.series[1, 3, 0] == 0 and s.series[4, 0, 1] == 0
    assert not s.mask[1, 3, 0] and not s.mask[4, 0, 1]
    assert s.mask.sum() == x.numel() - 2
    # A user mask is combined with the NaN mask, never overrides it.
    m = torch.ones(5, n, 2, dtype=torch.bool)
    m[0, 0, 0] = False
    s = SpatioTemporalSeries(x, edge_index, mask=m)
    assert not s.mask[1, 3, 0] and not s.mask[0, 0, 0]
    assert s.mask.sum() == x.numel() - 3
    assert torch.equal(s.edge_weight, torch.ones(edge_index.size(1)))


def test_shapes_and_repr(directed_graph):
    edge_index, edge_weight, n = directed_graph
    s = SpatioTemporalSeries(np.random.rand(8, n), edge_index, edge_weight, name='toy',
                             timestamps=np.datetime64('2012-03-01') + np.arange(8)
                             * np.timedelta64(5, 'm'), node_ids=range(n))
    assert s.series.shape == (8, n, 1) and s.series.dtype == torch.float32
    assert (s.num_steps, s.num_nodes, s.num_features, s.num_edges) == (8, n, 1, 10)
    assert s.timestamps[0] == 1330560000 and s.timestamps[1] - s.timestamps[0] == 300
    assert s.node_ids == [str(i) for i in range(n)]
    assert repr(s) == "SpatioTemporalSeries('toy', T=8, N=7, F=1, E=10)"
    assert s.graph_at(3)[0] is s.edge_index


def test_from_dense_matches_adjacency():
    adj = torch.tensor([[1., 0.5, 0.], [0., 1., 2.], [0.3, 0., 0.]])
    s = SpatioTemporalSeries.from_dense(torch.randn(4, 3), adj)
    dense = torch.zeros(3, 3)
    dense[s.edge_index[0], s.edge_index[1]] = s.edge_weight
    assert torch.equal(dense, adj)


def test_node_count_mismatch_errors(directed_graph):
    edge_index, edge_weight, n = directed_graph
    with pytest.raises(ValueError, match='series has 5 nodes'):
        SpatioTemporalSeries(torch.randn(4, 5), edge_index, edge_weight)
    with pytest.raises(ValueError, match='adjacency has 3 nodes but the series has 4'):
        SpatioTemporalSeries.from_dense(torch.randn(4, 4), torch.eye(3))
    with pytest.raises(ValueError, match='one name per node'):
        SpatioTemporalSeries(torch.randn(4, n), edge_index, node_ids=['a'])
    with pytest.raises(ValueError, match='one weight per edge'):
        SpatioTemporalSeries(torch.randn(4, n), edge_index, torch.ones(3))
    with pytest.raises(ValueError, match=r'expected shape \[2, E\]'):
        SpatioTemporalSeries(torch.randn(4, n), edge_index.t())
    with pytest.raises(ValueError, match=r'expected \[T, N, F\]'):
        SpatioTemporalSeries(torch.randn(4), edge_index)
    with pytest.raises(ValueError, match='one per step'):
        SpatioTemporalSeries(torch.randn(4, n), edge_index, timestamps=torch.arange(3))
    with pytest.raises(ValueError, match='integer seconds'):
        SpatioTemporalSeries(torch.randn(4, n), edge_index, timestamps=torch.rand(4))


def test_dynamic_graph():
    # Step 0: 0->1; step 1: no edge; step 2: 1->2, 2->0.
    edge_index = torch.tensor([[0, 1, 2], [1, 2, 0]])
    weight = torch.tensor([1., 2., 3.])
    s = SpatioTemporalSeries(torch.randn(3, 3), edge_index, weight,
                             edge_ptr=torch.tensor([0, 1, 1, 3]))
    assert s.is_dynamic and 'dynamic' in repr(s)
    assert s.graph_at(0)[0].tolist() == [[0], [1]]
    assert s.graph_at(1)[0].shape == (2, 0)
    assert s.graph_at(-1)[1].tolist() == [2., 3.]
    with pytest.raises(ValueError, match='T \\+ 1 = 4 offsets'):
        SpatioTemporalSeries(torch.randn(3, 3), edge_index, edge_ptr=torch.tensor([0, 3]))
    with pytest.raises(ValueError, match='must rise from 0'):
        SpatioTemporalSeries(torch.randn(3, 3), edge_index, edge_ptr=torch.tensor([0, 2, 1, 3]))
    with pytest.raises(IndexError, match='outside the series'):
        s.graph_at(3)


def test_with_graph_shares_the_series_and_checks_the_graph(directed_graph):
    edge_index, edge_weight, n = directed_graph
    series = torch.rand(6, n, 2)
    series[0, 1, 0] = float('nan')
    s = SpatioTemporalSeries(series, edge_index, edge_weight, timestamps=torch.arange(6) * 300,
                             node_ids=[str(i) for i in range(n)], name='x')
    other = s.with_graph(torch.tensor([[3], [0]]), torch.tensor([2.]))
    assert torch.equal(other.series, s.series) and torch.equal(other.mask, s.mask)
    assert torch.equal(other.timestamps, s.timestamps) and other.node_ids == s.node_ids
    assert other.name == 'x' and not bool(other.mask[0, 1, 0])
    assert other.edge_index.tolist() == [[3], [0]] and other.edge_weight.tolist() == [2.]
    assert torch.equal(s.edge_index, edge_index)  # the original keeps its graph
    assert other.with_graph(torch.tensor([[0], [1]])).edge_weight.tolist() == [1.]
    with pytest.raises(ValueError, match=f'refers to node {n}'):
        s.with_graph(torch.tensor([[0], [n]]))
