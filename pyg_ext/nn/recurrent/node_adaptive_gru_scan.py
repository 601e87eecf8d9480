r"""AGCRN's gated recurrent unit run over a whole sequence as one autograd function, with a
hand-written backward through time.

Dimensions: T - time, B - batch, N - nodes, H - hidden size, O - output channels of a gate
map, K - Chebyshev polynomials.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable
from torch_geometric import is_compiling

from pyg_ext.blocks.recurrent import Recurrent
from pyg_ext.nn.conv.node_filters import NodeFilters

# grad * y * (1 - y) and grad * (1 - y^2) from the outputs y, each in one pass
_sigmoid_backward = torch.ops.aten.sigmoid_backward.grad_input
_tanh_backward = torch.ops.aten.tanh_backward.grad_input


def node_adaptive_gru_scan(cell: nn.Module, x_proj: Tensor, adj: Tensor,
                           filters: Union[Tensor, NodeFilters],
                           state: Optional[Tensor] = None) -> Tensor:
    r"""Runs the recurrent part of an AGCRN cell (:meth:`GraphGRUCell.agcrn
    <pyg_ext.nn.recurrent.GraphGRUCell.agcrn>`, a reset-before GRU whose hidden and
    candidate maps are :class:`~pyg_ext.nn.conv.NodeAdaptiveConv` layers) over all
    :math:`T` steps,

    .. math::
        [\mathbf{r}_t, \mathbf{z}_t] &= \sigma\big(\mathbf{a}^{rz}_t +
        \textstyle\sum_k T_k(\mathbf{A}) \mathbf{H}_{t-1} \mathbf{\Theta}^{h}_{k} +
        \mathbf{b}^{h}\big), \qquad \mathbf{S}_t = \mathbf{r}_t \odot \mathbf{H}_{t-1}

        \mathbf{\tilde{H}}_t &= \tanh\big(\mathbf{a}^{n}_t + \textstyle\sum_k
        T_k(\mathbf{A}) \mathbf{S}_t \mathbf{\Theta}^{c}_{k} + \mathbf{b}^{c}\big), \qquad
        \mathbf{H}_t = \mathbf{z}_t \odot \mathbf{H}_{t-1} + (1 - \mathbf{z}_t) \odot
        \mathbf{\tilde{H}}_t

    (node-specific filters :math:`\mathbf{\Theta}_{n,k}`, applied per node), given the
    input projection :math:`\mathbf{a}_t = [\mathbf{a}^{rz}_t, \mathbf{a}^{n}_t]` of all
    steps (:meth:`GraphGRUCell.input_projection`). It computes exactly what
    :meth:`Recurrent.unroll <pyg_ext.blocks.Recurrent.unroll>` computes with the same cell,
    in one :class:`torch.autograd.Function` whose backward is written out:

    - the gradients of the filters and the biases are not accumulated step by step: the
      forward keeps every step's polynomials in ``[N, T, B, H]`` buffers, and the backward
      computes each filter's gradient as one batched matmul over all :math:`T B` rows at
      the end (autograd would run :math:`T` smaller products and :math:`T` additions); the
      graph's gradient is added in place step by step;
    - the first step from a zero state skips the products that would multiply zeros (its
      hidden and candidate maps are their biases);
    - the gradient of the input projection is written into one ``[N, T, B, 3H]`` tensor
      (autograd concatenates the gate gradients of every step, then stacks the steps);
    - everything stays nodes first, so each propagation by :math:`\mathbf{A}` is one
      ``[N, N]`` matmul over all batch elements without a copy;
    - each gate's pre-activation starts as its input projection plus bias in a contiguous
      step buffer, into which the map's products accumulate, and on the CPU the candidate's
      :math:`\tanh` is computed as :math:`2\sigma(2x) - 1` (:func:`_tanh_`).

    Differentiable once (no double backward).

    Args:
        cell (GraphGRUCell): An AGCRN cell: reset-before, NodeAdaptiveConv gate maps.
        x_proj (torch.Tensor): The cell's input projection of the whole sequence, time
            first.
        adj (torch.Tensor): The dense adjacency :math:`\mathbf{A}`.
        filters (NodeFilters or torch.Tensor): The node embeddings of this forward pass
            (``[N, D]``, or a :class:`~pyg_ext.nn.conv.NodeFilters` of them), which
            generate the filters of the cell's hidden and candidate maps.
        state (torch.Tensor, optional): The initial state, :obj:`None` for zeros.

    Shapes:
        - **input:** x_proj :math:`(T, B, N, 3H)`, adj :math:`(N, N)`, state
          :math:`(B, N, H)` *(optional)*
        - **output:** the states of all steps, :math:`(T, B, N, H)` (a view whose memory
          is ``[N, T, B, H]``)
    """
    hidden_map, candidate_map = cell.hidden_map, cell.candidate_map
    K = hidden_map.K
    if candidate_map.K != K:
        raise ValueError(f'the hidden map has K={K} but the candidate map K='
                         f'{candidate_map.K}; the scan needs one K for both')
    H = cell.hidden_size
    if x_proj.dim() != 4 or x_proj.size(-1) != 3 * H:
        raise ValueError(f"'x_proj' has shape {list(x_proj.shape)}; expected [T, B, N, 3H] "
                         f"with H = {cell.hidden_size}, the input projection of the cell")
    if not isinstance(filters, NodeFilters):
        filters = NodeFilters(filters)
    hidden_w, hidden_b = filters.get(hidden_map)
    cand_w, cand_b = filters.get(candidate_map)
    xp = x_proj.movedim(2, 0).contiguous()  # [N, T, B, 3H] (a view for nodes-first memory)
    h0 = None if state is None else state.movedim(1, 0).contiguous()  # [N, B, H]
    out = _NodeAdaptiveGRUScan.apply(xp, h0, adj, hidden_b, cand_b, K,
                                     *hidden_w, *cand_w)  # [N, T, B, H]
    return out.movedim(0, 2)  # [T, B, N, H]


def node_adaptive_gru_unroll(cell: nn.Module, x: Tensor, state: Optional[Tensor],
                             adj: Tensor, filters: Union[Tensor, NodeFilters],
                             reverse: bool = False) -> Tuple[Tensor, Tensor]:
    r"""One layer of an AGCRN cell over a sequence ``x [B, T, N, F]``, with the signature
    and result of :meth:`Recurrent.unroll <pyg_ext.blocks.Recurrent.unroll>`: the input
    projection of all steps in one call, then :func:`node_adaptive_gru_scan`. Pass it as
    :class:`~pyg_ext.blocks.Recurrent`'s :obj:`scan` to run a stack of AGCRN cells with the
    fused recurrence. Falls back to :meth:`Recurrent.unroll` backwards in time
    (:obj:`reverse=True`), for an empty sequence (its error) and under
    :func:`torch.compile` (which traces the step-by-step unroll, not the hand-written
    backward).

    Shapes:
        - **input:** x :math:`(B, T, N, F)`, state :math:`(B, N, H)` or :obj:`None`, adj
          :math:`(N, N)`, filters :math:`(N, D)`
        - **output:** ``(output (B, T, N, H), final state (B, N, H))``
    """
    if reverse or x.dim() != 4 or x.size(1) == 0 or is_compiling():
        return Recurrent.unroll(cell, x, state, adj, filters, reverse=reverse)
    x_proj = cell.input_projection(x.transpose(0, 1), adj, filters)  # [T, B, N, 3H]
    out = node_adaptive_gru_scan(cell, x_proj, adj, filters, state)  # [T, B, N, H]
    return out.transpose(0, 1), out[-1]  # [B, T, N, H], [B, N, H]


def _preactivation(xp: Tensor, bias: Optional[Tensor], out: Tensor) -> Tensor:
    r"""``xp + bias`` written into :obj:`out` (``[N, B, O]``), where a gate map's products
    then accumulate: one pass instead of a bias broadcast and a separate addition."""
    if bias is None:
        return out.copy_(xp)
    return torch.add(xp, bias.unsqueeze(1), out=out)


def _poly_filter_(adj: Tensor, x: Tensor, weights: Sequence[Tensor], out: Tensor,
                  polys: List[Tensor]) -> Tensor:
    r"""Adds :math:`\sum_k T_k(\mathbf{A}) \mathbf{x} \mathbf{\Theta}_k` per node for
    ``x [N, B, H]`` to ``out [N, B, O]`` in place; writes :math:`T_k(\mathbf{A}) \mathbf{x}`
    (:math:`k \geq 1`) into the ``[N, B, H]`` buffers :obj:`polys`. Returns :obj:`out`."""
    N = x.size(0)
    out.baddbmm_(x, weights[0])
    prev, cur = None, x
    for k in range(1, len(weights)):
        buf = polys[k - 1]
        torch.mm(adj, cur.reshape(N, -1), out=buf.view(N, -1))
        if k >= 2:
            buf.mul_(2.0).sub_(prev)
        out.baddbmm_(buf, weights[k])
        prev, cur = cur, buf
    return out


def _tanh_(x: Tensor) -> Tensor:
    r""":math:`\tanh` in place. On the CPU as :math:`2 \sigma(2x) - 1`: torch's CPU
    :func:`torch.tanh` takes about four times as long as these four passes together
    (2.15 against 0.50 ms on ``[207, 64, 64]``, one thread; the absolute difference is
    under 2e-7)."""
    if x.device.type != 'cpu':
        return x.tanh_()
    return x.mul_(2.0).sigmoid_().mul_(2.0).sub_(1.0)


def _poly_filter_backward(adj: Tensor, grad: Tensor, weights: Sequence[Tensor], x: Tensor,
                          polys: Sequence[Tensor], grad_adj: Optional[Tensor],
                          grad_x: Optional[Tensor] = None) -> Tensor:
    r"""The gradient of :func:`_poly_filter_` with respect to ``x [N, B, H]``, given the
    output gradient ``grad [N, B, O]``, added to :obj:`grad_x` in place if given; adds the
    graph's gradient into :obj:`grad_adj`. The filters' gradients are left to the caller
    (one product over all steps)."""
    N = x.size(0)
    # weights[k] is a transposed view of an [N, O, H] tensor: these products read it as
    # stored, the fast operand layout of torch's CPU bmm
    if grad_x is None:
        grad_x = torch.bmm(grad, weights[0].transpose(1, 2))  # [N, B, H]
    else:
        grad_x.baddbmm_(grad, weights[0].transpose(1, 2))
    d = [grad_x] + [torch.bmm(grad, w.transpose(1, 2)) for w in weights[1:]]  # K x [N, B, H]
    for k in range(len(weights) - 1, 0, -1):
        # P_k = c A P_{k-1} - [k >= 2] P_{k-2}, c = 2 for k >= 2 (Chebyshev), else 1
        c = 1.0 if k == 1 else 2.0
        g = d[k].view(N, -1)  # [N, B H]
        before = x if k == 1 else polys[k - 2]  # P_{k-1}
        if grad_adj is not None:
            grad_adj.addmm_(g, before.reshape(N, -1).t(), alpha=c)
        d[k - 1].view(N, -1).addmm_(adj.t(), g, alpha=c)
        if k >= 2:
            d[k - 2].sub_(d[k])
    return grad_x


def _first_step_from_zeros(xp: Tensor, hidden_b: Optional[Tensor], cand_b: Optional[Tensor],
                           rz: Tensor, n: Tensor, out: Tensor, zero: List[Tensor]) -> None:
    r"""The first step from :math:`\mathbf{H}_0 = 0`, without the products that would
    multiply zeros: the hidden and candidate maps reduce to their biases, and
    :math:`\mathbf{H}_1 = (1 - \mathbf{z}) \odot \mathbf{\tilde{H}}`. Writes ``rz``,
    ``n``, ``out`` (``[N, B, *]``) and zeros into the buffers :obj:`zero` (``s`` and the
    polynomials, which the backward's filter gradients read)."""
    H = n.size(-1)
    _preactivation(xp[..., :2 * H], hidden_b, rz).sigmoid_()
    _tanh_(_preactivation(xp[..., 2 * H:], cand_b, n))
    torch.addcmul(n, n, rz[..., H:], value=-1.0, out=out)  # (1 - z) n
    for buf in zero:
        buf.zero_()


def _first_step_backward(g: Tensor, rz: Tensor, n: Tensor, grad_xp: Tensor) -> None:
    r"""The gradient of :func:`_first_step_from_zeros`'s input projection ``grad_xp
    [N, B, 3H]``, given that of its output ``g [N, B, H]``: the reset gate reads a zero
    state (no gradient), the state itself needs none."""
    H = n.size(-1)
    z = rz[..., H:]
    _tanh_backward(g - g * z, n, grad_input=grad_xp[..., 2 * H:])
    _sigmoid_backward(-g * n, z, grad_input=grad_xp[..., H:2 * H])
    grad_xp[..., :H].zero_()


def _filter_grads(rows: Sequence[Tensor], grad: Tensor) -> Tuple[Tensor, ...]:
    r"""Each filter's gradient over all steps at once: ``rows[k] [N, T B, H]`` (the
    polynomials of every step), ``grad [N, T B, O]`` -> ``K x [N, H, O]``, each a
    transposed view of an ``[N, O, H]`` tensor (the layout the filters are stored in)."""
    return tuple(torch.bmm(grad.transpose(1, 2), p).transpose(1, 2) for p in rows)


class _NodeAdaptiveGRUScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xp: Tensor, h0: Optional[Tensor], adj: Tensor,
                hidden_b: Optional[Tensor], cand_b: Optional[Tensor], K: int,
                *weights: Tensor) -> Tensor:
        N, T, B, G = xp.shape
        H = G // 3
        # the filters arrive as transposed views of [N, O, H] tensors, the layout the
        # backward's products read fast; the forward's products get a copy laid out
        # [N, H, O] (torch's CPU bmm is about 2x slower with a transposed second operand)
        hidden_w = [w.contiguous() for w in weights[:K]]
        cand_w = [w.contiguous() for w in weights[K:]]
        new = xp.new_empty
        out = new(N, T, B, H)
        rz_all = new(N, T, B, 2 * H)  # sigmoid outputs r, z
        n_all = new(N, T, B, H)  # candidate state
        s_all = new(N, T, B, H)  # r * h_{t-1}
        hp = [new(N, T, B, H) for _ in range(K - 1)]  # T_k(A) h_{t-1}, k >= 1
        sp = [new(N, T, B, H) for _ in range(K - 1)]  # T_k(A) s_t, k >= 1
        pre_rz, pre_n = new(N, B, 2 * H), new(N, B, H)  # a step's gate pre-activations
        h = h0
        if h0 is None:  # a zero initial state: its maps are the biases, its polynomials 0
            _first_step_from_zeros(xp[:, 0], hidden_b, cand_b, rz_all[:, 0], n_all[:, 0],
                                   out[:, 0], [s_all[:, 0]] + [p[:, 0] for p in hp + sp])
            h = out[:, 0]
        for t in range(0 if h0 is not None else 1, T):
            # each gate's pre-activation starts as its input projection plus bias, and
            # the map's products accumulate into it, in a contiguous buffer (bmm writes
            # about 25% slower into a step of the [N, T, B, *] buffers)
            pre = _preactivation(xp[:, t, :, :2 * H], hidden_b, pre_rz)
            _poly_filter_(adj, h, hidden_w, pre, [p[:, t] for p in hp])
            rz = torch.sigmoid(pre, out=rz_all[:, t])
            r, z = rz[..., :H], rz[..., H:]
            s = torch.mul(r, h, out=s_all[:, t])
            pre = _preactivation(xp[:, t, :, 2 * H:], cand_b, pre_n)
            _poly_filter_(adj, s, cand_w, pre, [p[:, t] for p in sp])
            n = n_all[:, t].copy_(_tanh_(pre))
            h = torch.lerp(n, h, z, out=out[:, t])  # z h + (1 - z) n
        ctx.K = K
        ctx.has_h0 = h0 is not None
        ctx.has_bias = (hidden_b is not None, cand_b is not None)
        ctx.save_for_backward(h0 if h0 is not None else xp.new_empty(0), adj, out, rz_all,
                              n_all, s_all, *hp, *sp, *weights)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor):
        K = ctx.K
        h0, adj, out, rz_all, n_all, s_all, *rest = ctx.saved_tensors
        hp, sp, weights = rest[:K - 1], rest[K - 1:2 * K - 2], rest[2 * K - 2:]
        hidden_w, cand_w = weights[:K], weights[K:]
        N, T, B, H = out.shape
        grad_xp = out.new_empty(N, T, B, 3 * H)
        grad_adj = adj.new_zeros(N, N) if ctx.needs_input_grad[2] else None
        dh = out.new_zeros(N, B, H)
        g_buf = torch.empty_like(dh)
        for t in range(T - 1, -1, -1):
            if t == 0 and not ctx.has_h0:  # from a zero state: only the gates' gradients
                _first_step_backward(torch.add(grad_out[:, 0], dh, out=g_buf),
                                     rz_all[:, 0], n_all[:, 0], grad_xp[:, 0])
                break
            h_prev = out[:, t - 1] if t > 0 else h0
            # gradient of h_t; grad_out may have any layout (e.g. a readout's zero-filled
            # [B, T, N, H]), this buffer keeps the step's products nodes first
            g = torch.add(grad_out[:, t], dh, out=g_buf)  # [N, B, H]
            r, z = rz_all[:, t, :, :H], rz_all[:, t, :, H:]
            n = n_all[:, t]
            # h_t = z h_{t-1} + (1 - z) n: one pass per gradient, the sigmoid's and tanh's
            # derivatives from their outputs in the same pass as the product
            dh = g * z
            _tanh_backward(g - dh, n, grad_input=grad_xp[:, t, :, 2 * H:])  # a_n
            _sigmoid_backward(g * (h_prev - n), z, grad_input=grad_xp[:, t, :, H:2 * H])
            # candidate C(s), s = r h_{t-1}
            ds = _poly_filter_backward(adj, grad_xp[:, t, :, 2 * H:], cand_w, s_all[:, t],
                                       [p[:, t] for p in sp], grad_adj)
            _sigmoid_backward(ds * h_prev, r, grad_input=grad_xp[:, t, :, :H])
            dh.addcmul_(ds, r)
            _poly_filter_backward(adj, grad_xp[:, t, :, :2 * H], hidden_w, h_prev,
                                  [p[:, t] for p in hp], grad_adj, grad_x=dh)
        grad_flat = grad_xp.view(N, T * B, 3 * H)
        d_rz, d_n = grad_flat[..., :2 * H], grad_flat[..., 2 * H:]
        # h_{t-1} of every step: the outputs shifted by one after h0; from a zero state the
        # first step's rows add nothing to the first filter and are left out
        if ctx.has_h0:
            h_prev_all = torch.cat([h0.unsqueeze(1), out[:, :T - 1]], dim=1)
            first = _filter_grads([h_prev_all.view(N, T * B, H)], d_rz)
        else:
            first = _filter_grads([out[:, :T - 1].reshape(N, (T - 1) * B, H)], d_rz[:, B:])
        grad_hidden = first + _filter_grads([p.view(N, T * B, H) for p in hp], d_rz)
        grad_cand = _filter_grads([s_all.view(N, T * B, H)]
                                  + [p.view(N, T * B, H) for p in sp], d_n)
        grad_hb = d_rz.sum(1) if ctx.has_bias[0] else None
        grad_cb = d_n.sum(1) if ctx.has_bias[1] else None
        grad_h0 = dh if ctx.has_h0 else None
        return (grad_xp, grad_h0, grad_adj, grad_hb, grad_cb, None, *grad_hidden,
                *grad_cand)
