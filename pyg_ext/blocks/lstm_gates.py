r"""The pointwise part of a long short-term memory step as one autograd function that saves
only what its hand-written backward needs.

Dimensions: B - batch, N - nodes (optional), H - hidden size.
``*`` stands for the leading dimensions of one time step (``[B]`` or ``[B, N]``).
"""
from typing import Optional, Tuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable


def lstm_gates(x_proj: Tensor, gh: Tensor, c: Tensor, weight_ci: Optional[Tensor] = None,
               weight_cf: Optional[Tensor] = None,
               weight_co: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    r"""The gates of a long short-term memory cell from the `"Long Short-Term Memory"
    <https://doi.org/10.1162/neco.1997.9.8.1735>`_ paper, with the optional peephole
    weights of the `"Recurrent Nets that Time and Count"
    <https://doi.org/10.1109/IJCNN.2000.861302>`_ paper, given the two gate maps' outputs
    :math:`\mathbf{a}` (:obj:`x_proj`, the input map) and :math:`\mathbf{b}` (:obj:`gh`, the
    hidden map) in torch's gate order :math:`(i, f, g, o)`:

    .. math::
        \mathbf{i} &= \sigma(\mathbf{a}_i + \mathbf{b}_i + \mathbf{w}_{ci} \odot
        \mathbf{c}), \quad \mathbf{f} = \sigma(\mathbf{a}_f + \mathbf{b}_f +
        \mathbf{w}_{cf} \odot \mathbf{c}), \quad \mathbf{g} = \tanh(\mathbf{a}_g +
        \mathbf{b}_g)

        \mathbf{c}' &= \mathbf{f} \odot \mathbf{c} + \mathbf{i} \odot \mathbf{g}, \quad
        \mathbf{o} = \sigma(\mathbf{a}_o + \mathbf{b}_o + \mathbf{w}_{co} \odot
        \mathbf{c}'), \quad \mathbf{h}' = \mathbf{o} \odot \tanh(\mathbf{c}')

    where a peephole term vanishes when its weight is :obj:`None`. Written with autograd
    ops these lines keep :math:`5H` numbers per row for the backward pass besides
    :math:`\mathbf{c}` (the four activations and :math:`\tanh(\mathbf{c}')`; :math:`6H`
    with peepholes, which also keep :math:`\mathbf{c}'`). This function keeps the four
    activations (:math:`4H`), :math:`\mathbf{c}` and :math:`\mathbf{c}'`, and recomputes
    :math:`\tanh(\mathbf{c}')` in the backward pass; since :math:`\mathbf{c}'` is the
    :math:`\mathbf{c}` of the next step, a sequence keeps :math:`4H` per step instead of
    :math:`5H` (or :math:`6H`). The gradients, for incoming :math:`\mathbf{g}_h,
    \mathbf{g}_c`:

    .. math::
        \delta\mathbf{a}_o &= \mathbf{g}_h \odot \tanh(\mathbf{c}') \odot \mathbf{o} \odot
        (1 - \mathbf{o}), \quad \delta\mathbf{c}' = \mathbf{g}_c + \mathbf{g}_h \odot
        \mathbf{o} \odot (1 - \tanh^2(\mathbf{c}')) + \mathbf{w}_{co} \odot
        \delta\mathbf{a}_o

        \delta\mathbf{a}_i &= \delta\mathbf{c}' \odot \mathbf{g} \odot \mathbf{i} \odot
        (1 - \mathbf{i}), \quad \delta\mathbf{a}_f = \delta\mathbf{c}' \odot \mathbf{c}
        \odot \mathbf{f} \odot (1 - \mathbf{f}), \quad \delta\mathbf{a}_g =
        \delta\mathbf{c}' \odot \mathbf{i} \odot (1 - \mathbf{g}^2)

        \delta\mathbf{c} &= \delta\mathbf{c}' \odot \mathbf{f} + \mathbf{w}_{ci} \odot
        \delta\mathbf{a}_i + \mathbf{w}_{cf} \odot \delta\mathbf{a}_f

    with :math:`\delta\mathbf{a} = \delta\mathbf{b}` and each peephole weight's gradient
    the sum over rows of its gate's :math:`\delta` times the cell state it multiplies. When
    no input needs a gradient (or under :func:`torch.no_grad`) the plain ops run and nothing
    is saved. The backward is differentiable once (no double backward); it traces under
    :func:`torch.compile` without graph breaks.

    Args:
        x_proj (torch.Tensor): The input map's output :math:`\mathbf{a}`.
        gh (torch.Tensor): The hidden map's output :math:`\mathbf{b}`.
        c (torch.Tensor): The cell state :math:`\mathbf{c}`.
        weight_ci (torch.Tensor, optional): Peephole weight :math:`\mathbf{w}_{ci}`.
            (default: :obj:`None`)
        weight_cf (torch.Tensor, optional): Peephole weight :math:`\mathbf{w}_{cf}`.
            (default: :obj:`None`)
        weight_co (torch.Tensor, optional): Peephole weight :math:`\mathbf{w}_{co}`.
            (default: :obj:`None`)

    Shapes:
        - **input:** x_proj :math:`(*, 4H)`, gh :math:`(*, 4H)`, c :math:`(*, H)` (leading
          dimensions broadcast), peephole weights :math:`(H)`
        - **output:** ``(h', c')``, each :math:`(*, H)`
    """
    inputs = (x_proj, gh, c, weight_ci, weight_cf, weight_co)
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in inputs):
        return _LSTMGates.apply(*inputs)
    gates, c_new = _forward(*inputs)
    return gates[..., 3 * c.size(-1):] * torch.tanh(c_new), c_new


