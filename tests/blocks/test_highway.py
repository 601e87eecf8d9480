import math

import pytest
import torch
from torch import nn
from torch_geometric.nn import GCNConv

from pyg_ext.blocks.highway import Highway

SIGMOID_MINUS_2 = 1 / (1 + math.exp(2))  # ~0.1192


def test_formula_with_copied_weights(spatiotemporal):
    layer = Highway(3, gate_bias=-1.0, act='tanh')
    with torch.no_grad():  # move the gate away from its init so the test is not special
        layer.gate.weight.normal_()
        layer.gate.bias.normal_()
    w_t, b_t = layer.gate.weight, layer.gate.bias
    w_h, b_h = layer.transform[0].weight, layer.transform[0].bias
    x = spatiotemporal
    t = 1 / (1 + torch.exp(-(x @ w_t.t() + b_t)))
    h = torch.tanh(x @ w_h.t() + b_h)
    expected = t * h + (1 - t) * x
    out = layer(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, expected)


def test_fresh_layer_is_close_to_the_identity():
    layer = Highway(16)
    torch.testing.assert_close(layer.gate.bias, torch.full((16,), -2.0))
    x = torch.randn(500, 16)
    h = layer.transform(x)
    y = layer(x)
    # y - x = T(x) * (H(x) - x): the step away from x is the transform's step, scaled by the gate.
    gate = torch.sigmoid(layer.gate(x))
    assert 0.08 < gate.mean() < 0.18  # sigmoid(-2 + W_T x) spreads around sigmoid(-2)
    ratio = (y - x).norm() / (h - x).norm()
    assert ratio < 0.2  # an ungated (T = 1) layer has ratio 1, T = 0.5 has ratio 0.5
    assert (y - x).norm() / x.norm() < 0.25
    # With W_T = 0 the gate is exactly sigmoid(-2) and so is the ratio.
    with torch.no_grad():
        layer.gate.weight.zero_()
    ratio = (layer(x) - x).norm() / (h - x).norm()
    assert ratio.item() == pytest.approx(SIGMOID_MINUS_2, rel=1e-5)
    # A neutral gate bias moves much further from the identity.
    neutral = Highway(16, gate_bias=0.0)
    neutral.load_state_dict({**layer.state_dict(), 'gate.bias': torch.zeros(16)})
    assert ((neutral(x) - x).norm() / (h - x).norm()).item() == pytest.approx(0.5, rel=1e-5)


def test_injected_graph_transform(directed_graph):
    edge_index, edge_weight, num_nodes = directed_graph
    conv = GCNConv(4, 4)
    layer = Highway(4, transform=conv)
    assert layer.transform is conv
    x = torch.randn(num_nodes, 4)
    t = torch.sigmoid(layer.gate(x))
    h = conv(x, edge_index, edge_weight)
    torch.testing.assert_close(layer(x, edge_index, edge_weight), t * h + (1 - t) * x)


def test_repr():
    assert str(Highway(8)) == "Highway(8, gate_bias=-2.0, act='relu')"
    assert str(Highway(8, gate_bias=-1.0, act='gelu')) == "Highway(8, gate_bias=-1.0, act='gelu')"
    layer = Highway(4, transform=nn.Tanh())
    assert str(layer) == 'Highway(4, gate_bias=-2.0, transform=Tanh())'


def test_reset_parameters_restores_gate_bias():
    layer = Highway(4)
    with torch.no_grad():
        layer.gate.bias.fill_(3.0)
    before = layer.transform[0].weight.clone()
    layer.reset_parameters()
    torch.testing.assert_close(layer.gate.bias, torch.full((4,), -2.0))
    assert not torch.equal(before, layer.transform[0].weight)


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match='build the layer with in_channels=5'):
        Highway(4)(torch.randn(3, 5))
    with pytest.raises(ValueError, match='Unknown activation'):
        Highway(4, act='nope')


def test_gradients_reach_every_parameter():
    layer = Highway(4)
    layer(torch.randn(20, 4)).square().sum().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_save_load_round_trip(tmp_path):
    layer = Highway(4, act='silu')
    x = torch.randn(5, 4)
    path = tmp_path / 'highway.pt'
    torch.save(layer, path)
    torch.testing.assert_close(torch.load(path, weights_only=False)(x), layer(x))


def test_compiles_without_graph_breaks(graph_breaks):
    count, why = graph_breaks(Highway(4), torch.randn(2, 3, 4))
    assert count == 0, why
