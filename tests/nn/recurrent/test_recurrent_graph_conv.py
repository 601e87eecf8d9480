import warnings

import pytest
import torch
import torch_geometric.typing
from torch import nn
from torch_geometric import EdgeIndex
from torch_geometric.nn import GatedGraphConv, Sequential
from torch_geometric.utils import to_torch_coo_tensor, to_torch_csr_tensor

from pyg_ext.blocks.gru_cell import GRUCell
from pyg_ext.blocks.lstm_cell import LSTMCell
from pyg_ext.nn.recurrent.recurrent_graph_conv import RecurrentGraphConv

pytestmark = pytest.mark.filterwarnings('ignore:Sparse CSR tensor support:UserWarning',
                                        'ignore:Sparse invariant checks:UserWarning')

TOL = dict(atol=1e-5, rtol=1e-5)


@pytest.fixture
def graph(directed_graph):
    """``directed_graph`` plus an isolated node 7 (no in- or out-edges)."""
    edge_index, edge_weight, num_nodes = directed_graph
    return edge_index, edge_weight, num_nodes + 1


def from_gated_graph_conv(ref: GatedGraphConv, aggr: str = 'add') -> RecurrentGraphConv:
    conv = RecurrentGraphConv(ref.out_channels, ref.num_layers, aggr=aggr)
    with torch.no_grad():
        conv.weight.copy_(ref.weight)
        conv.cell.input_map.weight.copy_(ref.rnn.weight_ih)
        conv.cell.hidden_map.weight.copy_(ref.rnn.weight_hh)
        conv.cell.input_map.bias.copy_(ref.rnn.bias_ih)
        conv.cell.hidden_map.bias.copy_(ref.rnn.bias_hh)
    return conv


def dense_adjacency(edge_index, edge_weight, num_nodes):
    """A[i, j] = weight of the edge j -> i (rows are targets)."""
    A = torch.zeros(num_nodes, num_nodes)
    A.index_put_((edge_index[1], edge_index[0]), edge_weight, accumulate=True)
    return A


def test_repr_and_parameters():
    conv = RecurrentGraphConv(16, num_layers=3)
    assert str(conv) == "RecurrentGraphConv(16, num_layers=3, updater='gru')"
    assert conv.weight.shape == (3, 16, 16)
    assert str(RecurrentGraphConv(8, 2, updater='lstm', aggr='mean')) == (
        "RecurrentGraphConv(8, num_layers=2, updater='lstm', aggr='mean')")
    conv = RecurrentGraphConv(8, 2, updater=GRUCell(8, 8, reset_after=False))
    assert str(conv) == 'RecurrentGraphConv(8, num_layers=2, updater=GRUCell(8, 8, ' \
                        'reset_after=False))'
    assert RecurrentGraphConv(8, 2, updater='rnn', bias=False).cell.input_map.bias is None


@pytest.mark.parametrize('aggr', ['add', 'mean', 'max'])
@pytest.mark.parametrize('in_channels', [5, 8])
def test_gru_equals_pyg_gated_graph_conv(graph, aggr, in_channels):
    edge_index, edge_weight, N = graph
    ref = GatedGraphConv(8, num_layers=3, aggr=aggr)
    conv = from_gated_graph_conv(ref, aggr)
    x = torch.randn(N, in_channels)  # 5 < 8: zero padded as PyG does
    expected = ref(x, edge_index, edge_weight)
    torch.testing.assert_close(conv(x, edge_index, edge_weight), expected, **TOL)
    torch.testing.assert_close(conv(x, edge_index), ref(x, edge_index), **TOL)


def test_default_initialisation_matches_pyg():
    conv, ref = RecurrentGraphConv(16, 2), GatedGraphConv(16, 2)
    bound = 1 / 16 ** 0.5
    assert conv.weight.abs().max() <= bound and ref.weight.abs().max() <= bound
    assert conv.weight.std() > 0.5 * ref.weight.std()


@pytest.mark.parametrize('updater', ['lstm', 'rnn'])
def test_lstm_and_rnn_equal_hand_loop_with_torch_cells(graph, updater):
    edge_index, edge_weight, N = graph
    conv = RecurrentGraphConv(6, num_layers=4, updater=updater)
    torch_cell = {'lstm': nn.LSTMCell, 'rnn': nn.RNNCell}[updater](6, 6)
    with torch.no_grad():  # copy the shared cell's weights into the torch cell
        torch_cell.weight_ih.copy_(conv.cell.input_map.weight)
        torch_cell.weight_hh.copy_(conv.cell.hidden_map.weight)
        torch_cell.bias_ih.copy_(conv.cell.input_map.bias)
        torch_cell.bias_hh.copy_(conv.cell.hidden_map.bias)
    x = torch.randn(N, 4)
    A = dense_adjacency(edge_index, edge_weight, N)
    h = torch.cat([x, torch.zeros(N, 2)], dim=-1)
    c = torch.zeros(N, 6)
    for layer in range(4):
        m = A @ (h @ conv.weight[layer])
        if updater == 'lstm':
            h, c = torch_cell(m, (h, c))
        else:
            h = torch_cell(m, h)
    torch.testing.assert_close(conv(x, edge_index, edge_weight), h, **TOL)


