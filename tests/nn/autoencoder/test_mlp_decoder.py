import pytest
import torch
from torch_geometric.nn import GCNConv
from torch_geometric.nn.models import GAE

from pyg_ext.nn.autoencoder.mlp_decoder import MLPDecoder


def hand_mlp(decoder, pair):
    """ReLU hidden layers, a plain last layer: computed from the decoder's own weights."""
    lins = decoder.mlp.lins
    h = pair
    for lin in lins[:-1]:
        h = (h @ lin.weight.t() + lin.bias).relu()
    return (h @ lins[-1].weight.t() + lins[-1].bias).squeeze(-1)


def test_repr():
    assert str(MLPDecoder(16, 32)) == "MLPDecoder(16, 32, num_layers=2, combine='hadamard')"
    assert str(MLPDecoder(16, 32, num_layers=3, combine='concat')) == \
        "MLPDecoder(16, 32, num_layers=3, combine='concat')"


@pytest.mark.parametrize('combine', ['hadamard', 'concat'])
@pytest.mark.parametrize('num_layers', [1, 3])
def test_matches_hand_computation(combine, num_layers):
    z = torch.randn(10, 6)
    edge_index = torch.randint(0, 10, (2, 25))
    decoder = MLPDecoder(6, 12, num_layers=num_layers, combine=combine)
    z_i, z_j = z[edge_index[0]], z[edge_index[1]]
    pair = z_i * z_j if combine == 'hadamard' else torch.cat([z_i, z_j], dim=-1)
    expected = hand_mlp(decoder, pair)
    assert torch.allclose(decoder(z, edge_index, sigmoid=False), expected, atol=1e-5)
    assert torch.allclose(decoder(z, edge_index), torch.sigmoid(expected), atol=1e-6)


def test_first_layer_by_hand():
    # One explicit number, worked out on paper.
    decoder = MLPDecoder(2, 2, num_layers=2)
    with torch.no_grad():
        first, last = decoder.mlp.lins
        first.weight.copy_(torch.tensor([[1.0, -1.0], [0.5, 0.5]]))
        first.bias.copy_(torch.tensor([1.0, -1.0]))
        last.weight.copy_(torch.tensor([[2.0, -1.0]]))
        last.bias.copy_(torch.tensor([0.25]))
    z = torch.tensor([[1.0, 3.0], [2.0, 1.0]])
    # pair = [2, 3]; hidden = relu([2 - 3 + 1, 1 + 1.5 - 1]) = [0, 1.5]; out = -1.5 + 0.25
    out = decoder(z, torch.tensor([[0], [1]]), sigmoid=False)
    assert torch.allclose(out, torch.tensor([-1.25]))


def test_forward_all_and_symmetry():
    z = torch.randn(7, 6)
    for combine, symmetric in (('hadamard', True), ('concat', False)):
        decoder = MLPDecoder(6, 12, combine=combine)
        dense = decoder.forward_all(z, sigmoid=False)
        assert dense.shape == (7, 7)
        row, col = torch.meshgrid(torch.arange(7), torch.arange(7), indexing='ij')
        pairs = torch.stack([row.flatten(), col.flatten()])
        assert torch.allclose(dense.flatten(), decoder(z, pairs, sigmoid=False), atol=1e-5)
        assert torch.allclose(dense, dense.t(), atol=1e-6) == symmetric


def test_leading_dimensions():
    z = torch.randn(2, 3, 7, 6)  # [B, T, N, F]
    edge_index = torch.randint(0, 7, (2, 9))
    decoder = MLPDecoder(6, 12, combine='concat')
    out, dense = decoder(z, edge_index), decoder.forward_all(z)
    assert out.shape == (2, 3, 9) and dense.shape == (2, 3, 7, 7)
    assert torch.allclose(out[1, 2], decoder(z[1, 2], edge_index), atol=1e-6)
    assert torch.allclose(dense[0, 1], decoder.forward_all(z[0, 1]), atol=1e-6)


def test_dropout_only_in_training():
    z = torch.randn(10, 6)
    edge_index = torch.randint(0, 10, (2, 25))
    decoder = MLPDecoder(6, 64, dropout=0.5)
    assert not torch.equal(decoder(z, edge_index), decoder(z, edge_index))
    decoder.eval()
    assert torch.equal(decoder(z, edge_index), decoder(z, edge_index))


def test_gae_recon_loss_and_gradients():
    edge_index = torch.randint(0, 20, (2, 60))
    x = torch.randn(20, 5)
    model = GAE(GCNConv(5, 8), MLPDecoder(8, 16))
    z = model.encode(x, edge_index)
    loss = model.recon_loss(z, edge_index)
    loss.backward()
    assert torch.isfinite(loss)
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_reset_and_save_load(reloaded):
    decoder = MLPDecoder(6, 12, combine='concat')
    before = decoder.mlp.lins[0].weight.clone()
    decoder.reset_parameters()
    assert not torch.equal(before, decoder.mlp.lins[0].weight)
    loaded = reloaded(decoder)
    z = torch.randn(5, 6)
    assert str(loaded) == str(decoder)
    assert torch.equal(loaded.forward_all(z), decoder.forward_all(z))


def test_compiles_without_graph_breaks(graph_breaks):
    decoder = MLPDecoder(6, 12)
    count, why = graph_breaks(decoder, torch.randn(10, 6), torch.randint(0, 10, (2, 20)))
    assert count == 0, why


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match="choose one of \\('hadamard', 'concat'\\)"):
        MLPDecoder(6, 12, combine='sum')
    decoder = MLPDecoder(6, 12)
    with pytest.raises(ValueError, match='build the layer with in_channels=4'):
        decoder(torch.randn(10, 4), torch.randint(0, 10, (2, 20)))
    with pytest.raises(ValueError, match=r'call edge_index.long\(\)'):
        decoder(torch.randn(10, 6), torch.rand(2, 20))
