import pytest
import torch
from torch_geometric.data import Batch, Data

from pyg_ext.utils.add_expander_edges import AddExpanderEdges
from pyg_ext.utils.expander_edges import expander_edges


def test_one_expander_per_graph_offset_by_batching():
    transform = AddExpanderEdges(degree=4, seed=10)
    assert str(transform) == 'AddExpanderEdges(degree=4, seed=10)'
    graphs = [transform(Data(edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=n))
              for n in (5, 6)]
    assert torch.equal(graphs[0].expander_edge_index, expander_edges(5, 4, seed=10))
    assert torch.equal(graphs[1].expander_edge_index, expander_edges(6, 4, seed=11))
    batch = Batch.from_data_list(graphs)
    expected = torch.cat([graphs[0].expander_edge_index, graphs[1].expander_edge_index + 5], 1)
    assert torch.equal(batch.expander_edge_index, expected)
    # Same seed, same graphs, same order: the same edges.
    again = AddExpanderEdges(degree=4, seed=10)(Data(edge_index=graphs[0].edge_index,
                                                     num_nodes=5))
    assert torch.equal(again.expander_edge_index, graphs[0].expander_edge_index)


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match="must end in 'index'"):
        AddExpanderEdges(4, attr_name='expander')
    with pytest.raises(ValueError, match='use an even degree'):
        AddExpanderEdges(5)
