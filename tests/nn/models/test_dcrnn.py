import pytest
import torch
from torch.testing import assert_close

from pyg_ext.nn.conv import diff_conv
from pyg_ext.nn.conv.diff_conv import DiffConv
from pyg_ext.nn.models.dcrnn import DCRNN
from pyg_ext.nn.models.graph_rnn_model import sparse_adjacency_t

pytestmark = pytest.mark.filterwarnings('ignore:Sparse CSR tensor support:UserWarning',
                                        'ignore:Sparse invariant checks:UserWarning')
TOL = dict(atol=1e-5, rtol=1e-4)
F_IN, F_OUT, H, HORIZON = 2, 1, 8, 4


def model_and_data(directed_graph, **kw):
    edge_index, edge_weight, N = directed_graph
    model = DCRNN(F_IN, F_OUT, H, HORIZON, **kw)
    x = torch.randn(2, 5, N, F_IN)
    y = torch.randn(2, HORIZON, N, F_OUT)
    return model, x, y, edge_index, edge_weight


def dense_diffusion(conv, x, edge_index, edge_weight, N):
    W = torch.zeros(N, N).index_put_((edge_index[0], edge_index[1]), edge_weight,
                                     accumulate=True)
    d_out, d_in = W.sum(1), W.sum(0)
    P_f = torch.where(d_out > 0, 1 / d_out, torch.zeros_like(d_out))[:, None] * W
    P_b = torch.where(d_in > 0, 1 / d_in, torch.zeros_like(d_in))[:, None] * W.t()
    out = x @ conv.weight[0] + conv.bias
    for k in range(1, conv.K + 1):
        out = out + torch.linalg.matrix_power(P_f, k) @ x @ conv.weight[k]
        out = out + torch.linalg.matrix_power(P_b, k) @ x @ conv.weight[conv.K + k]
    return out


def test_cell_diffusion_on_the_models_sparse_graph_equals_dense_formula(directed_graph):
    model, x, _, edge_index, edge_weight = model_and_data(directed_graph)
    N = x.size(2)
    cell = model.encoder.cells[0]
    with torch.no_grad():
        for m in (cell.input_map, cell.hidden_map, cell.candidate_map):
            m.bias.normal_()
    adj_t = sparse_adjacency_t(edge_index, edge_weight, N, x.dtype)  # what forward passes
    h = torch.randn(2, N, H)

    def gconv(conv, v):
        return dense_diffusion(conv, v, edge_index, edge_weight, N)

    gx, gh = gconv(cell.input_map, x[:, 0]), gconv(cell.hidden_map, h)
    r = torch.sigmoid(gx[..., :H] + gh[..., :H])
    u = torch.sigmoid(gx[..., H:2 * H] + gh[..., H:])
    c = torch.tanh(gx[..., 2 * H:] + gconv(cell.candidate_map, r * h))
    assert_close(cell(x[:, 0], h, adj_t), u * h + (1 - u) * c, **TOL)


@pytest.mark.parametrize('gate_bias', [0.0, 1.0])
def test_gate_bias_start_as_in_the_authors_code(directed_graph, gate_bias):
    # The authors' DCGRU: [r, u] = sigmoid(gconv([x, h]) + 1), c = tanh(gconv([x, r * h])),
    # h' = u * h + (1 - u) * c. With every weight zero, c = 0 and h' = sigmoid(b) * h.
    model, x, _, edge_index, edge_weight = model_and_data(directed_graph, gate_bias=gate_bias)
    N = x.size(2)
    adj_t = sparse_adjacency_t(edge_index, edge_weight, N, x.dtype)
    expected_bias = torch.tensor([gate_bias] * (2 * H) + [0.0] * H)
    for cell in (*model.encoder.cells, *model.decoder.cells):
        assert torch.equal(cell.input_map.bias, expected_bias)
        assert torch.equal(cell.hidden_map.bias, torch.zeros(2 * H))
        assert torch.equal(cell.candidate_map.bias, torch.zeros(H))
    cell = model.decoder.cells[1]
    with torch.no_grad():
        for m in (cell.input_map, cell.hidden_map, cell.candidate_map):
            m.weight.zero_()
    h = torch.randn(2, N, H)
    out = cell(torch.randn(2, N, H), h, adj_t)
    assert_close(out, torch.sigmoid(torch.tensor(gate_bias)) * h, **TOL)
    with torch.no_grad():
        model.encoder.cells[0].input_map.bias.normal_()
    model.reset_parameters()  # back to the starting biases
    assert torch.equal(model.encoder.cells[0].input_map.bias, expected_bias)