def test_injected_cell_is_used(graph):
    # A peephole LSTM is no torch cell: compare with the shared cell's own call instead.
    edge_index, edge_weight, N = graph
    cell = LSTMCell(6, 6, peephole=True)
    conv = RecurrentGraphConv(6, num_layers=2, updater=cell)
    assert conv.cell is cell
    x = torch.randn(N, 6)
    A = dense_adjacency(edge_index, edge_weight, N)
    state = (x, torch.zeros(N, 6))
    for layer in range(2):
        state = cell(A @ (state[0] @ conv.weight[layer]), state)
    torch.testing.assert_close(conv(x, edge_index, edge_weight), state[0], **TOL)


def test_batched_time_layout_matches_slices(graph):
    edge_index, edge_weight, N = graph
    conv = RecurrentGraphConv(8, 2, updater='lstm')
    x = torch.randn(2, 3, N, 5)  # [B, T, N, F]
    out = conv(x, edge_index, edge_weight)
    assert out.shape == (2, 3, N, 8)
    for b in range(2):
        for t in range(3):
            torch.testing.assert_close(out[b, t], conv(x[b, t], edge_index, edge_weight),
                                       **TOL)


def test_permutation_equivariance(graph):
    edge_index, edge_weight, N = graph
    conv = RecurrentGraphConv(8, 3)
    x = torch.randn(N, 8)
    perm = torch.randperm(N)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(N)
    out = conv(x, edge_index, edge_weight)
    torch.testing.assert_close(conv(x[perm], inv[edge_index], edge_weight), out[perm], **TOL)


@pytest.mark.parametrize('aggr', ['add', 'mean', 'max'])
@pytest.mark.parametrize('shape', [(), (2, 3)])
def test_edge_index_formats_agree(graph, aggr, shape):
    edge_index, edge_weight, N = graph
    conv = RecurrentGraphConv(8, 2, aggr=aggr)
    x = torch.randn(*shape, N, 6)
    expected = conv(x, edge_index, edge_weight)

    ei = EdgeIndex(edge_index, sparse_size=(N, N))
    torch.testing.assert_close(conv(x, ei, edge_weight), expected, **TOL)
    ei_sorted, perm = ei.sort_by('col')
    torch.testing.assert_close(conv(x, ei_sorted, edge_weight[perm]), expected, **TOL)

    # torch.sparse adjacency in PyG's transposed convention: adj_t[i, j] = e_{j,i}.
    for to_sparse in (to_torch_coo_tensor, to_torch_csr_tensor):
        adj_t = to_sparse(edge_index.flip(0), edge_weight, size=(N, N))
        torch.testing.assert_close(conv(x, adj_t), expected, **TOL)


def test_sparse_coo_is_converted_once(graph):
    # PyG's spmm warns on every COO call; the layer converts to CSR once per forward.
    edge_index, edge_weight, N = graph
    conv = RecurrentGraphConv(8, 3)
    adj_t = to_torch_coo_tensor(edge_index.flip(0), edge_weight, size=(N, N))
    with warnings.catch_warnings():
        warnings.filterwarnings('error', message='Converting sparse tensor to CSR')
        conv(torch.randn(N, 8), adj_t)


@pytest.mark.skipif(not torch_geometric.typing.WITH_TORCH_SPARSE,
                    reason='torch_sparse is not installed')
def test_sparse_tensor_agrees(graph):  # pragma: no cover - needs torch_sparse
    from torch_geometric.typing import SparseTensor
    edge_index, edge_weight, N = graph
    conv = RecurrentGraphConv(8, 2)
    x = torch.randn(2, N, 8)
    adj_t = SparseTensor(row=edge_index[1], col=edge_index[0], value=edge_weight,
                         sparse_sizes=(N, N))
    torch.testing.assert_close(conv(x, adj_t), conv(x, edge_index, edge_weight), **TOL)


def test_sparse_gradients_match(graph):
    edge_index, edge_weight, N = graph
    conv = RecurrentGraphConv(8, 2)
    x = torch.randn(N, 8, requires_grad=True)
    w1 = edge_weight.clone().requires_grad_()
    conv(x, edge_index, w1).square().sum().backward()
    grad_x = x.grad.clone()
    x.grad = None
    w2 = edge_weight.clone().requires_grad_()
    conv(x, to_torch_coo_tensor(edge_index.flip(0), w2, size=(N, N))).square().sum().backward()
    torch.testing.assert_close(x.grad, grad_x, **TOL)
    torch.testing.assert_close(w2.grad, w1.grad, **TOL)


