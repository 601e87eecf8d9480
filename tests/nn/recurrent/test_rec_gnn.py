import pytest
import torch
from torch import nn
from torch_geometric import EdgeIndex
from torch_geometric.utils import to_torch_coo_tensor, to_torch_csr_tensor

from pyg_ext.nn.recurrent.rec_gnn import RecGNN

pytestmark = pytest.mark.filterwarnings('ignore:Sparse CSR tensor support:UserWarning',
                                        'ignore:Sparse invariant checks:UserWarning')


@pytest.fixture
def graph(directed_graph):
    """``directed_graph`` with one negative weight, plus an isolated node 7."""
    edge_index, edge_weight, num_nodes = directed_graph
    edge_weight = edge_weight.clone()
    edge_weight[3] = -edge_weight[3]
    return edge_index, edge_weight, num_nodes + 1


def max_norm(h):
    """||h||_inf = max over nodes of the L2 norm of a node's state."""
    return h.norm(dim=-1).max()


def reference_transition(model, x, h, edge_index, edge_weight):
    """The paper's sum over in-neighbours, written per edge from the docstring formula."""
    src, dst = edge_index
    N = x.size(0)
    d = torch.zeros(N).index_add_(0, dst, edge_weight.abs())
    sigma = torch.linalg.svdvals(model.weight)[0]
    W_hat = model.weight / torch.clamp(sigma, min=1.0)
    pre = (x[dst] @ model.lin_dst.weight.T + model.lin_dst.bias + x[src] @ model.lin_src.weight.T
           + model.mu * h[src] @ W_hat.T)
    msg = (edge_weight / d[dst])[:, None] * torch.tanh(pre)
    return torch.zeros(N, h.size(-1)).index_add_(0, dst, msg)


def count_steps(model):
    calls = []
    model.register_propagate_forward_hook(lambda *args: calls.append(1))
    return calls


def test_repr_and_parameters():
    model = RecGNN(3, 16, 2)
    assert str(model) == 'RecGNN(3, 16, 2, mu=0.9)'
    assert model.weight.shape == (16, 16) and model.readout.in_features == 19
    assert (model.tol, model.max_iter) == (1e-5, 50)
    model = RecGNN(3, 16, 2, bias=False)
    assert model.lin_dst.bias is None and model.readout.bias is None


def test_transition_equals_formula(graph):
    edge_index, edge_weight, N = graph
    model = RecGNN(3, 8, 2, mu=0.7)
    with torch.no_grad():
        model.weight.mul_(10.0)  # spectral norm > 1: the scaling is active
    assert torch.linalg.svdvals(model.weight)[0] > 1
    x, h = torch.randn(N, 3), torch.randn(N, 8)
    expected = reference_transition(model, x, h, edge_index, edge_weight)
    torch.testing.assert_close(model.transition(x, h, edge_index, edge_weight), expected)
    ones = torch.ones(edge_index.size(1))
    torch.testing.assert_close(model.transition(x, h, edge_index),
                               reference_transition(model, x, h, edge_index, ones))
    assert torch.equal(model.transition(x, h, edge_index)[7], torch.zeros(8))  # no in-edges


@pytest.mark.parametrize('mu', [0.3, 0.9, 0.99])
@pytest.mark.parametrize('scale', [1.0, 30.0])
def test_transition_is_a_contraction(graph, mu, scale):
    edge_index, edge_weight, N = graph
    model = RecGNN(3, 8, 2, mu=mu)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)
    x = torch.randn(4, N, 3)
    for _ in range(20):
        h1, h2 = 3 * torch.randn(4, N, 8), 3 * torch.randn(4, N, 8)
        h2[:, :3] = h1[:, :3] + 1e-2 * torch.randn(3, 8)  # near pairs too
        f1 = model.transition(x, h1, edge_index, edge_weight)
        f2 = model.transition(x, h2, edge_index, edge_weight)
        assert max_norm(f1 - f2) <= mu * max_norm(h1 - h2) * (1 + 1e-5)


