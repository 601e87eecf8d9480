import pytest
import torch
from torch import nn
from torch.testing import assert_close
from torch_geometric.nn import GCNConv

from pyg_ext.blocks.gru_cell import GRUCell

TOL = dict(atol=1e-5, rtol=1e-5)


class Recorder(nn.Module):
    """A linear gate map that records the extra arguments it is called with."""
    def __init__(self, in_features, out_features):
        super().__init__()
        self.lin = nn.Linear(in_features, out_features)
        self.calls = []

    def reset_parameters(self):
        self.lin.reset_parameters()

    def forward(self, x, *args, **kwargs):
        self.calls.append((args, kwargs))
        return self.lin(x)


def gcn_dense(edge_index, edge_weight, num_nodes):
    """GCNConv's propagation matrix D^-1/2 (A + I) D^-1/2, rows = targets."""
    A = torch.zeros(num_nodes, num_nodes)
    A[edge_index[1], edge_index[0]] = edge_weight
    A = A + torch.eye(num_nodes)
    d = A.sum(1).pow(-0.5)
    return d[:, None] * A * d[None, :]


def torch_order(ref):
    """torch's cell parameters in the order of ours: input map, then hidden map."""
    names = ('weight_ih', 'bias_ih', 'weight_hh', 'bias_hh')
    return [getattr(ref, n) for n in names if getattr(ref, n) is not None]


@pytest.mark.parametrize('bias', [True, False])
def test_gru_cell_equals_torch(bias):
    ref = nn.GRUCell(5, 8, bias=bias)
    cell = GRUCell(5, 8, bias=bias)
    with torch.no_grad():
        cell.input_map.weight.copy_(ref.weight_ih)
        cell.hidden_map.weight.copy_(ref.weight_hh)
        if bias:
            cell.input_map.bias.copy_(ref.bias_ih)
            cell.hidden_map.bias.copy_(ref.bias_hh)
    x = torch.randn(4, 5, requires_grad=True)
    h = torch.randn(4, 8, requires_grad=True)
    out, expected = cell(x, h), ref(x, h)
    assert_close(out, expected, **TOL)
    grad = torch.randn_like(out)
    ours = torch.autograd.grad(out, [x, h, *cell.parameters()], grad)
    theirs = torch.autograd.grad(expected, [x, h, *torch_order(ref)], grad)
    for a, b in zip(ours, theirs):  # weight_ih, bias_ih, weight_hh, bias_hh
        assert_close(a, b, **TOL)
    assert_close(cell(x), ref(x), **TOL)
    assert_close(GRUCell.from_torch(ref)(x, h), ref(x, h), **TOL)


def test_gru_cell_reset_before_equals_cho_formula():
    cell = GRUCell(5, 8, reset_after=False)
    assert cell.hidden_map.out_features == 16 and cell.candidate_map.out_features == 8
    x, h = torch.randn(4, 5), torch.randn(4, 8)
    W, bW = cell.input_map.weight, cell.input_map.bias
    U, bU = cell.hidden_map.weight, cell.hidden_map.bias
    C, bC = cell.candidate_map.weight, cell.candidate_map.bias
    r = torch.sigmoid(x @ W[:8].T + bW[:8] + h @ U[:8].T + bU[:8])
    z = torch.sigmoid(x @ W[8:16].T + bW[8:16] + h @ U[8:].T + bU[8:])
    n = torch.tanh(x @ W[16:].T + bW[16:] + (r * h) @ C.T + bC)
    out, expected = cell(x, h), (1 - z) * n + z * h
    assert_close(out, expected, **TOL)
    params = list(cell.parameters())
    for a, b in zip(torch.autograd.grad(out.square().sum(), params),
                    torch.autograd.grad(expected.square().sum(), params)):
        assert_close(a, b, **TOL)


def test_gru_cell_reset_before_saves_no_difference_tensor():
    cell = GRUCell(8, 8, reset_after=False)
    x, h = torch.randn(16, 8), torch.randn(16, 8, requires_grad=True)
    params = {p.untyped_storage().data_ptr() for p in cell.parameters()}
    storages = {}

    def pack(t):
        if t.untyped_storage().data_ptr() not in params:
            storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        cell(x, h)
    # x, h (the maps' inputs), r and z, r * h (candidate_map's input) and n; no h - n
    assert sum(storages.values()) == (2 + 2 + 1 + 1) * 16 * 8 * 4


def test_gru_cell_with_gcn_gates_equals_dense_formula(directed_graph):
    edge_index, edge_weight, N = directed_graph
    cell = GRUCell(3, 4, input_map=GCNConv(3, 12), hidden_map=GCNConv(4, 8),
                   candidate_map=GCNConv(4, 4), reset_after=False)
    x, h = torch.randn(2, N, 3), torch.randn(2, N, 4)  # [B, N, F], [B, N, H]
    A = gcn_dense(edge_index, edge_weight, N)

    def conv(m, v):
        return A @ (v @ m.lin.weight.T) + m.bias

    gx, gh = conv(cell.input_map, x), conv(cell.hidden_map, h)
    r = torch.sigmoid(gx[..., :4] + gh[..., :4])
    z = torch.sigmoid(gx[..., 4:8] + gh[..., 4:])
    n = torch.tanh(gx[..., 8:] + conv(cell.candidate_map, r * h))
    out = cell(x, h, edge_index, edge_weight)
    assert_close(out, (1 - z) * n + z * h, **TOL)