def loop_forward(model, x, edge_index, edge_weight, go=None):
    """The paper's seq2seq, stepped by hand with the cells on the raw edge_index (message
    passing, the graph normalised in every gate call); :obj:`go` replaces the zero GO."""
    g = (edge_index, edge_weight)
    states = [None, None]
    for t in range(x.size(1)):
        inp = x[:, t]
        for i, cell in enumerate(model.encoder.cells):
            states[i] = inp = cell(inp, states[i], *g)
    inp, preds = torch.zeros(x.size(0), x.size(2), F_OUT) if go is None else go, []
    for _ in range(HORIZON):
        for i, cell in enumerate(model.decoder.cells):
            states[i] = inp = cell(inp, states[i], *g)
        inp = model.seq2seq.readout(inp)
        preds.append(inp)
    return torch.stack(preds, 1)


def autograd_node_names(root):
    names, seen, todo = set(), set(), [root]
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(type(node).__name__)
        todo.extend(next_node for next_node, _ in node.next_functions)
    return names


def test_equals_encoder_decoder_loop(directed_graph):
    model, x, _, edge_index, edge_weight = model_and_data(directed_graph, cached=False)
    model.eval()
    assert_close(model(x, edge_index, edge_weight),
                 loop_forward(model, x, edge_index, edge_weight), **TOL)


def test_go_input_last_feeds_the_last_observation(directed_graph):
    model, x, _, edge_index, edge_weight = model_and_data(directed_graph, cached=False,
                                                          go_input='last')
    model.eval()
    # the first decoder input is the last input step's forecast channel (channel 0)
    assert_close(model(x, edge_index, edge_weight),
                 loop_forward(model, x, edge_index, edge_weight, go=x[:, -1, :, :F_OUT]),
                 **TOL)
    zeros = DCRNN(F_IN, F_OUT, H, HORIZON, cached=False).eval()
    zeros.load_state_dict(model.state_dict())  # same weights, the paper's zero GO
    assert not torch.allclose(zeros(x, edge_index, edge_weight), model(x, edge_index,
                                                                       edge_weight))
    # another forecast channel: the model reads channel 1 of the last step
    other = DCRNN(F_IN, F_OUT, H, HORIZON, cached=False, go_input='last',
                  target_channels=[1]).eval()
    other.load_state_dict(model.state_dict())
    assert_close(other(x, edge_index, edge_weight),
                 loop_forward(other, x, edge_index, edge_weight, go=x[:, -1, :, 1:2]), **TOL)
    assert "go_input='last'" in repr(model) and 'go_input' not in repr(zeros)
    with pytest.raises(ValueError, match="go_input='first'"):
        DCRNN(F_IN, F_OUT, H, HORIZON, go_input='first')
    with pytest.raises(ValueError, match=r'target_channels=\[2\] must name 1 input'):
        DCRNN(F_IN, F_OUT, H, HORIZON, go_input='last', target_channels=[2])


def test_teacher_forcing(directed_graph):
    model, x, y, edge_index, edge_weight = model_and_data(directed_graph,
                                                          use_curriculum=False)
    g = (edge_index, edge_weight)
    model.train()  # dropout is 0, so training mode is deterministic
    out = model(x, *g, targets=y)
    y2 = y.clone()
    y2[:, 1] += 1.0  # the true value of step 1 is fed as the input of step 2
    out2 = model(x, *g, targets=y2)
    assert_close(out2[:, :2], out[:, :2])
    assert not torch.allclose(out2[:, 2:], out[:, 2:])
    free = model(x, *g)  # no targets: the predictions are fed back
    assert_close(free[:, 0], out[:, 0])
    assert not torch.allclose(free[:, 1:], out[:, 1:])
    model.eval()  # evaluation never reads the targets
    assert_close(model(x, *g, targets=y2), model(x, *g))


def test_scheduled_sampling(directed_graph):
    model, x, y, edge_index, edge_weight = model_and_data(directed_graph)
    g = (edge_index, edge_weight)
    model.train()
    with pytest.raises(ValueError, match='batches_seen'):
        model(x, *g, targets=y)
    # Late in training the probability of feeding targets is 0: free running.
    assert_close(model(x, *g, targets=y, batches_seen=10 ** 6), model(x, *g))
    assert model.seq2seq.teacher_forcing_probability(0) == pytest.approx(2000 / 2001)
    with pytest.raises(ValueError, match='targets'):
        model(x, *g, targets=y[:, :2], batches_seen=0)