def test_contraction_factor_is_tight():
    # On a cycle, with an orthogonal W and tanh near 0 (slope 1), F moves states by mu.
    N, mu = 6, 0.8
    edge_index = torch.stack([torch.arange(N), (torch.arange(N) + 1) % N])
    model = RecGNN(3, 4, 1, mu=mu)
    with torch.no_grad():
        model.weight.copy_(torch.linalg.qr(torch.randn(4, 4))[0])
        for p in (model.lin_dst.weight, model.lin_dst.bias, model.lin_src.weight):
            p.zero_()
    x, h1 = torch.randn(N, 3), 1e-4 * torch.randn(N, 4)
    h2 = 1e-4 * torch.randn(N, 4)
    ratio = max_norm(model.transition(x, h1, edge_index) - model.transition(x, h2, edge_index))
    ratio = ratio / max_norm(h1 - h2)
    assert mu * 0.999 <= ratio <= mu * (1 + 1e-5)


@pytest.mark.parametrize('mu', [0.5, 0.9])
def test_returned_state_is_a_fixed_point(graph, mu):
    edge_index, edge_weight, N = graph
    model = RecGNN(3, 8, 2, mu=mu, tol=1e-5, max_iter=200)
    with torch.no_grad():
        model.weight.mul_(5.0)
    x = torch.randn(2, N, 3)
    steps = count_steps(model)
    with torch.no_grad():
        out, h = model(x, edge_index, edge_weight)
    assert len(steps) < 200  # stopped at the tolerance, not at the cap
    residual = max_norm(model.transition(x, h, edge_index, edge_weight) - h)
    assert residual <= model.tol
    # The fixed point is unique: a warm start elsewhere lands on the same state.
    _, h_other = model(x, edge_index, edge_weight, state=torch.randn(2, N, 8))
    assert max_norm(h_other - h) <= 2 * mu / (1 - mu) * model.tol


def test_stops_at_the_first_step_below_tol(graph):
    edge_index, edge_weight, N = graph
    model = RecGNN(3, 8, 2, tol=1e-3)
    x = torch.randn(N, 3)
    h, k = torch.zeros(N, 8), 0
    while True:
        h_next, k = model.transition(x, h, edge_index, edge_weight), k + 1
        if max_norm(h_next - h) <= 1e-3:
            break
        h = h_next
    steps = count_steps(model)
    with torch.no_grad():
        _, state = model(x, edge_index, edge_weight)
    assert len(steps) == k > 1
    torch.testing.assert_close(state, h_next)
    steps.clear()
    with torch.no_grad():  # a warm start at the fixed point needs one step
        model(x, edge_index, edge_weight, state=state)
    assert len(steps) == 1


@pytest.mark.parametrize('tol', [0.0, None])
def test_stops_at_max_iter(graph, tol):
    edge_index, edge_weight, N = graph
    model = RecGNN(3, 8, 2, tol=tol, max_iter=3)
    x = torch.randn(N, 3)
    h = torch.zeros(N, 8)
    for _ in range(3):
        h = model.transition(x, h, edge_index, edge_weight)
    steps = count_steps(model)
    with torch.no_grad():
        out, state = model(x, edge_index, edge_weight)
    assert len(steps) == 3
    torch.testing.assert_close(state, h)
    steps.clear()
    out_train, state_train = model(x, edge_index, edge_weight)  # + the last step with autograd
    assert len(steps) == 4
    torch.testing.assert_close(state_train, state)
    torch.testing.assert_close(out_train, out)


def test_readout_shape_and_formula(graph):
    edge_index, edge_weight, N = graph
    model = RecGNN(3, 8, 5)
    x = torch.randn(2, 4, N, 3)  # [B, T, N, F]
    out, h = model(x, edge_index, edge_weight)
    assert out.shape == (2, 4, N, 5) and h.shape == (2, 4, N, 8)
    torch.testing.assert_close(out, model.readout(torch.cat([h, x], dim=-1)))

    mlp = nn.Sequential(nn.Linear(11, 16), nn.ReLU(), nn.Linear(16, 5))
    model = RecGNN(3, 8, 5, readout=mlp)
    out, h = model(x, edge_index, edge_weight)
    torch.testing.assert_close(out, mlp(torch.cat([h, x], dim=-1)))


