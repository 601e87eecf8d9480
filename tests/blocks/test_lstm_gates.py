import pytest
import torch
from torch import nn
from torch.testing import assert_close

from pyg_ext.blocks.lstm_cell import LSTMCell
from pyg_ext.blocks.lstm_gates import lstm_gates

TOL = dict(atol=1e-5, rtol=1e-5)


def lstm_formula(x_proj, gh, c, w_ci=None, w_cf=None, w_co=None):
    """The paper's formula, dense, with slices; a missing peephole weight is zero."""
    H = c.size(-1)
    a = x_proj + gh
    zero = torch.zeros(H, dtype=c.dtype)
    w_ci, w_cf, w_co = (zero if w is None else w for w in (w_ci, w_cf, w_co))
    i = torch.sigmoid(a[..., :H] + w_ci * c)
    f = torch.sigmoid(a[..., H:2 * H] + w_cf * c)
    g = torch.tanh(a[..., 2 * H:3 * H])
    c_new = f * c + i * g
    o = torch.sigmoid(a[..., 3 * H:] + w_co * c_new)
    return o * torch.tanh(c_new), c_new


def unfused_gates(x_proj, gh, c):
    """The autograd ops LSTMCell.step used before lstm_gates (no peepholes)."""
    i, f, g, o = (x_proj + gh).chunk(4, dim=-1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_new), c_new


def inputs(*lead, H=4, peephole=False, dtype=torch.float64):
    tensors = [torch.randn(*lead, 4 * H, dtype=dtype), torch.randn(*lead, 4 * H, dtype=dtype),
               torch.randn(*lead, H, dtype=dtype)]
    if peephole:
        tensors += [torch.randn(H, dtype=dtype) for _ in range(3)]
    return [t.requires_grad_() for t in tensors]


@pytest.mark.parametrize('peephole', [False, True])
def test_lstm_gates_gradcheck_float64(peephole):
    args = inputs(3, 2, peephole=peephole)
    assert torch.autograd.gradcheck(lstm_gates, tuple(args))
    args[2] = args[2].detach()  # a cell state that needs no gradient (e.g. zeros)
    assert torch.autograd.gradcheck(lstm_gates, tuple(args))


@pytest.mark.parametrize('peephole', [False, True])
def test_lstm_gates_equal_formula(peephole):
    args = inputs(2, 5, H=6, peephole=peephole, dtype=torch.float32)
    out = lstm_gates(*args)
    expected = lstm_formula(*args)
    grads = [torch.randn_like(out[0]), torch.randn_like(out[1])]
    for a, b in zip(out, expected):
        assert_close(a, b, **TOL)
    # only h' used (the gradient of c' is zero), then both
    for a, b in zip(torch.autograd.grad(out[0].sum(), args, retain_graph=True),
                    torch.autograd.grad(expected[0].sum(), args, retain_graph=True)):
        assert_close(a, b, **TOL)
    for a, b in zip(torch.autograd.grad(out, args, grads),
                    torch.autograd.grad(expected, args, grads)):
        assert_close(a, b, **TOL)


def test_lstm_gates_broadcast_leading_dims():
    x_proj, gh, _, *peep = inputs(7, H=4, peephole=True)  # [N, 4H]
    c = torch.randn(2, 7, 4, dtype=torch.float64, requires_grad=True)  # [B, N, H]
    args = (x_proj, gh, c, *peep)
    out, expected = lstm_gates(*args), lstm_formula(*args)
    for a, b in zip(out, expected):
        assert a.shape == (2, 7, 4)
        assert_close(a, b)
    loss, ref_loss = out[0].square().sum() + out[1].sum(), expected[0].square().sum()
    ref_loss = ref_loss + expected[1].sum()
    for a, b in zip(torch.autograd.grad(loss, args), torch.autograd.grad(ref_loss, args)):
        assert a.shape == b.shape
        assert_close(a, b)


def test_lstm_gates_without_grad_saves_nothing(saved_bytes):
    args = inputs(5, peephole=True, dtype=torch.float32)
    with torch.no_grad():
        nbytes, out = saved_bytes(lambda: lstm_gates(*args))
    assert nbytes == 0 and out[0].grad_fn is None and out[1].grad_fn is None
    for a, b in zip(out, lstm_formula(*args)):
        assert_close(a, b.detach(), **TOL)
    plain = lstm_gates(*[t.detach() for t in args])
    assert plain[0].grad_fn is None
    for a, b in zip(plain, out):
        assert_close(a, b, **TOL)


def test_lstm_cell_sequence_saves_fewer_bytes_than_unfused_ops_and_torch(saved_bytes):
    T, B, H = 4, 64, 32
    ref = nn.LSTMCell(H, H)
    cell = LSTMCell.from_torch(ref)
    xs = torch.randn(T, B, H, requires_grad=True)
    params = list(cell.parameters()) + list(ref.parameters())

    def unroll(step):
        state = (torch.zeros(B, H), torch.zeros(B, H))
        for x in xs:
            state = step(x, state)
        return state

    def unfused(x, state):
        return unfused_gates(cell.input_map(x), cell.hidden_map(state[0]), state[1])

    fused, out = saved_bytes(lambda: unroll(cell), params)
    before, out_unfused = saved_bytes(lambda: unroll(unfused), params)
    theirs, out_ref = saved_bytes(lambda: unroll(ref), params)
    for a, b, c in zip(out, out_unfused, out_ref):
        assert_close(a, b, **TOL)
        assert_close(a, c, **TOL)
    row = B * H * 4  # bytes of one [B, H] float tensor
    # per step: x_t, h_{t-1} and the four activations; plus T + 1 cell states
    # (x_t is a view of xs: one storage of T rows)
    assert fused == (T + T + 4 * T + (T + 1)) * row
    # before, and torch's CPU LSTMCell: 5H per step (4 activations and tanh(c')) and c_{t-1}
    assert before == 8 * T * row
    assert fused < before and fused / theirs <= (7 * T + 1) / (8 * T)


@pytest.mark.parametrize('peephole', [False, True])
def test_lstm_gates_compile_without_graph_breaks(peephole, graph_breaks):
    args = inputs(3, H=4, peephole=peephole, dtype=torch.float32)
    count, why = graph_breaks(lstm_gates, *args)
    assert count == 0, why

    torch._dynamo.reset()
    compiled = torch.compile(lstm_gates, backend='aot_eager', fullgraph=True)
    out, expected = compiled(*args), lstm_formula(*args)
    for a, b in zip(out, expected):
        assert_close(a, b, **TOL)
    for a, b in zip(torch.autograd.grad(out[0].sum() + out[1].sum(), args),
                    torch.autograd.grad(expected[0].sum() + expected[1].sum(), args)):
        assert_close(a, b, **TOL)