def test_inside_pyg_sequential(graph):
    edge_index, edge_weight, N = graph
    conv1 = RecurrentGraphConv(8, 2)
    conv2 = RecurrentGraphConv(8, 1, updater='lstm')
    model = Sequential('x, edge_index, edge_weight', [
        (conv1, 'x, edge_index, edge_weight -> x'),
        nn.ReLU(),
        (conv2, 'x, edge_index, edge_weight -> x'),
    ])
    x = torch.randn(2, N, 5)
    expected = conv2(conv1(x, edge_index, edge_weight).relu(), edge_index, edge_weight)
    torch.testing.assert_close(model(x, edge_index, edge_weight), expected)


@pytest.mark.parametrize('updater', ['gru', 'lstm', 'rnn'])
def test_gradients_reach_every_parameter(graph, updater):
    edge_index, edge_weight, N = graph
    conv = RecurrentGraphConv(8, 3, updater=updater)
    edge_weight = edge_weight.clone().requires_grad_()
    conv(torch.randn(2, N, 5), edge_index, edge_weight).square().sum().backward()
    for name, param in conv.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert (conv.weight.grad.flatten(1).abs().sum(dim=1) > 0).all()  # every step's weight
    assert edge_weight.grad is not None and edge_weight.grad.abs().sum() > 0


def test_reset_parameters_resets_every_child():
    conv = RecurrentGraphConv(8, 2, updater='lstm')
    before = {k: v.clone() for k, v in conv.state_dict().items()}
    conv.reset_parameters()
    for key, value in conv.state_dict().items():
        assert not torch.equal(value, before[key]), key


def test_save_load_roundtrip(graph, reloaded):
    edge_index, edge_weight, N = graph
    conv = RecurrentGraphConv(8, 2, updater='lstm')
    x = torch.randn(N, 6)
    loaded = reloaded(conv)
    assert str(loaded) == str(conv)
    assert torch.equal(loaded(x, edge_index, edge_weight), conv(x, edge_index, edge_weight))

    fresh = RecurrentGraphConv(8, 2, updater='lstm')
    fresh.load_state_dict(reloaded(conv.state_dict(), weights_only=True))
    assert torch.equal(fresh(x, edge_index, edge_weight), conv(x, edge_index, edge_weight))


@pytest.mark.parametrize('updater', ['gru', 'lstm'])
def test_compiles_without_graph_breaks(graph, updater, graph_breaks):
    edge_index, edge_weight, N = graph
    conv = RecurrentGraphConv(8, 2, updater=updater)
    count, why = graph_breaks(conv, torch.randn(2, 3, N, 5), edge_index, edge_weight)
    assert count == 0, why


def test_errors_name_the_fix(graph):
    edge_index, edge_weight, N = graph
    conv = RecurrentGraphConv(8, 2)
    x = torch.randn(N, 8)
    with pytest.raises(ValueError, match=r'expected shape \[2, E\].*pass edge_index.t\(\)'):
        conv(x, edge_index.t(), edge_weight)
    with pytest.raises(ValueError, match=r'call edge_index.long\(\)'):
        conv(x, edge_index.float(), edge_weight)
    with pytest.raises(ValueError, match=r'expected shape \[10\]'):
        conv(x, edge_index, edge_weight[:-1])
    with pytest.raises(ValueError, match='build the layer with channels>=9'):
        conv(torch.randn(N, 9), edge_index, edge_weight)
    with pytest.raises(ValueError, match=r'expected \[N, F\] or \[\*, N, F\]'):
        conv(torch.randn(N), edge_index, edge_weight)
    adj_t = to_torch_coo_tensor(edge_index.flip(0), edge_weight, size=(N + 1, N + 1))
    with pytest.raises(ValueError, match=rf'expected \[{N}, {N}\]'):
        conv(x, adj_t)
    adj_t = to_torch_coo_tensor(edge_index.flip(0), edge_weight, size=(N, N))
    with pytest.raises(ValueError, match="put the weights in the sparse matrix's values"):
        conv(x, adj_t, edge_weight)
    with pytest.raises(ValueError, match="use one of \\['gru', 'lstm', 'rnn'\\]"):
        RecurrentGraphConv(8, 2, updater='transformer')
    with pytest.raises(ValueError, match=r'build it as GRUCell\(8, 8\)'):
        RecurrentGraphConv(8, 2, updater=GRUCell(4, 8))
    with pytest.raises(ValueError, match='pass .* a GRUCell, LSTMCell or RNNCell'):
        RecurrentGraphConv(8, 2, updater=nn.GRUCell(8, 8))
    with pytest.raises(ValueError, match='must be >= 1'):
        RecurrentGraphConv(8, 0)


@pytest.mark.parametrize('row', [0, 1])
def test_out_of_range_index_is_clear(graph, row):
    edge_index, edge_weight, N = graph
    conv = RecurrentGraphConv(8, 2)
    x = torch.randn(N, 8)
    bad = edge_index.clone()
    bad[row, 4] = N
    with pytest.raises(IndexError, match=rf"refers to node {N}, but 'x' has {N} nodes"):
        conv(x, bad, edge_weight)
    bad[row, 4] = -1
    with pytest.raises(IndexError, match='refers to node -1.*relabel the nodes'):
        conv(x, bad, edge_weight)
