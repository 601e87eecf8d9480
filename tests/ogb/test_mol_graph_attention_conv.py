import pytest
import torch
from ogb.graphproppred.mol_encoder import BondEncoder
from ogb.utils.features import get_bond_feature_dims

from pyg_ext.nn.conv.graph_attention_conv import GraphAttentionConv
from pyg_ext.ogb.mol_graph_attention_conv import MolGraphAttentionConv

SCORES = ['additive', 'bilinear', 'dot', 'scaled_dot']


@pytest.mark.parametrize('score', SCORES)
def test_equals_bare_conv_with_bond_embeddings(score, molecules):
    layer = MolGraphAttentionConv(8, score, heads=2)
    b = molecules()
    bond_encoder = BondEncoder(8)  # built by hand, weights copied
    bond_encoder.load_state_dict(layer.bond_encoder.state_dict())
    conv = GraphAttentionConv(8, 4, 2, score=score, edge_dim=8)
    conv.load_state_dict(layer.conv.state_dict())
    expected = conv(b.x, b.edge_index, bond_encoder(b.edge_attr))
    out = layer(b.x, b.edge_index, b.edge_attr)
    assert out.shape == (12, 8)
    assert torch.allclose(out, expected, atol=1e-6)
    # The bonds matter: other bond features give another output.
    other = (b.edge_attr + 1) % torch.tensor(get_bond_feature_dims())
    assert not torch.allclose(layer(b.x, b.edge_index, other), out, atol=1e-4)


@pytest.mark.parametrize('score', SCORES)
def test_gradients_reach_every_parameter(score, molecules):
    layer = MolGraphAttentionConv(8, score, heads=2)
    b = molecules()
    layer(b.x, b.edge_index, b.edge_attr).pow(2).sum().backward()
    assert [name for name, p in layer.named_parameters()
            if p.grad is None or not p.grad.abs().sum() > 0] == []


def test_reset_repr_and_save(tmp_path, molecules):
    layer = MolGraphAttentionConv(8, 'dot', heads=2)
    assert repr(layer) == "MolGraphAttentionConv(8, score='dot', heads=2)"
    assert repr(MolGraphAttentionConv(12)) == \
        "MolGraphAttentionConv(12, score='additive', heads=4)"
    with torch.no_grad():
        layer.conv.lin_key.weight.zero_()
        layer.bond_encoder.bond_embedding_list[0].weight.zero_()
    layer.reset_parameters()
    assert layer.conv.lin_key.weight.abs().sum() > 0
    assert layer.bond_encoder.bond_embedding_list[0].weight.abs().sum() > 0
    b = molecules()
    torch.save(layer, tmp_path / 'layer.pt')
    loaded = torch.load(tmp_path / 'layer.pt', weights_only=False)
    assert torch.equal(loaded(b.x, b.edge_index, b.edge_attr),
                       layer(b.x, b.edge_index, b.edge_attr))


def test_compiles_without_graph_breaks(molecules, graph_breaks):
    layer = MolGraphAttentionConv(8, 'scaled_dot', heads=2)
    b = molecules()
    count, why = graph_breaks(layer, b.x, b.edge_index, b.edge_attr)
    assert count == 0, why


def test_bad_input(molecules):
    with pytest.raises(ValueError, match=r'emb_dim=10 is not divisible by heads=4.*multiple'):
        MolGraphAttentionConv(10)
    layer = MolGraphAttentionConv(8, heads=2)
    b = molecules()
    with pytest.raises(ValueError, match=r"expected OGB's integer bond features of shape "
                                         r"\[E, 3\]"):
        layer(b.x, b.edge_index, b.edge_attr.float())
    with pytest.raises(ValueError, match=r"'edge_attr' has shape \[20, 2\]"):
        layer(b.x, b.edge_index, b.edge_attr[:, :2])
    with pytest.raises(ValueError, match='build the layer with in_channels=5'):
        layer(torch.randn(12, 5), b.edge_index, b.edge_attr)