def test_gru_cell_sequence_projection_and_node_dim(spatiotemporal):
    cell = GRUCell(3, 8)
    x_proj = cell.input_projection(spatiotemporal)  # [B, T, N, 3H] in one call
    assert x_proj.shape == (2, 6, 7, 24)
    h = None
    for t in range(6):
        h_new = cell.step(x_proj[:, t], h)
        assert_close(h_new, cell(spatiotemporal[:, t], h), **TOL)
        h = h_new
    x, h = spatiotemporal[:, 0], torch.randn(2, 7, 8)
    assert_close(cell(x, h).reshape(14, 8), cell(x.reshape(14, 3), h.reshape(14, 8)), **TOL)


@pytest.mark.parametrize('reset_after', [True, False])
def test_gru_cell_forwards_extra_args(reset_after):
    H = 8
    maps = dict(input_map=Recorder(5, 3 * H),
                hidden_map=Recorder(H, (3 if reset_after else 2) * H))
    if not reset_after:
        maps['candidate_map'] = Recorder(H, H)
    cell = GRUCell(5, H, reset_after=reset_after, **maps)
    assert cell(torch.randn(3, 5), None, 'graph', edge_weight=7).shape == (3, H)
    for gate in maps.values():
        assert gate.calls == [(('graph', ), {'edge_weight': 7})]


def test_gru_cell_errors():
    with pytest.raises(ValueError, match='reset_after=False'):
        GRUCell(5, 8, candidate_map=nn.Linear(8, 8))
    with pytest.raises(ValueError, match='2 \\* hidden_size'):
        GRUCell(5, 8, hidden_map=nn.Linear(8, 24), reset_after=False)(torch.randn(3, 5))
    with pytest.raises(ValueError, match='3 \\* hidden_size'):
        GRUCell(5, 8, hidden_map=nn.Linear(8, 16))(torch.randn(3, 5))
    cell = GRUCell(5, 8)
    with pytest.raises(ValueError, match='in_channels=4'):
        cell(torch.randn(3, 4))
    with pytest.raises(ValueError, match="'state' has 7 features"):
        cell(torch.randn(3, 5), torch.randn(3, 7))
    with pytest.raises(ValueError, match='input_projection'):
        cell.step(torch.randn(3, 8))
    with pytest.raises(ValueError, match='LSTMCell.from_torch'):
        GRUCell.from_torch(nn.LSTMCell(5, 8))


@pytest.mark.parametrize('reset_after', [True, False])
def test_gru_cell_gradients_save_load(tmp_path, reset_after):
    cell = GRUCell(5, 8, reset_after=reset_after)
    x, h = torch.randn(3, 5), torch.randn(3, 8)
    cell(x, h).sum().backward()
    for name, p in cell.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    torch.save(cell, tmp_path / 'cell.pt')
    loaded = torch.load(tmp_path / 'cell.pt', weights_only=False)
    assert_close(loaded(x, h), cell(x, h))


def test_gru_cell_reset_parameters_and_repr():
    cell = GRUCell(5, 8, reset_after=False)
    before = [p.clone() for p in cell.parameters()]
    cell.reset_parameters()
    assert all(not torch.equal(a, b) for a, b in zip(before, cell.parameters()))
    assert str(GRUCell(16, 32)) == 'GRUCell(16, 32)'
    assert str(cell) == 'GRUCell(5, 8, reset_after=False)'
    assert str(GRUCell(5, 8, bias=False)) == 'GRUCell(5, 8, bias=False)'


@pytest.mark.parametrize('reset_after', [True, False])
def test_gru_cell_gate_bias_start(reset_after):
    # The reset and update gates start at sigmoid(b); with every weight zero the candidate
    # is tanh of its (untouched) bias terms, and h' = (1 - z) * n + z * h by hand.
    H, b = 8, 1.0
    cell = GRUCell(5, H, reset_after=reset_after, gate_bias=b)
    assert torch.equal(cell.input_map.bias[:2 * H], torch.full((2 * H, ), b))
    assert not torch.equal(cell.input_map.bias[2 * H:], torch.full((H, ), b))
    maps = [cell.input_map, cell.hidden_map] + ([] if reset_after else [cell.candidate_map])
    with torch.no_grad():
        for m in maps:
            m.weight.zero_()
    x, h = torch.randn(4, 5), torch.randn(4, H)
    z = torch.sigmoid(torch.tensor(b) + cell.hidden_map.bias[H:2 * H])
    r = torch.sigmoid(torch.tensor(b) + cell.hidden_map.bias[:H])
    if reset_after:
        n = torch.tanh(cell.input_map.bias[2 * H:] + r * cell.hidden_map.bias[2 * H:])
    else:
        n = torch.tanh(cell.input_map.bias[2 * H:] + cell.candidate_map.bias)
    assert_close(cell(x, h), (1 - z) * n + z * h, **TOL)
    with torch.no_grad():
        cell.input_map.bias.normal_()
    cell.reset_parameters()
    assert torch.equal(cell.input_map.bias[:2 * H], torch.full((2 * H, ), b))
    assert str(cell).endswith('gate_bias=1.0)')
    with pytest.raises(ValueError, match='needs an input_map with a bias'):
        GRUCell(5, H, bias=False, gate_bias=b)


def test_gru_cell_compiles_without_graph_breaks(graph_breaks):
    cell = GRUCell(5, 8, reset_after=False)
    count, why = graph_breaks(cell, torch.randn(3, 5), torch.randn(3, 8))
    assert count == 0, why
