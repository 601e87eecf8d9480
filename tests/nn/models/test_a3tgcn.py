import pytest
import torch
from torch.testing import assert_close

from pyg_ext.nn.models.a3tgcn import A3TGCN


def test_output_depends_on_the_order_of_time_steps(directed_graph):
    # The T-GCN state runs across the steps (PyG Temporal's A3TGCN restarts it per step
    # and weighs steps with a fixed vector, so reversing time changes nothing there).
    edge_index, edge_weight, N = directed_graph
    model = A3TGCN(2, 1, 8, horizon=3).eval()
    x = torch.randn(2, 6, N, 2)
    out = model(x, edge_index, edge_weight)
    assert not torch.allclose(model(x.flip(1), edge_index, edge_weight), out, atol=1e-4)
    swapped = x.clone()
    swapped[:, [0, 1]] = x[:, [1, 0]]
    assert not torch.allclose(model(swapped, edge_index, edge_weight), out, atol=1e-4)


def test_attention_over_hidden_states(directed_graph):
    edge_index, edge_weight, N = directed_graph
    model = A3TGCN(2, 3, 8, horizon=4, attention_channels=5)
    x = torch.randn(2, 6, N, 2)
    h, _ = model.encoder(x, None, *model.graph_args(x, edge_index, edge_weight))
    alpha = model.attention_weights(h)
    assert alpha.shape == (2, 6, N, 1)
    assert_close(alpha.sum(1), torch.ones(2, N, 1))
    # e_t = w2^T tanh(W1 h_t + b1), per node; softmax over time; c = sum_t alpha_t h_t.
    e = torch.tanh(h @ model.att_hidden.weight.t() + model.att_hidden.bias) \
        @ model.att_score.weight.t()
    c = (e.softmax(dim=1) * h).sum(1)
    expected = model.out(c).view(2, N, 4, 3).transpose(1, 2)
    assert_close(model(x, edge_index, edge_weight), expected, atol=1e-5, rtol=1e-4)
    assert model.att_score.bias is None  # a softmax ignores it


def test_reset_and_repr():
    model = A3TGCN(2, 1, 8, horizon=3)
    w = model.att_hidden.weight.clone()
    model.reset_parameters()
    assert not torch.equal(w, model.att_hidden.weight)
    assert str(model) == 'A3TGCN(2, 1, hidden_channels=8, horizon=3, num_layers=1)'
    with pytest.raises(ValueError, match='pass the number of steps'):
        A3TGCN(2, 1, 8, horizon=0)


def test_gate_bias_start():
    model = A3TGCN(2, 1, 8, horizon=3, gate_bias=1.0)
    cell = model.encoder.cells[0]
    assert torch.equal(cell.input_map.bias, torch.tensor([1.0] * 16 + [0.0] * 8))
    assert 'gate_bias=1.0' in repr(cell)
    assert torch.equal(A3TGCN(2, 1, 8, horizon=3).encoder.cells[0].input_map.bias,
                       torch.zeros(24))
