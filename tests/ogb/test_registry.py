import argparse

import pytest
import torch
from torch_geometric.nn import GCNConv, GraphConv, SAGEConv
from torch_geometric.nn.models import InnerProductDecoder

from pyg_ext.nn.autoencoder.bilinear_decoder import BilinearDecoder
from pyg_ext.nn.autoencoder.mlp_decoder import MLPDecoder
from pyg_ext.nn.conv.graph_attention_conv import GraphAttentionConv
from pyg_ext.ogb.cached_gcn_conv import CachedGCNConv
from pyg_ext.ogb.cached_sage_conv import CachedSAGEConv
from pyg_ext.ogb.link_predictor import LinkPredictor
from pyg_ext.ogb.mol_ggnn import MolGGNN
from pyg_ext.ogb.mol_gnn import MolGNN
from pyg_ext.ogb.mol_graph_attention_conv import MolGraphAttentionConv
from pyg_ext.ogb.mol_graph_transformer_conv import MolGraphTransformerConv
from pyg_ext.ogb.node_gnn import NodeGNN
from pyg_ext.ogb.pair_decoder import PairDecoder
from pyg_ext.ogb.registry import (
    GRAPH_MODELS,
    LINK_MODELS,
    NODE_MODELS,
    build_model,
    mol_model,
    node_model,
)

ARGS = argparse.Namespace(num_layers=2, hidden=8, dropout=0.5, batch_norm=True,
                          full_batch=True)
INFO = {'num_tasks': 2, 'num_features': 5, 'num_classes': 3, 'num_nodes': 10}


ATTENTION = ['attention-additive', 'attention-bilinear', 'attention-dot',
             'attention-scaled-dot']


def test_registered_names():
    assert sorted(GRAPH_MODELS) == sorted(['gcn', 'gcn-virtual', 'gin', 'gin-virtual', 'ggnn',
                                           'graph-transformer', 'graph-transformer-virtual',
                                           *ATTENTION])
    assert sorted(NODE_MODELS) == sorted(['gcn', 'sage', *ATTENTION])
    assert sorted(LINK_MODELS) == sorted(['gcn', 'sage', 'attention-dot', 'gcn-bilinear',
                                          'gcn-mlp', 'gcn-inner', 'sage-bilinear', 'sage-mlp',
                                          'sage-inner'])


def test_official_baselines_are_registered():
    model = build_model(GRAPH_MODELS, 'gin-virtual', INFO, ARGS)
    assert isinstance(model, MolGNN) and model.virtual_node is not None
    assert isinstance(build_model(NODE_MODELS, 'gcn', INFO, ARGS).convs[0], CachedGCNConv)
    sampled = argparse.Namespace(**{**vars(ARGS), 'full_batch': False})
    assert type(build_model(NODE_MODELS, 'gcn', INFO, sampled).convs[0]) is GCNConv
    encoder, decoder = build_model(LINK_MODELS, 'sage', INFO, ARGS)
    assert isinstance(encoder.convs[0], CachedSAGEConv) and encoder.norms is None
    assert isinstance(decoder, LinkPredictor) and decoder.num_layers == 2
    assert type(build_model(NODE_MODELS, 'sage', INFO, sampled).convs[0]) is SAGEConv


def test_one_line_entries(monkeypatch):
    monkeypatch.setitem(GRAPH_MODELS, 'graph-conv', mol_model(lambda d: GraphConv(d, d)))
    monkeypatch.setitem(NODE_MODELS, 'graph-conv', node_model(lambda i, o, a: GraphConv(i, o)))
    assert isinstance(build_model(GRAPH_MODELS, 'graph-conv', INFO, ARGS), MolGNN)
    model = build_model(NODE_MODELS, 'graph-conv', INFO, ARGS)
    assert isinstance(model, NodeGNN)
    x, edge_index = torch.randn(10, 5), torch.randint(0, 10, (2, 30))
    assert model(x, edge_index).shape == (10, 3)


def test_unknown_name():
    with pytest.raises(ValueError, match=r"unknown --model 'gat'; choose one of "
                                         r"\['attention-additive', .*'gcn', 'sage'\]"):
        build_model(NODE_MODELS, 'gat', INFO, ARGS)


