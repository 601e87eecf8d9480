"""Behaviour shared by the graph recurrent forecasters (GraphRNNModel's subclasses and DCRNN),
checked on every one of them; model-specific checks live in each model's own test file."""

import pytest
import torch
from torch.testing import assert_close
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from pyg_ext.nn.conv.cheb_conv import ChebConv
from pyg_ext.nn.models.a3tgcn import A3TGCN
from pyg_ext.nn.models.agcrn import AGCRN
from pyg_ext.nn.models.dcrnn import DCRNN
from pyg_ext.nn.models.gconv_gru import GConvGRU
from pyg_ext.nn.models.gconv_lstm import GConvLSTM
from pyg_ext.nn.models.graph_rnn_model import (
    GraphRNNModel,
    dense_adjacency_t,
    gcn_graph,
    scaled_laplacian_t,
    sparse_adjacency_t,
)
from pyg_ext.nn.models.tgcn import TGCN

pytestmark = pytest.mark.filterwarnings('ignore:Sparse CSR tensor support:UserWarning',
                                        'ignore:Sparse invariant checks:UserWarning')
TOL = dict(atol=1e-5, rtol=1e-4)
MODELS = [GConvGRU, GConvLSTM, TGCN, A3TGCN, AGCRN, DCRNN]
KW = dict(in_channels=2, out_channels=1, hidden_channels=8, horizon=3, num_nodes=7)


def build(cls, **kw):
    return cls(**{**KW, **kw})


@pytest.mark.parametrize('cls', MODELS)
def test_shape_gradients_and_interface(directed_graph, cls):
    edge_index, edge_weight, N = directed_graph
    model = build(cls)
    assert cls.supports_teacher_forcing is (cls is DCRNN)
    x = torch.randn(3, 4, N, 2)
    out = model(x, edge_index, edge_weight)
    assert out.shape == (3, 3, N, 1)
    assert model(x, edge_index).shape == (3, 3, N, 1)  # edge_weight optional
    out.pow(2).mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize('cls', MODELS)
def test_batch_invariance(directed_graph, cls):
    edge_index, edge_weight, N = directed_graph
    model = build(cls).eval()
    x = torch.randn(4, 5, N, 2)
    out = model(x, edge_index, edge_weight)
    for b in (0, 2):
        assert_close(model(x[b:b + 1], edge_index, edge_weight), out[b:b + 1], **TOL)


@pytest.mark.parametrize('cls', [GConvGRU, GConvLSTM, TGCN, A3TGCN, DCRNN])
def test_permutation_equivariance(directed_graph, cls):
    # AGCRN learns one embedding per node, so it is not equivariant (see test_agcrn.py).
    edge_index, edge_weight, N = directed_graph
    model = build(cls, num_nodes=None).eval()
    x = torch.randn(2, 4, N, 2)
    out = model(x, edge_index, edge_weight)
    perm = torch.randperm(N)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(N)
    fresh = build(cls, num_nodes=None).eval()  # DCRNN caches its graph: a fresh copy
    fresh.load_state_dict(model.state_dict())
    assert_close(fresh(x[:, :, perm], inv[edge_index], edge_weight), out[:, :, perm], **TOL)


@pytest.mark.parametrize('cls', MODELS)
def test_save_load_and_reset(directed_graph, cls, reloaded):
    edge_index, edge_weight, N = directed_graph
    model = build(cls).eval()
    x = torch.randn(2, 4, N, 2)
    out = model(x, edge_index, edge_weight)
    assert_close(reloaded(model)(x, edge_index, edge_weight), out)
    before = [p.clone() for p in model.parameters()]
    model.reset_parameters()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


@pytest.mark.parametrize('cls', MODELS)
def test_errors(directed_graph, cls):
    edge_index, edge_weight, N = directed_graph
    model = build(cls)
    with pytest.raises(ValueError, match='in_channels=3'):
        model(torch.randn(2, 4, N, 3), edge_index, edge_weight)
    with pytest.raises(ValueError, match='num_nodes=7'):
        model(torch.randn(2, 4, N + 1, 2), edge_index, edge_weight)
    with pytest.raises(ValueError, match=r'\[B, T_in, N, F_in\]'):
        model(torch.randn(4, N, 2), edge_index, edge_weight)
    if cls is not AGCRN:  # AGCRN ignores the graph
        with pytest.raises(ValueError, match=r'expected shape \[2, E\]'):
            model(torch.randn(2, 4, N, 2), edge_index.t(), edge_weight)
        with pytest.raises(ValueError, match='one weight per column'):
            model(torch.randn(2, 4, N, 2), edge_index, edge_weight[:-1])


@pytest.mark.parametrize('cls', [GConvGRU, TGCN, DCRNN])
def test_node_index_out_of_range(directed_graph, cls):
    edge_index, edge_weight, N = directed_graph
    model = build(cls, num_nodes=None)
    with pytest.raises(IndexError, match="refers to node 6, but 'x' has 6 nodes"):
        model(torch.randn(2, 4, N - 1, 2), edge_index, edge_weight)


def test_repr():
    assert str(build(GConvGRU)) == ('GConvGRU(2, 1, hidden_channels=8, horizon=3, '
                                    'num_layers=1, K=2)')
    assert str(build(TGCN, num_layers=2)) == ('TGCN(2, 1, hidden_channels=8, horizon=3, '
                                              'num_layers=2)')
    assert str(build(DCRNN)) == 'DCRNN(2, 1, hidden_channels=8, horizon=3, num_layers=2, K=2)'
    assert str(build(AGCRN)) == ('AGCRN(2, 1, hidden_channels=8, horizon=3, num_layers=2, '
                                 'num_nodes=7, K=2, embedding_dim=10)')
    with pytest.raises(ValueError, match='horizon=0'):
        GraphRNNModel([], 2, 1, 8, horizon=0)


def test_graph_preparations(directed_graph):
    edge_index, edge_weight, N = directed_graph
    x = torch.randn(N, 3)
    dense = torch.zeros(N, N).index_put_((edge_index[1], edge_index[0]), edge_weight)
    assert_close(sparse_adjacency_t(edge_index, edge_weight, N, torch.float).to_dense(), dense)
    lap = ChebConv.scaled_laplacian(edge_index, edge_weight, N)
    conv = ChebConv(3, 2, K=3, normalize=False)
    lap_t = scaled_laplacian_t(edge_index, edge_weight, N, torch.float)
    assert not lap_t.is_sparse  # small graphs get a dense operator
    assert_close(conv(x, lap_t), conv(x, *lap), **TOL)
    lap_t = scaled_laplacian_t(edge_index, edge_weight, N, torch.float, dense=False)
    assert lap_t.layout == torch.sparse_csr
    assert_close(conv(x, lap_t), conv(x, *lap), **TOL)
    assert_close(dense_adjacency_t(edge_index, edge_weight, N, torch.float), dense)
    ei, w = gcn_graph(edge_index, edge_weight.double(), N, torch.float)
    ref_ei, ref_w = gcn_norm(edge_index, edge_weight, N, add_self_loops=True)
    assert torch.equal(ei, ref_ei) and w.dtype == torch.float
    assert_close(w, ref_w)
