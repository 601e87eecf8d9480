import pytest
import torch
from torch.testing import assert_close

from pyg_ext.blocks.recurrent import Recurrent
from pyg_ext.nn.conv.node_filters import NodeFilters
from pyg_ext.nn.recurrent.graph_gru_cell import GraphGRUCell
from pyg_ext.nn.recurrent.node_adaptive_gru_scan import (
    _tanh_,
    node_adaptive_gru_scan,
    node_adaptive_gru_unroll,
)

T, B, N, F, H, D = 4, 3, 5, 2, 4, 3
TOL = dict(atol=1e-10, rtol=1e-9)


def make(K, bias=True):
    cell = GraphGRUCell.agcrn(F, H, K, D, bias=bias).double()
    for p in cell.parameters():  # non-zero biases, filters large enough to matter
        torch.nn.init.normal_(p, std=0.4)
    emb = torch.randn(N, D, dtype=torch.double, requires_grad=True)
    adj = torch.rand(N, N, dtype=torch.double).softmax(1).requires_grad_()
    x = torch.randn(B, T, N, F, dtype=torch.double, requires_grad=True)
    return cell, emb, adj, x


def dense_conv(conv, x, adj, emb):
    """The paper's NAPL graph convolution, written densely: sum_k T_k(A) X Theta_{n,k} + b_n,
    with Theta_{n,k} = sum_d e_{n,d} W_pool[d, k]."""
    cheb = [torch.eye(N, dtype=x.dtype), adj]
    while len(cheb) < conv.K:
        cheb.append(2 * adj @ cheb[-1] - cheb[-2])
    theta = torch.einsum('nd,dkio->nkio', emb, conv.weight_pool)
    out = sum(torch.einsum('nm,bmi,nio->bno', cheb[k], x, theta[:, k]) for k in range(conv.K))
    return out if conv.bias_pool is None else out + emb @ conv.bias_pool


def dense_gru(cell, x, adj, emb, h):
    """The reset-before graph GRU of AGCRN, step by step from the dense convolution."""
    outs = []
    for t in range(x.size(1)):
        a = dense_conv(cell.input_map, x[:, t], adj, emb)
        rz = torch.sigmoid(a[..., :2 * H] + dense_conv(cell.hidden_map, h, adj, emb))
        r, z = rz[..., :H], rz[..., H:]
        n = torch.tanh(a[..., 2 * H:] + dense_conv(cell.candidate_map, r * h, adj, emb))
        h = z * h + (1 - z) * n
        outs.append(h)
    return torch.stack(outs, 1)  # [B, T, N, H]


def scan(cell, x, adj, emb, state=None):
    """The scan, [B, T, N, F] in and out."""
    filters = NodeFilters(emb)
    x_proj = cell.input_projection(x.transpose(0, 1), adj, filters)  # [T, B, N, 3H]
    return node_adaptive_gru_scan(cell, x_proj, adj, filters, state).transpose(0, 1)


def grads(out, tensors, seed=0):
    weight = torch.randn(out.shape, dtype=out.dtype,
                         generator=torch.Generator().manual_seed(seed))
    got = torch.autograd.grad((out * weight).sum(), tensors, allow_unused=True)
    # with K = 1 the graph is not read: no gradient, or zeros
    return [torch.zeros_like(t) if g is None else g for t, g in zip(tensors, got)]


@pytest.mark.parametrize('K', [1, 2, 3])
@pytest.mark.parametrize('bias', [True, False])
@pytest.mark.parametrize('with_state', [False, True])
def test_equals_the_dense_formula_in_values_and_gradients(K, bias, with_state):
    cell, emb, adj, x = make(K, bias)
    h0 = torch.randn(B, N, H, dtype=torch.double, requires_grad=True) if with_state else None
    out = scan(cell, x, adj, emb, h0)
    zeros = torch.zeros(B, N, H, dtype=torch.double)
    expected = dense_gru(cell, x, adj, emb, h0 if with_state else zeros)
    assert out.shape == (B, T, N, H)
    assert_close(out, expected, **TOL)
    tensors = [x, emb, adj, *cell.parameters()] + ([h0] if with_state else [])
    for i, (got, want) in enumerate(zip(grads(out, tensors), grads(expected, tensors))):
        assert want.abs().sum() > 0 or (K == 1 and tensors[i] is adj)
        assert_close(got, want, **TOL)


