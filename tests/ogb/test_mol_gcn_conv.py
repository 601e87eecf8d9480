import pytest
import torch

from pyg_ext.ogb.mol_gcn_conv import MolGCNConv


def _graph():
    edge_index = torch.tensor([[0, 1, 1, 2, 1, 3], [1, 0, 2, 1, 3, 1]])
    edge_attr = torch.randint(0, 2, (6, 3))
    return torch.randn(4, 8), edge_index, edge_attr


def test_matches_dense_formula():
    conv = MolGCNConv(8)
    x, edge_index, edge_attr = _graph()
    h = conv.linear(x)
    bond = conv.bond_encoder(edge_attr)
    adj = torch.zeros(4, 4)
    adj[edge_index[0], edge_index[1]] = 1.0
    d = adj.sum(dim=1) + 1  # out-degree + 1
    msg = torch.zeros(4, 4, 8)  # msg[j, i] = ReLU(h_j + e_ji) / sqrt(d_j d_i)
    msg[edge_index[0], edge_index[1]] = torch.relu(h[edge_index[0]] + bond)
    norm = (d.view(-1, 1) * d.view(1, -1)).rsqrt() * adj
    expected = (norm.unsqueeze(-1) * msg).sum(0) + torch.relu(h + conv.root_emb.weight) / d[:,
                                                                                            None]
    assert torch.allclose(conv(x, edge_index, edge_attr), expected, atol=1e-6)


def test_gradients_repr_save(tmp_path):
    conv = MolGCNConv(8)
    x, edge_index, edge_attr = _graph()
    conv(x, edge_index, edge_attr).sum().backward()
    assert all(p.grad is not None for p in conv.parameters())
    assert repr(conv) == 'MolGCNConv(8)'
    torch.save(conv, tmp_path / 'conv.pt')
    loaded = torch.load(tmp_path / 'conv.pt', weights_only=False)
    assert torch.equal(loaded(x, edge_index, edge_attr), conv(x, edge_index, edge_attr))
    with pytest.raises(ValueError, match='build the layer with in_channels=3'):
        conv(torch.randn(4, 3), edge_index, edge_attr)
