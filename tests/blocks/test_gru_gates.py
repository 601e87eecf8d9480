import pytest
import torch
from torch import nn
from torch.testing import assert_close

from pyg_ext.blocks.gru_cell import GRUCell
from pyg_ext.blocks.gru_gates import gru_gates

TOL = dict(atol=1e-5, rtol=1e-5)


def gru_formula(x_proj, gh, state):
    """The paper's formula, dense, with slices (reset gate after the hidden map)."""
    H = state.size(-1)
    r = torch.sigmoid(x_proj[..., :H] + gh[..., :H])
    z = torch.sigmoid(x_proj[..., H:2 * H] + gh[..., H:2 * H])
    n = torch.tanh(x_proj[..., 2 * H:] + r * gh[..., 2 * H:])
    return (1 - z) * n + z * state


def unfused_gates(x_proj, gh, state):
    """The autograd ops GRUCell.step used before gru_gates."""
    H = state.size(-1)
    x_rz, x_n = x_proj.split([2 * H, H], dim=-1)
    gh_rz, gh_n = gh.split([2 * H, H], dim=-1)
    r, z = torch.sigmoid(x_rz + gh_rz).chunk(2, dim=-1)
    n = torch.tanh(x_n + r * gh_n)
    return n + z * (state - n)


def inputs(*lead, H=4, dtype=torch.float32):
    return (torch.randn(*lead, 3 * H, dtype=dtype, requires_grad=True),
            torch.randn(*lead, 3 * H, dtype=dtype, requires_grad=True),
            torch.randn(*lead, H, dtype=dtype, requires_grad=True))


def test_gru_gates_gradcheck_float64():
    x_proj, gh, state = inputs(3, 2, dtype=torch.float64)
    assert torch.autograd.gradcheck(gru_gates, (x_proj, gh, state))
    assert torch.autograd.gradcheck(gru_gates, (x_proj, gh, state.detach()))
    assert torch.autograd.gradcheck(gru_gates, (x_proj.detach(), gh, state))


@pytest.mark.parametrize('lead', [(5, ), (2, 7)])
def test_gru_gates_equal_formula_and_unfused_ops(lead):
    x_proj, gh, state = inputs(*lead, H=6)
    out = gru_gates(x_proj, gh, state)
    grad = torch.randn_like(out)
    grads = torch.autograd.grad(out, (x_proj, gh, state), grad)
    for reference in (gru_formula, unfused_gates):
        expected = reference(x_proj, gh, state)
        assert_close(out, expected, **TOL)
        for a, b in zip(grads, torch.autograd.grad(expected, (x_proj, gh, state), grad)):
            assert_close(a, b, **TOL)


def test_gru_gates_broadcast_leading_dims():
    x_proj, gh, _ = inputs(7, H=4)  # [N, 3H]: one projection for all batches
    state = torch.randn(2, 7, 4, requires_grad=True)  # [B, N, H]
    out = gru_gates(x_proj, gh, state)
    expected = gru_formula(x_proj, gh, state)
    assert out.shape == (2, 7, 4)
    assert_close(out, expected, **TOL)
    for a, b in zip(torch.autograd.grad(out.square().sum(), (x_proj, gh, state)),
                    torch.autograd.grad(expected.square().sum(), (x_proj, gh, state))):
        assert a.shape == b.shape
        assert_close(a, b, **TOL)


def test_gru_gates_without_grad_saves_nothing(saved_bytes):
    x_proj, gh, state = inputs(5)
    with torch.no_grad():
        nbytes, out = saved_bytes(lambda: gru_gates(x_proj, gh, state))
    assert nbytes == 0 and out.grad_fn is None
    assert_close(out, gru_formula(x_proj, gh, state).detach(), **TOL)
    plain = [t.detach() for t in (x_proj, gh, state)]
    assert gru_gates(*plain).grad_fn is None
    assert_close(gru_gates(*plain), out, **TOL)


def test_gru_cell_saves_fewer_bytes_than_unfused_ops_and_torch(saved_bytes):
    B, H = 64, 32
    ref = nn.GRUCell(H, H)
    cell = GRUCell.from_torch(ref)
    x = torch.randn(B, H, requires_grad=True)
    h = torch.randn(B, H, requires_grad=True)
    params = list(cell.parameters()) + list(ref.parameters())

    def unfused():
        return unfused_gates(cell.input_map(x), cell.hidden_map(h), h)

    fused, out = saved_bytes(lambda: cell(x, h), params)
    before, out_unfused = saved_bytes(unfused, params)
    theirs, out_ref = saved_bytes(lambda: ref(x, h), params)
    assert_close(out, out_unfused, **TOL)
    assert_close(out, out_ref, **TOL)
    row = B * H * 4  # bytes of one [B, H] float tensor
    # x and h (kept by the linear maps) + r, z, n and a copy of gh_n
    assert fused == (2 + 4) * row
    assert fused < before and fused / before <= 6 / 9  # before: x, h + 7H
    assert fused / theirs <= 0.8  # torch's CPU GRUCell: x, h + 6H


def test_gru_gates_compile_without_graph_breaks(graph_breaks):
    x_proj, gh, state = inputs(3, H=4)
    count, why = graph_breaks(gru_gates, x_proj, gh, state)
    assert count == 0, why
    cell = GRUCell(5, 4)
    x, h = torch.randn(3, 5), torch.randn(3, 4, requires_grad=True)
    count, why = graph_breaks(cell, x, h)
    assert count == 0, why

    torch._dynamo.reset()
    compiled = torch.compile(gru_gates, backend='aot_eager', fullgraph=True)
    out = compiled(x_proj, gh, state)
    expected = gru_formula(x_proj, gh, state)
    assert_close(out, expected, **TOL)
    for a, b in zip(torch.autograd.grad(out.sum(), (x_proj, gh, state)),
                    torch.autograd.grad(expected.sum(), (x_proj, gh, state))):
        assert_close(a, b, **TOL)