@pytest.mark.parametrize('K', [2, 3])
def test_equals_the_step_by_step_unroll(K):
    cell, emb, adj, x = make(K)
    out = scan(cell, x, adj, emb)
    expected, _ = Recurrent.unroll(cell, x, None, adj, NodeFilters(emb))
    assert_close(out, expected, **TOL)
    tensors = [x, emb, adj, *cell.parameters()]
    for got, want in zip(grads(out, tensors, 1), grads(expected, tensors, 1)):
        assert_close(got, want, **TOL)


@pytest.mark.parametrize('reverse', [False, True])
def test_unroll_wrapper_equals_recurrent_unroll_with_state(reverse):
    # the wrapper Recurrent takes as its scan: outputs, final state and gradients of
    # Recurrent.unroll, from a given state; backwards in time it is that unroll
    cell, emb, adj, x = make(2)
    h0 = torch.randn(B, N, H, dtype=torch.double, requires_grad=True)
    out, last = node_adaptive_gru_unroll(cell, x, h0, adj, NodeFilters(emb), reverse=reverse)
    expected, expected_last = Recurrent.unroll(cell, x, h0, adj, NodeFilters(emb),
                                               reverse=reverse)
    assert_close(out, expected, **TOL)
    assert_close(last, expected_last, **TOL)
    tensors = [x, h0, emb, adj, *cell.parameters()]
    for got, want in zip(grads(out, tensors, 2), grads(expected, tensors, 2)):
        assert_close(got, want, **TOL)
    stack = Recurrent([cell, GraphGRUCell.agcrn(H, H, 2, D).double()],
                      scan=node_adaptive_gru_unroll)
    reference = Recurrent(list(stack.cells))
    filters = NodeFilters(emb)
    assert_close(stack(x, None, adj, filters)[0], reference(x, None, adj, filters)[0], **TOL)


def test_gradcheck():
    cell, emb, adj, x = make(3)
    h0 = torch.randn(B, N, H, dtype=torch.double, requires_grad=True)
    x_proj = cell.input_projection(x.transpose(0, 1), adj, NodeFilters(emb)).detach()
    x_proj.requires_grad_()

    def fn(x_proj, adj, emb, h0):
        return node_adaptive_gru_scan(cell, x_proj, adj, NodeFilters(emb), h0)

    assert torch.autograd.gradcheck(fn, (x_proj, adj, emb, h0))


def test_only_the_last_step_read():
    # A readout of the last step only (AGCRN's): the zero-filled output gradient of the
    # other steps arrives in another memory layout than the scan's output.
    cell, emb, adj, x = make(2)
    out = scan(cell, x, adj, emb)[:, -1]
    expected = dense_gru(cell, x, adj, emb, torch.zeros(B, N, H, dtype=torch.double))[:, -1]
    tensors = [x, emb, adj, *cell.parameters()]
    for got, want in zip(grads(out, tensors), grads(expected, tensors)):
        assert_close(got, want, **TOL)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_cpu_tanh_equals_torch_tanh(dtype):
    # 2 sigmoid(2x) - 1, in place: within a few float32 ulps of torch.tanh, saturating to
    # +-1 and passing infinities and NaN through as tanh does
    x = torch.cat([torch.linspace(-20, 20, 4001, dtype=dtype),
                   torch.tensor([0.0, 1e-8, -1e-8, float('inf'), -float('inf')], dtype=dtype)])
    want = torch.tanh(x)
    got = x.clone()
    assert _tanh_(got).data_ptr() == got.data_ptr()  # in place
    atol = 3e-7 if dtype == torch.float32 else 1e-15
    assert_close(got, want, atol=atol, rtol=0)
    assert got.abs().max() <= 1
    assert torch.isnan(_tanh_(torch.tensor([float('nan')], dtype=dtype))).all()


def test_errors():
    cell, emb, adj, x = make(2)
    x_proj = cell.input_projection(x.transpose(0, 1), adj, NodeFilters(emb))
    with pytest.raises(ValueError, match=r'expected \[T, B, N, 3H\]'):
        node_adaptive_gru_scan(cell, x_proj[..., :-1], adj, NodeFilters(emb))
    other = GraphGRUCell.agcrn(F, H, 3, D).double()
    cell.candidate_map = other.candidate_map
    with pytest.raises(ValueError, match='one K for both'):
        node_adaptive_gru_scan(cell, x_proj, adj, NodeFilters(emb))
