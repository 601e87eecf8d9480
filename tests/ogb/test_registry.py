import argparse

import pytest
import torch
from torch_geometric.nn import GCNConv, GraphConv, SAGEConv

from pyg_ext.ogb.cached_gcn_conv import CachedGCNConv
from pyg_ext.ogb.link_predictor import LinkPredictor
from pyg_ext.ogb.mol_gnn import MolGNN
from pyg_ext.ogb.node_gnn import NodeGNN
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


def test_official_baselines_are_registered():
    assert sorted(GRAPH_MODELS) == ['gcn', 'gcn-virtual', 'gin', 'gin-virtual']
    assert sorted(NODE_MODELS) == ['gcn', 'sage'] and sorted(LINK_MODELS) == ['gcn', 'sage']
    model = build_model(GRAPH_MODELS, 'gin-virtual', INFO, ARGS)
    assert isinstance(model, MolGNN) and model.virtual_node is not None
    assert isinstance(build_model(NODE_MODELS, 'gcn', INFO, ARGS).convs[0], CachedGCNConv)
    sampled = argparse.Namespace(**{**vars(ARGS), 'full_batch': False})
    assert type(build_model(NODE_MODELS, 'gcn', INFO, sampled).convs[0]) is GCNConv
    encoder, decoder = build_model(LINK_MODELS, 'sage', INFO, ARGS)
    assert isinstance(encoder.convs[0], SAGEConv) and encoder.norms is None
    assert isinstance(decoder, LinkPredictor) and decoder.num_layers == 2


def test_one_line_entries(monkeypatch):
    monkeypatch.setitem(GRAPH_MODELS, 'graph-conv', mol_model(lambda d: GraphConv(d, d)))
    monkeypatch.setitem(NODE_MODELS, 'graph-conv', node_model(lambda i, o, a: GraphConv(i, o)))
    assert isinstance(build_model(GRAPH_MODELS, 'graph-conv', INFO, ARGS), MolGNN)
    model = build_model(NODE_MODELS, 'graph-conv', INFO, ARGS)
    assert isinstance(model, NodeGNN)
    x, edge_index = torch.randn(10, 5), torch.randint(0, 10, (2, 30))
    assert model(x, edge_index).shape == (10, 3)


def test_unknown_name():
    with pytest.raises(ValueError, match=r"unknown --model 'gat'; choose one of \['gcn', 'sage'"):
        build_model(NODE_MODELS, 'gat', INFO, ARGS)
