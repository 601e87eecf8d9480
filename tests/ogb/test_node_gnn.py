import pytest
import torch
import torch.nn.functional as F
from torch_geometric.nn import GCNConv, SAGEConv
from torch_geometric.utils import remove_self_loops, to_torch_csr_tensor, to_undirected

from pyg_ext.ogb.node_gnn import NodeGNN


def _graph():
    # No self-loops: on those PyG's GCNConv treats a torch.sparse adj_t (adds a second loop)
    # and an edge_index (keeps the loop) differently; OGB's graphs have none.
    edge_index = remove_self_loops(to_undirected(torch.randint(0, 20, (2, 60)), num_nodes=20))[0]
    return torch.randn(20, 5), edge_index


def _official(model, x, adj):
    """OGB's arxiv GCN/SAGE forward (examples/nodeproppred/arxiv/gnn.py)."""
    for i, conv in enumerate(model.convs[:-1]):
        x = F.relu(model.norms[i](conv(x, adj)))
        x = F.dropout(x, p=model.dropout, training=model.training)
    return model.convs[-1](x, adj)


@pytest.mark.parametrize('conv', [lambda i, o: GCNConv(i, o, cached=True), SAGEConv])
def test_matches_official_and_sparse_equals_dense_index(conv):
    x, edge_index = _graph()
    model = NodeGNN(conv, 5, 16, 3, num_layers=3).eval()
    adj_t = to_torch_csr_tensor(edge_index, size=(20, 20))
    out = model(x, edge_index)
    assert out.shape == (20, 3)
    assert torch.allclose(out, _official(model, x, edge_index), atol=1e-5)
    fresh = NodeGNN(conv, 5, 16, 3, num_layers=3).eval()  # its own cache, from adj_t
    fresh.load_state_dict(model.state_dict())
    assert torch.allclose(fresh(x, adj_t), model(x, edge_index), atol=1e-5)


def test_gradients_repr_save_and_errors(tmp_path):
    x, edge_index = _graph()
    model = NodeGNN(SAGEConv, 5, 8, 3, num_layers=2, batch_norm=False)
    model(x, edge_index).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    assert model.norms is None
    assert repr(model) == 'NodeGNN(SAGEConv, 5, 8, 3, num_layers=2, batch_norm=False)'
    torch.save(model, tmp_path / 'm.pt')
    loaded = torch.load(tmp_path / 'm.pt', weights_only=False).eval()
    assert torch.equal(loaded(x, edge_index), model.eval()(x, edge_index))
    with pytest.raises(ValueError, match='build the layer with in_channels=4'):
        model(torch.randn(20, 4), edge_index)
    with pytest.raises(ValueError, match='pass num_layers >= 1'):
        NodeGNN(SAGEConv, 5, 8, 3, num_layers=0)
