import torch

from pyg_ext.ogb.mol_gin_conv import MolGINConv


def _graph():
    edge_index = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    edge_attr = torch.tensor([[0, 1, 0], [0, 1, 0], [1, 0, 1], [1, 0, 1], [2, 2, 0], [2, 2, 0]])
    return torch.randn(4, 8), edge_index, edge_attr


def test_matches_dense_formula():
    conv = MolGINConv(8)
    with torch.no_grad():
        conv.eps.fill_(0.3)
    conv.eval()  # batch norm with running statistics
    x, edge_index, edge_attr = _graph()
    bond = conv.bond_encoder(edge_attr)
    msg = torch.zeros(4, 4, 8)  # msg[j, i] = ReLU(x_j + e_ji) for an edge j -> i
    msg[edge_index[0], edge_index[1]] = torch.relu(x[edge_index[0]] + bond)
    expected = conv.mlp(1.3 * x + msg.sum(dim=0))
    assert torch.allclose(conv(x, edge_index, edge_attr), expected, atol=1e-6)


def test_gradients_reset_repr_and_save(tmp_path):
    conv = MolGINConv(8)
    x, edge_index, edge_attr = _graph()
    conv(x, edge_index, edge_attr).sum().backward()
    used = [name for name, p in conv.named_parameters() if p.grad is None]
    # Bond embedding rows not present in the batch get no gradient only if unused: all
    # embedding tables are looked up, so every parameter has a gradient.
    assert used == []
    with torch.no_grad():
        conv.eps.fill_(1.0)
    conv.reset_parameters()
    assert conv.eps.item() == 0.0
    assert repr(conv) == 'MolGINConv(8)'
    torch.save(conv, tmp_path / 'conv.pt')
    loaded = torch.load(tmp_path / 'conv.pt', weights_only=False)
    conv.eval(), loaded.eval()
    assert torch.equal(loaded(x, edge_index, edge_attr), conv(x, edge_index, edge_attr))


def test_bad_input():
    import pytest
    conv = MolGINConv(8)
    x, edge_index, edge_attr = _graph()
    with pytest.raises(ValueError, match='build the layer with in_channels=5'):
        conv(torch.randn(4, 5), edge_index, edge_attr)
    with pytest.raises(ValueError, match=r'expected shape \[2, E\]'):
        conv(x, edge_index.t(), edge_attr)