def _forward(x_proj: Tensor, gh: Tensor, c: Tensor, weight_ci: Optional[Tensor],
             weight_cf: Optional[Tensor],
             weight_co: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
    r"""The activated gates ``[i, f, g, o]`` ``[*, 4H]`` and ``c' [*, H]``, in place in one
    new buffer."""
    gates = torch.add(x_proj, gh)  # [*, 4H]
    lead = torch.broadcast_shapes(gates.shape[:-1], c.shape[:-1])
    if gates.shape[:-1] != lead:  # c has more rows: the gates act in place on every row
        gates = gates.expand(lead + gates.shape[-1:]).clone()  # [*, 4H]
    i, f, g, o = gates.chunk(4, dim=-1)  # [*, H] each
    if weight_ci is not None:
        i.addcmul_(weight_ci, c)
    if weight_cf is not None:
        f.addcmul_(weight_cf, c)
    i.sigmoid_()
    f.sigmoid_()
    g.tanh_()
    c_new = torch.mul(f, c).addcmul_(i, g)  # [*, H]
    if weight_co is not None:
        o.addcmul_(weight_co, c_new)
    o.sigmoid_()
    return gates, c_new


def _sum_to(grad: Tensor, shape: torch.Size) -> Tensor:
    return grad if grad.shape == shape else grad.sum_to_size(shape)


class _LSTMGates(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_proj: Tensor, gh: Tensor, c: Tensor, weight_ci: Optional[Tensor],
                weight_cf: Optional[Tensor], weight_co: Optional[Tensor]):
        gates, c_new = _forward(x_proj, gh, c, weight_ci, weight_cf, weight_co)
        h_new = gates[..., 3 * c.size(-1):] * torch.tanh(c_new)  # [*, H]
        ctx.save_for_backward(gates, c, c_new, weight_ci, weight_cf, weight_co)
        ctx.shapes = (x_proj.shape, gh.shape, c.shape)
        return h_new, c_new

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_h: Tensor, grad_c: Tensor):
        # in place into the [*, 4H] gradient and one [*, H] buffer (for the gradient of c')
        gates, c, c_new, weight_ci, weight_cf, weight_co = ctx.saved_tensors
        x_shape, gh_shape, c_shape = ctx.shapes
        i, f, g, o = gates.chunk(4, dim=-1)  # [*, H] each
        grad_a = gates.new_empty(gates.shape)  # [*, 4H]
        da_i, da_f, da_g, da_o = grad_a.chunk(4, dim=-1)  # [*, H] each
        dc_new = torch.tanh(c_new)  # [*, H], tanh(c') for now
        da_o.copy_(dc_new).mul_(grad_h).mul_(o)  # g_h tanh(c') o
        da_o.addcmul_(da_o, o, value=-1)  # g_h tanh(c') o (1 - o)
        dc_new.mul_(dc_new).sub_(1).mul_(o).mul_(grad_h).neg_()  # g_h o (1 - tanh^2(c'))
        dc_new.add_(grad_c)
        if weight_co is not None:
            dc_new.addcmul_(weight_co, da_o)
        da_i.copy_(dc_new).mul_(g).mul_(i)  # dc' g i
        da_i.addcmul_(da_i, i, value=-1)  # dc' g i (1 - i)
        da_f.copy_(dc_new).mul_(c).mul_(f)  # dc' c f
        da_f.addcmul_(da_f, f, value=-1)  # dc' c f (1 - f)
        da_g.copy_(g).mul_(g).sub_(1).mul_(i).mul_(dc_new).neg_()  # dc' i (1 - g^2)
        need = ctx.needs_input_grad
        grads = [None] * 6
        grads[0] = _sum_to(grad_a, x_shape) if need[0] else None
        grads[1] = _sum_to(grad_a, gh_shape) if need[1] else None
        for k, (w, da, state) in enumerate(((weight_ci, da_i, c), (weight_cf, da_f, c),
                                            (weight_co, da_o, c_new))):
            if w is not None and need[3 + k]:
                grads[3 + k] = (da * state).sum_to_size(w.shape)  # [H]
        if need[2]:
            dc = dc_new.mul_(f)  # [*, H], in place: dc' is not needed any more
            if weight_ci is not None:
                dc.addcmul_(weight_ci, da_i)
            if weight_cf is not None:
                dc.addcmul_(weight_cf, da_f)
            grads[2] = _sum_to(dc, c_shape)
        return tuple(grads)
