import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Batch, Data
from torch_geometric.nn import GraphConv, global_add_pool, global_mean_pool

from pyg_ext.ogb.mol_gcn_conv import MolGCNConv
from pyg_ext.ogb.mol_gin_conv import MolGINConv
from pyg_ext.ogb.mol_gnn import MolGNN


def _batch(num_graphs=3):
    graphs = []
    for g in range(num_graphs):
        n = 3 + g
        src = torch.arange(n - 1)
        edge_index = torch.cat([torch.stack([src, src + 1]), torch.stack([src + 1, src])], 1)
        graphs.append(Data(x=torch.randint(0, 2, (n, 9)), edge_index=edge_index,
                           edge_attr=torch.randint(0, 2, (edge_index.size(1), 3))))
    return Batch.from_data_list(graphs)


def _official(model, b):
    """OGB's GNN_node(_Virtualnode) forward, written as in examples/graphproppred/mol."""
    h_list = [model.atom_encoder(b.x)]
    vn = None if model.virtual_node is None else model.virtual_node(
        torch.zeros(b.num_graphs, dtype=torch.long))
    for layer in range(model.num_layers):
        if vn is not None:
            h_list[layer] = h_list[layer] + vn[b.batch]
        h = model.norms[layer](model.convs[layer](h_list[layer], b.edge_index, b.edge_attr))
        if layer == model.num_layers - 1:
            h = F.dropout(h, model.dropout, training=model.training)
        else:
            h = F.dropout(F.relu(h), model.dropout, training=model.training)
        h_list.append(h)
        if vn is not None and layer < model.num_layers - 1:
            tmp = global_add_pool(h_list[layer], b.batch) + vn
            vn = F.dropout(model.virtual_mlps[layer](tmp), model.dropout,
                           training=model.training)
    return model.head(global_mean_pool(h_list[-1], b.batch))


@pytest.mark.parametrize('conv', [MolGINConv, MolGCNConv])
@pytest.mark.parametrize('virtual_node', [False, True])
def test_matches_official_forward(conv, virtual_node):
    model = MolGNN(conv, num_tasks=2, num_layers=3, emb_dim=16, virtual_node=virtual_node)
    with torch.no_grad():  # a non-zero virtual node, so that its path matters
        if virtual_node:
            model.virtual_node.weight.normal_()
    b = _batch()
    model.eval()
    out = model(b.x, b.edge_index, b.edge_attr, b.batch, b.num_graphs)
    assert out.shape == (3, 2)
    assert torch.allclose(out, _official(model, b), atol=1e-5)
    model.train()  # dropout: same RNG draws in the same order
    torch.manual_seed(1)
    out = model(b.x, b.edge_index, b.edge_attr, b.batch, b.num_graphs)
    torch.manual_seed(1)
    assert torch.allclose(out, _official(model, b), atol=1e-5)


def test_gradients_reach_every_parameter_and_save(tmp_path):
    model = MolGNN(MolGINConv, num_tasks=1, num_layers=2, emb_dim=8, virtual_node=True)
    b = _batch()
    model(b.x, b.edge_index, b.edge_attr, b.batch, b.num_graphs).sum().backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []
    torch.save(model, tmp_path / 'model.pt')
    loaded = torch.load(tmp_path / 'model.pt', weights_only=False)
    model.eval(), loaded.eval()
    args = (b.x, b.edge_index, b.edge_attr, b.batch, b.num_graphs)
    assert torch.equal(loaded(*args), model(*args))


def test_graph_order_equivariance():
    model = MolGNN(MolGINConv, num_tasks=1, num_layers=2, emb_dim=8).eval()
    graphs = _batch().to_data_list()
    b1, b2 = Batch.from_data_list(graphs), Batch.from_data_list(graphs[::-1])
    out1 = model(b1.x, b1.edge_index, b1.edge_attr, b1.batch, 3)
    out2 = model(b2.x, b2.edge_index, b2.edge_attr, b2.batch, 3)
    assert torch.allclose(out1, out2.flip(0), atol=1e-5)


def test_conv_without_edge_attr_and_repr():
    model = MolGNN(lambda d: GraphConv(d, d), num_tasks=1, num_layers=2, emb_dim=8)
    b = _batch()
    assert model(b.x, b.edge_index, b.edge_attr, b.batch, b.num_graphs).shape == (3, 1)
    assert repr(MolGNN(MolGINConv, 1, emb_dim=8, virtual_node=True)) == (
        'MolGNN(MolGINConv, num_tasks=1, num_layers=5, emb_dim=8, virtual_node=True)')
    with pytest.raises(ValueError, match='pass num_layers >= 2'):
        MolGNN(MolGINConv, 1, num_layers=1)
