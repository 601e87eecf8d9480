import copy

import pytest
import torch
from torch.testing import assert_close

from pyg_ext.blocks.recurrent import Recurrent
from pyg_ext.nn.conv.node_adaptive_conv import NodeAdaptiveConv
from pyg_ext.nn.conv.node_filters import NodeFilters
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


def uncached(model):
    """The model with the plain [N, D] embeddings as gate argument: every gate call
    generates its filters (the path before NodeFilters)."""
    model.graph_args = lambda x, edge_index, edge_weight: (model.adjacency(), model.node_emb)
    return model


def test_node_filters_generated_once_per_forward(monkeypatch):
    model = AGCRN(2, 1, 8, horizon=2, num_nodes=N, num_layers=2)
    args = model.graph_args(None, None, None)
    assert isinstance(args[1], NodeFilters) and args[1].node_emb is model.node_emb
    calls = []
    filters = NodeAdaptiveConv.filters

    def counting(self, node_emb):
        calls.append(self)
        return filters(self, node_emb)

    monkeypatch.setattr(NodeAdaptiveConv, 'filters', counting)
    model(torch.randn(2, 5, N, 2))  # 5 steps, 2 layers, 3 gate convs per cell
    assert len(calls) == 6 and len(set(map(id, calls))) == 6
    model(torch.randn(2, 5, N, 2))  # a new forward generates them again
    assert len(calls) == 12


def test_cached_filters_equal_uncached_outputs_and_gradients():
    model = AGCRN(2, 3, 8, horizon=4, num_nodes=N, K=3, embedding_dim=5)
    for p in model.parameters():  # non-zero bias pools
        torch.nn.init.normal_(p, std=0.3)
    reference = copy.deepcopy(model)
    x = torch.randn(2, 5, N, 2)
    out, expected = model(x), uncached(reference)(x)
    assert torch.equal(out, expected)  # same filters, same ops
    out.square().sum().backward()
    expected.square().sum().backward()
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        assert p.grad is not None and p.grad.abs().sum() > 0, name
        assert_close(p.grad, q.grad, atol=1e-6, rtol=1e-5, msg=name)


def test_forward_after_an_optimizer_step_uses_the_new_weights():
    model = AGCRN(2, 1, 8, horizon=2, num_nodes=N)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    x, y = torch.randn(2, 4, N, 2), torch.randn(2, 2, N, 1)
    before = model(x)
    (before - y).abs().mean().backward()
    opt.step()
    opt.zero_grad()
    after = model(x)
    assert not torch.allclose(after, before, atol=1e-3)
    reference = uncached(copy.deepcopy(model))
    assert torch.equal(after, reference(x))
    (after - y).abs().mean().backward()  # nothing kept from the first forward
    (reference(x) - y).abs().mean().backward()
    for p, q in zip(model.parameters(), reference.parameters()):
        assert_close(p.grad, q.grad, atol=1e-6, rtol=1e-5)


def test_compiles_without_graph_breaks():
    model = AGCRN(2, 1, 8, horizon=2, num_nodes=N)
    x = torch.randn(2, 3, N, 2)
    explain = torch._dynamo.explain(model)(x)
    assert explain.graph_break_count == 0
    # the graph generates each gate's filters once (3 steps x 2 layers x 3 gate convs
    # would unbind the pools 14 times if every call generated them)
    unbinds = [node for node in explain.graphs[0].graph.nodes
               if node.target == 'unbind' and 'weight_pool' in str(node.args[0])]
    assert len(unbinds) == 6


@pytest.mark.parametrize('K', [2, 3])
def test_fused_recurrence_equals_the_step_by_step_unroll(K):
    model = AGCRN(2, 3, 8, horizon=4, num_nodes=N, K=K, embedding_dim=5).double()
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.3)
    reference = copy.deepcopy(model)
    reference.fused = False
    assert model.fused
    x = torch.randn(2, 5, N, 2, dtype=torch.double)
    out, expected = model(x), reference(x)
    assert_close(out, expected, atol=1e-12, rtol=1e-10)
    out.square().sum().backward()
    expected.square().sum().backward()
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        assert p.grad.abs().sum() > 0, name
        assert_close(p.grad, q.grad, atol=1e-12, rtol=1e-10, msg=name)
