import pytest
import torch
from ogb.graphproppred.mol_encoder import AtomEncoder
from torch_geometric.data import Batch, Data
from torch_geometric.nn import GatedGraphConv

from pyg_ext.nn.recurrent.recurrent_graph_conv import RecurrentGraphConv
from pyg_ext.ogb.mol_ggnn import MolGGNN


def _molecules():
    graphs = []
    for n, ring in ((3, False), (5, True), (4, False)):
        src = torch.arange(n if ring else n - 1)
        dst = (src + 1) % n
        edge_index = torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], 1)
        graphs.append(Data(x=torch.randint(0, 2, (n, 9)), edge_index=edge_index,
                           edge_attr=torch.randint(0, 2, (edge_index.size(1), 3))))
    return Batch.from_data_list(graphs)


def _by_hand(model, b, dropout_seed=None):
    """Atom encoder and a bare RecurrentGraphConv with the model's weights, then Li et al.'s
    gated readout written out."""
    encoder = AtomEncoder(model.emb_dim)
    encoder.load_state_dict(model.atom_encoder.state_dict())
    conv = RecurrentGraphConv(model.emb_dim, model.num_layers, updater='gru')
    conv.load_state_dict(model.conv.state_dict())
    x = encoder(b.x)
    z = torch.cat([conv(x, b.edge_index), x], dim=-1)
    if dropout_seed is not None:
        torch.manual_seed(dropout_seed)
        z = torch.nn.functional.dropout(z, model.dropout, training=True)
    node = torch.sigmoid(z @ model.gate.weight.t() + model.gate.bias) * \
        torch.tanh(z @ model.value.weight.t() + model.value.bias)
    graphs = torch.stack([node[b.batch == g].sum(dim=0) for g in range(b.num_graphs)])
    return torch.tanh(graphs) @ model.head.weight.t() + model.head.bias


def test_equals_atom_encoder_bare_conv_and_gated_readout():
    model = MolGGNN(num_tasks=2, num_layers=3, emb_dim=8)
    b = _molecules()
    model.eval()
    out = model(b.x, b.edge_index, b.edge_attr, b.batch, b.num_graphs)
    assert out.shape == (3, 2)
    assert torch.allclose(out, _by_hand(model, b), atol=1e-5)
    # Bond features are ignored (documented): other bonds, same output.
    assert torch.equal(model(b.x, b.edge_index, 1 - b.edge_attr, b.batch, b.num_graphs), out)
    model.train()  # dropout on the readout's input: the same draw as by hand
    torch.manual_seed(7)
    out = model(b.x, b.edge_index, b.edge_attr, b.batch, b.num_graphs)
    assert torch.allclose(out, _by_hand(model, b, dropout_seed=7), atol=1e-5)


def test_gru_steps_are_pyg_gated_graph_conv():
    # The propagation is GGNN itself: PyG's GatedGraphConv with the same weights.
    model = MolGGNN(num_tasks=1, num_layers=4, emb_dim=8)
    b = _molecules()
    x = model.atom_encoder(b.x)
    ref = GatedGraphConv(8, 4)
    with torch.no_grad():
        ref.weight.copy_(model.conv.weight)
        ref.rnn.weight_ih.copy_(model.conv.cell.input_map.weight)
        ref.rnn.weight_hh.copy_(model.conv.cell.hidden_map.weight)
        ref.rnn.bias_ih.copy_(model.conv.cell.input_map.bias)
        ref.rnn.bias_hh.copy_(model.conv.cell.hidden_map.bias)
    assert torch.allclose(model.conv(x, b.edge_index), ref(x, b.edge_index), atol=1e-5)


def test_gradients_reset_repr_and_save(tmp_path):
    model = MolGGNN(num_tasks=2, num_layers=2, emb_dim=8)
    b = _molecules()
    model(b.x, b.edge_index, b.edge_attr, b.batch, b.num_graphs).sum().backward()
    assert [name for name, p in model.named_parameters() if p.grad is None] == []
    assert repr(model) == "MolGGNN(num_tasks=2, num_layers=2, emb_dim=8, updater='gru')"
    assert repr(model.conv) == "RecurrentGraphConv(8, num_layers=2, updater='gru')"
    with torch.no_grad():
        model.head.weight.zero_()
        model.conv.weight.zero_()
    model.reset_parameters()
    assert model.head.weight.abs().sum() > 0 and model.conv.weight.abs().sum() > 0
    model.eval()
    torch.save(model, tmp_path / 'model.pt')
    loaded = torch.load(tmp_path / 'model.pt', weights_only=False)
    assert torch.equal(loaded(b.x, b.edge_index, b.edge_attr, b.batch, b.num_graphs),
                       model(b.x, b.edge_index, b.edge_attr, b.batch, b.num_graphs))


def test_lstm_updater():
    model = MolGGNN(num_tasks=1, num_layers=2, emb_dim=8, updater='lstm')
    b = _molecules()
    assert model(b.x, b.edge_index, None, b.batch, b.num_graphs).shape == (3, 1)


def test_bad_input():
    with pytest.raises(ValueError, match='number of propagation steps must be >= 1'):
        MolGGNN(num_tasks=1, num_layers=0)
    with pytest.raises(ValueError, match="updater='gat' is not known"):
        MolGGNN(num_tasks=1, updater='gat')
    model = MolGGNN(num_tasks=1, num_layers=2, emb_dim=8)
    b = _molecules()
    with pytest.raises(ValueError, match=r'expected shape \[2, E\]'):
        model(b.x, b.edge_index.t(), b.edge_attr, b.batch, b.num_graphs)
