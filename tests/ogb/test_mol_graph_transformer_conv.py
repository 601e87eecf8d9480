import pytest
import torch
from ogb.graphproppred.mol_encoder import BondEncoder
from ogb.utils.features import get_bond_feature_dims

from pyg_ext.nn.conv.graph_transformer_conv import GraphTransformerConv
from pyg_ext.ogb.mol_graph_transformer_conv import MolGraphTransformerConv


def test_equals_bare_conv_with_bond_embeddings(molecules):
    layer = MolGraphTransformerConv(8, heads=2)
    b = molecules()
    bond_encoder = BondEncoder(8)  # built by hand, weights copied
    bond_encoder.load_state_dict(layer.bond_encoder.state_dict())
    conv = GraphTransformerConv(8, 2, edge_dim=8)
    conv.load_state_dict(layer.conv.state_dict())
    expected = conv(b.x, b.edge_index, bond_encoder(b.edge_attr))
    out = layer(b.x, b.edge_index, b.edge_attr)
    assert out.shape == (12, 8)
    assert torch.allclose(out, expected, atol=1e-6)
    other = (b.edge_attr + 1) % torch.tensor(get_bond_feature_dims())
    assert not torch.allclose(layer(b.x, b.edge_index, other), out, atol=1e-4)
    # Atoms of one molecule do not see another's: permuting molecule 2 leaves 1 and 3 alone.
    x = b.x.clone()
    x[3:8] = x[3:8].flip(0)
    moved = layer(x, b.edge_index, b.edge_attr)
    keep = torch.cat([torch.arange(3), torch.arange(8, 12)])
    assert torch.allclose(moved[keep], out[keep], atol=1e-6)


def test_gradients_reach_every_parameter(molecules):
    layer = MolGraphTransformerConv(8, heads=2)
    b = molecules()
    layer(b.x, b.edge_index, b.edge_attr).pow(2).sum().backward()
    assert [name for name, p in layer.named_parameters()
            if p.grad is None or not p.grad.abs().sum() > 0] == []


def test_reset_repr_and_save(tmp_path, molecules):
    layer = MolGraphTransformerConv(8, heads=2)
    assert repr(layer) == 'MolGraphTransformerConv(8, heads=2)'
    assert repr(MolGraphTransformerConv(12)) == 'MolGraphTransformerConv(12, heads=4)'
    assert layer.conv.norm_first and layer.conv.dropout == 0.0
    with torch.no_grad():
        layer.conv.attn.lin_key.weight.zero_()
        layer.bond_encoder.bond_embedding_list[2].weight.zero_()
    layer.reset_parameters()
    assert layer.conv.attn.lin_key.weight.abs().sum() > 0
    assert layer.bond_encoder.bond_embedding_list[2].weight.abs().sum() > 0
    b = molecules()
    torch.save(layer, tmp_path / 'layer.pt')
    loaded = torch.load(tmp_path / 'layer.pt', weights_only=False)
    assert torch.equal(loaded(b.x, b.edge_index, b.edge_attr),
                       layer(b.x, b.edge_index, b.edge_attr))


def test_compiles_without_graph_breaks(molecules, graph_breaks):
    layer = MolGraphTransformerConv(8, heads=2)
    b = molecules()
    count, why = graph_breaks(layer, b.x, b.edge_index, b.edge_attr)
    assert count == 0, why


def test_bad_input(molecules):
    with pytest.raises(ValueError, match='channels=10 must be divisible by heads=4'):
        MolGraphTransformerConv(10)
    layer = MolGraphTransformerConv(8, heads=2)
    b = molecules()
    with pytest.raises(ValueError, match=r"expected OGB's integer bond features of shape "
                                         r"\[E, 3\]"):
        layer(b.x, b.edge_index, b.edge_attr[:, 0])
    with pytest.raises(ValueError, match=r"'edge_attr' has shape \[19, 3\], but edge_index "
                                         r"has 20 edges; pass one row"):
        layer(b.x, b.edge_index, b.edge_attr[:19])