def unrolled_loss(model, x, edge_index, edge_weight, steps):
    """Backpropagation through a long unrolled iteration: the exact fixed-point gradient."""
    h = torch.zeros(*x.shape[:-1], model.state_channels)
    for _ in range(steps):
        h = model.transition(x, h, edge_index, edge_weight)
    out = model.readout(torch.cat([h, x], dim=-1))
    return (out.sin().sum() + h.square().sum())


@pytest.mark.parametrize('mu', [0.5, 0.9])
def test_implicit_gradient_equals_unrolled_backprop(graph, mu):
    edge_index, edge_weight, N = graph
    model = RecGNN(3, 6, 2, mu=mu, tol=1e-7, max_iter=300)
    with torch.no_grad():
        model.weight.mul_(4.0)
    x = torch.randn(2, N, 3, requires_grad=True)
    w = edge_weight.clone().requires_grad_()
    out, h = model(x, edge_index, w)
    (out.sin().sum() + h.square().sum()).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    grad_x, grad_w = x.grad.clone(), w.grad.clone()
    model.zero_grad()
    x.grad = w.grad = None
    unrolled_loss(model, x, edge_index, w, steps=200 if mu == 0.9 else 60).backward()
    for name, param in model.named_parameters():
        torch.testing.assert_close(grads[name], param.grad, atol=1e-4, rtol=1e-3, msg=name)
    torch.testing.assert_close(grad_x, x.grad, atol=1e-4, rtol=1e-3)
    torch.testing.assert_close(grad_w, w.grad, atol=1e-4, rtol=1e-3)


def test_gradients_reach_every_parameter(graph):
    edge_index, edge_weight, N = graph
    model = RecGNN(3, 8, 2)
    edge_weight = edge_weight.clone().requires_grad_()
    out, _ = model(torch.randn(2, N, 3), edge_index, edge_weight)
    out.square().sum().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert edge_weight.grad is not None and edge_weight.grad.abs().sum() > 0


