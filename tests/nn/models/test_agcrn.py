import pytest
import torch
from torch.testing import assert_close

from pyg_ext.blocks.recurrent import Recurrent
from pyg_ext.nn.models.agcrn import AGCRN

N = 6


def test_learns_its_graph_and_ignores_the_given_one(directed_graph):
    edge_index, edge_weight, _ = directed_graph
    model = AGCRN(2, 1, 8, horizon=3, num_nodes=N).eval()
    x = torch.randn(2, 4, N, 2)
    out = model(x)
    assert out.shape == (2, 3, N, 1)
    assert_close(model(x, edge_index[:, :3] % N, edge_weight[:3]), out)
    adj = model.adjacency()
    assert adj.shape == (N, N) and (adj >= 0).all()
    assert_close(adj.sum(1), torch.ones(N))
    E = model.node_emb
    assert_close(adj, torch.relu(E @ E.t()).softmax(dim=1))


def test_equals_manual_composition():
    model = AGCRN(2, 3, 8, horizon=4, num_nodes=N, K=3, embedding_dim=5)
    x = torch.randn(2, 4, N, 2)
    rec = Recurrent(list(model.encoder.cells))  # same cell objects (reset: reload weights)
    rec.load_state_dict(model.encoder.state_dict())
    h, _ = rec(x, None, model.adjacency(), model.node_emb)
    expected = model.out(h[:, -1]).view(2, N, 4, 3).transpose(1, 2)
    assert_close(model(x), expected, atol=1e-5, rtol=1e-4)


def test_node_specific_parameters():
    # Not permutation equivariant: each node keeps its own embedding.
    model = AGCRN(2, 1, 8, horizon=2, num_nodes=N).eval()
    x = torch.randn(1, 4, N, 2)
    perm = torch.roll(torch.arange(N), 1)
    assert not torch.allclose(model(x[:, :, perm]), model(x)[:, :, perm], atol=1e-4)
    assert model.node_emb.shape == (N, 10)


def test_errors():
    with pytest.raises(ValueError, match='pass num_nodes'):
        AGCRN(2, 1, 8, horizon=2)
    model = AGCRN(2, 1, 8, horizon=2, num_nodes=N)
    with pytest.raises(ValueError, match=f'num_nodes={N}'):
        model(torch.randn(1, 4, N + 2, 2))