def test_cache_serves_one_graph(directed_graph):
    model, x, _, edge_index, edge_weight = model_and_data(directed_graph)
    model(x, edge_index, edge_weight)
    with pytest.raises(ValueError, match='cached=False'):
        model(x, edge_index[:, :-1], edge_weight[:-1])
    fresh = DCRNN(F_IN, F_OUT, H, HORIZON, cached=False)
    fresh.load_state_dict(model.state_dict())
    assert_close(fresh(x, edge_index, edge_weight), model(x, edge_index, edge_weight), **TOL)
    assert fresh(x, edge_index[:, :-1], edge_weight[:-1]).shape == (2, HORIZON, x.size(2), 1)
    model.reset_parameters()  # also clears the cache
    assert model(x, edge_index[:, :-1], edge_weight[:-1]).shape == (2, HORIZON, x.size(2), 1)


def test_layers_and_diffusion_steps():
    model = DCRNN(2, 1, 16, horizon=12, K=3, num_layers=3)
    assert model.encoder.num_layers == model.decoder.num_layers == 3
    assert model.encoder.cells[0].input_map.weight.shape == (7, 2, 48)  # 2K + 1 blocks
    assert model.decoder.cells[0].input_size == 1


@pytest.mark.parametrize('cached', [True, False])
def test_csr_fast_path_and_transitions_once(directed_graph, monkeypatch, cached):
    # Every gate call diffuses with CSR matmuls (no message passing), and the graph is
    # normalised once per forward (cached=False) or once per gate conv ever (cached=True),
    # never per gate call.
    model, x, _, edge_index, edge_weight = model_and_data(directed_graph, cached=cached)
    convs = [m for m in model.modules() if isinstance(m, DiffConv)]
    assert len(convs) == 3 * 2 * 2  # 3 gate maps x 2 layers x (encoder, decoder)
    conv_calls, spmm_calls, norm_calls = [], [], []
    for conv in convs:
        conv.register_forward_hook(lambda *args: conv_calls.append(1))
    transitions, csr_matmul = DiffConv.transitions, diff_conv.csr_matmul
    monkeypatch.setattr(DiffConv, 'transitions', staticmethod(
        lambda *a, **kw: norm_calls.append(1) or transitions(*a, **kw)))
    monkeypatch.setattr(diff_conv, 'csr_matmul',
                        lambda *a: spmm_calls.append(1) or csr_matmul(*a))

    def no_message_passing(*args, **kwargs):
        raise AssertionError('DCRNN fell back to message passing')

    monkeypatch.setattr(DiffConv, 'propagate', no_message_passing)
    for _ in range(2):
        model(x, edge_index, edge_weight)
    assert len(conv_calls) > 0 and len(spmm_calls) == 2 * model.K * len(conv_calls)
    assert len(norm_calls) == (len(convs) if cached else 2)


@pytest.mark.parametrize('cached', [True, False])
def test_gradients_match_loop_without_sparse_transposes(directed_graph, cached):
    model, x, _, edge_index, edge_weight = model_and_data(directed_graph, cached=cached)
    model.eval()
    reference = DCRNN(F_IN, F_OUT, H, HORIZON, cached=False).eval()  # no cache to share
    reference.load_state_dict(model.state_dict())
    loop_forward(reference, x, edge_index, edge_weight).square().sum().backward()
    expected = {name: p.grad for name, p in reference.named_parameters()}
    out = model(x, edge_index, edge_weight)
    # torch's own CSR matmul backward (SparseAddmmBackward0) transposes the sparse matrix
    # on every call; none may be left in the graph.
    names = autograd_node_names(out.grad_fn)
    assert '_CSRMatmulBackward' in names and 'SparseAddmmBackward0' not in names, names
    out.square().sum().backward()
    for name, param in model.named_parameters():
        assert_close(param.grad, expected[name], **TOL)


def test_uncached_gradients_reach_edge_weight(directed_graph):
    # Learnable edge weights: the CSR values require grad, so torch's sparse backward runs
    # and the gradients equal those of message passing on the raw edge_index.
    model, x, _, edge_index, _ = model_and_data(directed_graph, cached=False)
    model.eval()
    w1 = torch.rand(edge_index.size(1), requires_grad=True)
    loop_forward(model, x, edge_index, w1).square().sum().backward()
    w2 = w1.detach().clone().requires_grad_()
    model(x, edge_index, w2).square().sum().backward()
    assert w2.grad is not None and w2.grad.abs().sum() > 0
    assert_close(w2.grad, w1.grad, **TOL)
