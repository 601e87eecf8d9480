import pytest
import torch
from torch.testing import assert_close
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from pyg_ext.nn.models.tgcn import TGCN


def dense_tgcn(model, x, edge_index, edge_weight):
    """T-GCN as in the authors' code, with A^ = D~^-1/2 (A + I) D~^-1/2 applied densely."""
    N, H = x.size(2), model.hidden_channels
    cell = model.encoder.cells[0]
    ei, w = gcn_norm(edge_index, edge_weight, N, add_self_loops=True)
    A = torch.zeros(N, N).index_put_((ei[1], ei[0]), w, accumulate=True)

    def gcn(conv, v):
        return A @ v @ conv.lin.weight.t() + conv.bias

    h = torch.zeros(x.size(0), N, H)
    for t in range(x.size(1)):
        gx = gcn(cell.input_map, x[:, t])
        g = torch.sigmoid(gx[..., :2 * H] + gcn(cell.hidden_map, h))
        r, u = g[..., :H], g[..., H:]
        c = torch.tanh(gx[..., 2 * H:] + gcn(cell.candidate_map, r * h))
        h = u * h + (1 - u) * c
    out = h @ model.out.weight.t() + model.out.bias  # [B, N, horizon * F_out]
    return out.view(x.size(0), N, model.horizon, -1).transpose(1, 2)


def test_equals_tgcn_recurrence_computed_densely(directed_graph):
    edge_index, edge_weight, N = directed_graph
    model = TGCN(2, 3, 4, horizon=5)
    cell = model.encoder.cells[0]
    with torch.no_grad():
        for m in (cell.input_map, cell.hidden_map, cell.candidate_map):
            m.bias.normal_()
    x = torch.randn(2, 6, N, 2)
    assert_close(model(x, edge_index, edge_weight),
                 dense_tgcn(model, x, edge_index, edge_weight), atol=1e-5, rtol=1e-4)


def test_gate_bias_start_as_in_the_authors_code(directed_graph):
    # The authors' _gc(..., bias=1.0) for the gates [r, u]; the candidate's bias starts at 0.
    edge_index, edge_weight, N = directed_graph
    model = TGCN(2, 3, 4, horizon=5, num_layers=2, gate_bias=1.0)
    for cell in model.encoder.cells:
        assert torch.equal(cell.input_map.bias, torch.tensor([1.0] * 8 + [0.0] * 4))
        assert torch.equal(cell.hidden_map.bias, torch.zeros(8))
        assert torch.equal(cell.candidate_map.bias, torch.zeros(4))
    one_layer = TGCN(2, 3, 4, horizon=5, gate_bias=1.0)
    x = torch.randn(2, 6, N, 2)
    assert_close(one_layer(x, edge_index, edge_weight),
                 dense_tgcn(one_layer, x, edge_index, edge_weight), atol=1e-5, rtol=1e-4)
    with torch.no_grad():
        model.encoder.cells[0].input_map.bias.normal_()
    model.reset_parameters()
    assert torch.equal(model.encoder.cells[0].input_map.bias[:8], torch.ones(8))


def test_unweighted_graph_and_layers(directed_graph):
    edge_index, edge_weight, N = directed_graph
    model = TGCN(2, 1, 8, horizon=2, num_layers=2)
    x = torch.randn(2, 3, N, 2)
    ones = model(x, edge_index, torch.ones_like(edge_weight))
    assert_close(model(x, edge_index), ones)
    assert not torch.allclose(model(x, edge_index, edge_weight), ones)
    assert model.num_layers == 2
    with pytest.raises(ValueError, match='horizon=0'):
        TGCN(2, 1, 8, horizon=0)
