import pytest
import torch
import torch.nn.functional as F
from torch_geometric.utils import to_torch_csr_tensor

from pyg_ext.blocks.receptive_field import receptive_field
from pyg_ext.nn.conv.diff_conv import DiffConv
from pyg_ext.nn.models.graph_wave_net import GraphWaveNet


def build(N, **kwargs):
    args = dict(in_channels=2, out_channels=3, hidden_channels=4, horizon=5, num_nodes=N,
                skip_channels=8, end_channels=6)
    args.update(kwargs)
    return GraphWaveNet(**args)


def test_layout_and_receptive_field(directed_graph):
    _, _, N = directed_graph
    model = build(N)
    assert [layer.dilation for layer in model.layers] == [1, 2] * 4
    assert model.receptive_field == receptive_field([2] * 8, dilations=[1, 2] * 4) == 13
    assert receptive_field(model) == 13
    assert [layer.diff_conv is None for layer in model.layers] == [False] * 7 + [True]
    assert str(model) == ('GraphWaveNet(2, 3, hidden_channels=4, horizon=5, blocks=4, '
                          'layers=2)')
    assert GraphWaveNet.supports_teacher_forcing is False


def test_causality_and_padding(directed_graph):
    edge_index, edge_weight, N = directed_graph
    model = build(N).eval()
    x = torch.randn(2, 16, N, 2, requires_grad=True)
    out = model(x, edge_index, edge_weight)
    assert out.shape == (2, 5, N, 3)
    grad, = torch.autograd.grad(out.sum(), x)
    seen = grad.abs().sum(dim=(0, 2, 3)) > 0  # [T]
    assert seen.tolist() == [False] * 3 + [True] * 13  # exactly the last R = 13 steps

    # A 12-step window is left-padded with zeros to 13 steps.
    x12 = torch.randn(2, 12, N, 2)
    padded = torch.cat([torch.zeros(2, 1, N, 2), x12], dim=1)
    assert torch.allclose(model(x12, edge_index, edge_weight),
                          model(padded, edge_index, edge_weight), atol=1e-6)
    with pytest.raises(ValueError, match='pass T_in >= 13'):
        build(N, pad=False)(x12, edge_index, edge_weight)


def test_gradients_batch_invariance_save_load(directed_graph, reloaded):
    edge_index, edge_weight, N = directed_graph
    model = build(N)
    x = torch.randn(3, 12, N, 2)
    model(x, edge_index, edge_weight).square().mean().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name

    model.eval()
    out = model(x, edge_index, edge_weight)
    assert torch.allclose(model(x[2:], edge_index, edge_weight), out[2:], atol=1e-5)
    loaded = reloaded(model)
    assert torch.allclose(loaded(x, edge_index, edge_weight), out)


def test_adaptive_adjacency_and_without_it(directed_graph):
    edge_index, edge_weight, N = directed_graph
    model = build(N)
    adj = model.adaptive_adjacency()
    expected = torch.relu(model.source_embedding @ model.target_embedding.t()).softmax(1)
    assert torch.allclose(adj, expected) and torch.allclose(adj.sum(1), torch.ones(N))
    plain = build(None, adaptive=False)
    assert plain.source_embedding is None
    assert plain(torch.randn(1, 12, N, 2), edge_index).shape == (1, 5, N, 3)


def test_errors(directed_graph):
    edge_index, _, N = directed_graph
    with pytest.raises(ValueError, match='pass num_nodes=N'):
        build(None)
    model = build(N)
    with pytest.raises(ValueError, match='num_nodes=3'):
        model(torch.randn(1, 12, 3, 2), torch.tensor([[0, 1], [1, 2]]))
    with pytest.raises(ValueError, match='in_channels=4'):
        model(torch.randn(1, 12, N, 4), edge_index)


def test_graph_is_normalised_once_per_forward(directed_graph, monkeypatch):
    edge_index, edge_weight, N = directed_graph
    model = build(N).eval()
    calls = []
    transitions = DiffConv.transitions
    monkeypatch.setattr(DiffConv, 'transitions',
                        staticmethod(lambda *a, **kw: calls.append(1) or transitions(*a, **kw)))
    x = torch.randn(2, 13, N, 2)
    out = model(x, edge_index, edge_weight)
    assert len(calls) == 1  # not once per layer (7 layers have a graph conv)
    model(x, edge_index, edge_weight)
    assert len(calls) == 2

    # Reference: every layer normalises the CSR graph itself, as before.
    adj_t = to_torch_csr_tensor(edge_index.flip(0), edge_weight, size=(N, N))
    adj = model.adaptive_adjacency()
    powers = torch.stack([adj, adj @ adj])
    h, skip = model.input_conv(x), 0
    for layer in model.layers:
        h, s = layer(h, adj_t, None, powers)
        skip = skip + s
    ref = model.end_conv2(F.relu(model.end_conv1(F.relu(skip))))  # [B, 1, N, T_out F_out]
    ref = ref.view(2, N, 5, 3).transpose(1, 2)  # [B, T_out, N, F_out]
    assert len(calls) == 2 + 7
    assert torch.allclose(out, ref, atol=1e-6)