def test_training_reduces_the_loss(graph):
    edge_index, edge_weight, N = graph
    model = RecGNN(3, 8, 1, mu=0.8)
    x, y = torch.randn(N, 3), torch.randn(N, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = (model(x, edge_index, edge_weight)[0] - y).square().mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_batched_time_layout_matches_slices(graph):
    edge_index, edge_weight, N = graph
    model = RecGNN(3, 8, 2, tol=1e-6)
    x = torch.randn(2, 3, N, 3)
    out, h = model(x, edge_index, edge_weight)
    for b in range(2):
        for t in range(3):
            out_bt, h_bt = model(x[b, t], edge_index, edge_weight)
            torch.testing.assert_close(h[b, t], h_bt, atol=1e-5, rtol=0)
            torch.testing.assert_close(out[b, t], out_bt, atol=1e-4, rtol=0)


def test_permutation_equivariance(graph):
    edge_index, edge_weight, N = graph
    model = RecGNN(3, 8, 2)
    x = torch.randn(N, 3)
    perm = torch.randperm(N)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(N)
    out, h = model(x, edge_index, edge_weight)
    out_p, h_p = model(x[perm], inv[edge_index], edge_weight)
    torch.testing.assert_close(h_p, h[perm], atol=1e-5, rtol=0)
    torch.testing.assert_close(out_p, out[perm], atol=1e-5, rtol=0)


@pytest.mark.parametrize('shape', [(), (2, 3)])
def test_edge_index_formats_agree(graph, shape):
    edge_index, edge_weight, N = graph
    model = RecGNN(3, 8, 2)
    x = torch.randn(*shape, N, 3)
    out, h = model(x, edge_index, edge_weight)

    ei = EdgeIndex(edge_index, sparse_size=(N, N))
    for graph_input, weight in ((ei, edge_weight), (ei.sort_by('col')[0],
                                                    edge_weight[ei.sort_by('col')[1]])):
        out2, h2 = model(x, graph_input, weight)
        torch.testing.assert_close(out2, out, atol=1e-5, rtol=0)
        torch.testing.assert_close(h2, h, atol=1e-5, rtol=0)

    for to_sparse in (to_torch_coo_tensor, to_torch_csr_tensor):
        adj_t = to_sparse(edge_index.flip(0), edge_weight, size=(N, N))  # adj_t[v, u]
        out2, h2 = model(x, adj_t)
        torch.testing.assert_close(out2, out, atol=1e-5, rtol=0)
        torch.testing.assert_close(h2, h, atol=1e-5, rtol=0)


def test_sparse_gradients_match(graph):
    edge_index, edge_weight, N = graph
    model = RecGNN(3, 8, 2)
    x = torch.randn(N, 3)
    w1 = edge_weight.clone().requires_grad_()
    model(x, edge_index, w1)[0].square().sum().backward()
    w2 = edge_weight.clone().requires_grad_()
    model(x, to_torch_csr_tensor(edge_index.flip(0), w2, size=(N, N)))[0].square().sum() \
        .backward()
    torch.testing.assert_close(w2.grad, w1.grad, atol=1e-4, rtol=1e-4)


def test_reset_parameters_resets_every_child():
    model = RecGNN(3, 8, 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.reset_parameters()
    for key, value in model.state_dict().items():
        assert not torch.equal(value, before[key]), key


def test_save_load_roundtrip(graph, reloaded):
    edge_index, edge_weight, N = graph
    model = RecGNN(3, 8, 2, mu=0.6, tol=1e-4, max_iter=20)
    x = torch.randn(N, 3)
    loaded = reloaded(model)
    assert str(loaded) == str(model) and (loaded.tol, loaded.max_iter) == (1e-4, 20)
    for a, b in zip(loaded(x, edge_index, edge_weight), model(x, edge_index, edge_weight)):
        assert torch.equal(a, b)

    fresh = RecGNN(3, 8, 2, mu=0.6, tol=1e-4, max_iter=20)
    fresh.load_state_dict(reloaded(model.state_dict(), weights_only=True))
    for a, b in zip(fresh(x, edge_index, edge_weight), model(x, edge_index, edge_weight)):
        assert torch.equal(a, b)


def test_errors_name_the_fix(graph):
    edge_index, edge_weight, N = graph
    model = RecGNN(3, 8, 2)
    x = torch.randn(N, 3)
    with pytest.raises(ValueError, match=r'expected shape \[2, E\].*pass edge_index.t\(\)'):
        model(x, edge_index.t(), edge_weight)
    with pytest.raises(ValueError, match=r'call edge_index.long\(\)'):
        model(x, edge_index.float(), edge_weight)
    with pytest.raises(ValueError, match=r'expected shape \[10\]'):
        model(x, edge_index, edge_weight[:-1])
    with pytest.raises(ValueError, match='build the layer with in_channels=5'):
        model(torch.randn(N, 5), edge_index, edge_weight)
    with pytest.raises(ValueError, match=r'expected \[N, F\] or \[\*, N, F\]'):
        model(torch.randn(N), edge_index, edge_weight)
    with pytest.raises(ValueError, match='or pass state=None for zeros'):
        model(x, edge_index, edge_weight, state=torch.zeros(N, 4))
    adj_t = to_torch_coo_tensor(edge_index.flip(0), edge_weight, size=(N + 1, N + 1))
    with pytest.raises(ValueError, match=rf'expected \[{N}, {N}\]'):
        model(x, adj_t)
    adj_t = to_torch_coo_tensor(edge_index.flip(0), edge_weight, size=(N, N))
    with pytest.raises(ValueError, match="put the weights in the sparse matrix's values"):
        model(x, adj_t, edge_weight)
    for mu in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match='pass 0 < mu < 1'):
            RecGNN(3, 8, 2, mu=mu)
    with pytest.raises(ValueError, match='pass tol >= 0, or tol=None'):
        RecGNN(3, 8, 2, tol=-1.0)
    with pytest.raises(ValueError, match='pass max_iter >= 1'):
        RecGNN(3, 8, 2, max_iter=0)


@pytest.mark.parametrize('row', [0, 1])
def test_out_of_range_index_is_clear(graph, row):
    edge_index, edge_weight, N = graph
    model = RecGNN(3, 8, 2)
    x = torch.randn(N, 3)
    bad = edge_index.clone()
    bad[row, 4] = N
    with pytest.raises(IndexError, match=rf"refers to node {N}, but 'x' has {N} nodes"):
        model(x, bad, edge_weight)
    bad[row, 4] = -1
    with pytest.raises(IndexError, match='refers to node -1.*relabel the nodes'):
        model(x, bad, edge_weight)
