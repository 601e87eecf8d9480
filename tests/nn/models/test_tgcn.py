import pytest
import torch
from torch.testing import assert_close
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from pyg_ext.nn.models.tgcn import TGCN


def test_equals_tgcn_recurrence_computed_densely(directed_graph):
    # T-GCN as in the authors' code, with A^ = D~^-1/2 (A + I) D~^-1/2 applied densely.
    edge_index, edge_weight, N = directed_graph
    model = TGCN(2, 3, 4, horizon=5)
    cell = model.encoder.cells[0]
    with torch.no_grad():
        for m in (cell.input_map, cell.hidden_map, cell.candidate_map):
            m.bias.normal_()
    ei, w = gcn_norm(edge_index, edge_weight, N, add_self_loops=True)
    A = torch.zeros(N, N).index_put_((ei[1], ei[0]), w, accumulate=True)

    def gcn(conv, v):
        return A @ v @ conv.lin.weight.t() + conv.bias

    x = torch.randn(2, 6, N, 2)
    h = torch.zeros(2, N, 4)
    for t in range(6):
        gx = gcn(cell.input_map, x[:, t])
        g = torch.sigmoid(gx[..., :8] + gcn(cell.hidden_map, h))
        r, u = g[..., :4], g[..., 4:]
        c = torch.tanh(gx[..., 8:] + gcn(cell.candidate_map, r * h))
        h = u * h + (1 - u) * c
    expected = (h @ model.out.weight.t() + model.out.bias).view(2, N, 5, 3).transpose(1, 2)
    assert_close(model(x, edge_index, edge_weight), expected, atol=1e-5, rtol=1e-4)


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