def test_pyg_ext_graph_models():
    model = build_model(GRAPH_MODELS, 'graph-transformer', INFO, ARGS)
    assert isinstance(model, MolGNN) and model.virtual_node is None
    assert [repr(c) for c in model.convs] == ['MolGraphTransformerConv(8, heads=4)'] * 2
    assert model._takes_edge_attr == (True, True)  # bond features reach the layers
    model = build_model(GRAPH_MODELS, 'graph-transformer-virtual', INFO, ARGS)
    assert isinstance(model.convs[0], MolGraphTransformerConv)
    assert model.virtual_node is not None
    for name, score in zip(ATTENTION, ['additive', 'bilinear', 'dot', 'scaled_dot']):
        model = build_model(GRAPH_MODELS, name, INFO, ARGS)
        assert isinstance(model.convs[1], MolGraphAttentionConv)
        assert (model.convs[1].score, model.convs[1].heads) == (score, 4)
        assert model.convs[1].conv.score_name == score
    model = build_model(GRAPH_MODELS, 'ggnn', INFO, ARGS)
    assert isinstance(model, MolGGNN)
    assert (model.num_tasks, model.num_layers, model.emb_dim, model.dropout) == (2, 2, 8, 0.5)


@pytest.mark.parametrize('name', ATTENTION)
def test_pyg_ext_node_models(name):
    model = build_model(NODE_MODELS, name, INFO, ARGS)
    assert isinstance(model, NodeGNN) and model.norms is not None
    hidden, out = model.convs
    assert isinstance(hidden, GraphAttentionConv) and hidden.score_name == name[10:].replace(
        '-', '_')
    # Hidden layers concatenate 4 heads of 8 / 4 channels, the output layer averages 4 heads
    # of 3 (the classes), as GAT.
    assert (hidden.in_channels, hidden.out_channels, hidden.heads, hidden.concat) == \
        (5, 2, 4, True)
    assert (out.in_channels, out.out_channels, out.heads, out.concat) == (8, 3, 4, False)
    x, edge_index = torch.randn(10, 5), torch.randint(0, 10, (2, 30))
    adj_t = torch.sparse_coo_tensor(edge_index.flip(0), torch.ones(30), (10, 10)).coalesce()
    model.eval()
    out = model(x, edge_index)
    assert out.shape == (10, 3)
    # The runners' sparse adj_t (CSR) gives the same answer as the edge list (duplicate
    # edges merged in adj_t: compare on the coalesced graph).
    edge_index = adj_t.indices().flip(0)
    assert torch.allclose(model(x, adj_t.to_sparse_csr()), model(x, edge_index), atol=1e-5)


def test_pyg_ext_link_models():
    decoders = {'bilinear': BilinearDecoder, 'mlp': MLPDecoder, 'inner': InnerProductDecoder}
    for encoder_name, conv in (('gcn', CachedGCNConv), ('sage', CachedSAGEConv)):
        for name, cls in decoders.items():
            encoder, decoder = build_model(LINK_MODELS, f'{encoder_name}-{name}', INFO, ARGS)
            assert isinstance(encoder.convs[0], conv) and encoder.norms is None
            assert isinstance(decoder, PairDecoder) and isinstance(decoder.decoder, cls)
            h = encoder(torch.randn(10, 5), torch.randint(0, 10, (2, 30)))
            p = decoder(h[:4], h[4:8])
            assert p.shape == (4, 1) and ((0 <= p) & (p <= 1)).all()
    _, decoder = build_model(LINK_MODELS, 'gcn-mlp', INFO, ARGS)
    assert decoder.decoder.num_layers == ARGS.num_layers
    assert decoder.decoder.mlp.dropout[0] == ARGS.dropout
    encoder, decoder = build_model(LINK_MODELS, 'attention-dot', INFO, ARGS)
    assert all(isinstance(c, GraphAttentionConv) and c.score_name == 'dot' and c.concat
               for c in encoder.convs)
    assert isinstance(decoder, LinkPredictor)
