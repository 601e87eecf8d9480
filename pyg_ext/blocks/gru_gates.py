r"""The pointwise part of a gated recurrent unit step as one autograd function that saves
only what its hand-written backward needs.

Dimensions: B - batch, N - nodes (optional), H - hidden size.
``*`` stands for the leading dimensions of one time step (``[B]`` or ``[B, N]``).
"""
import torch
from torch import Tensor
from torch.autograd.function import once_differentiable


def gru_gates(x_proj: Tensor, gh: Tensor, state: Tensor) -> Tensor:
    r"""The gates of a gated recurrent unit with the reset gate applied after the hidden
    map (:obj:`reset_after=True`, the form of :class:`torch.nn.GRUCell` and cuDNN) from
    the `"Learning Phrase Representations using RNN Encoder-Decoder for Statistical Machine
    Translation" <https://arxiv.org/abs/1406.1078>`_ paper, given the two gate maps'
    outputs :math:`\mathbf{a} = [\mathbf{a}_r, \mathbf{a}_z, \mathbf{a}_n]`
    (:obj:`x_proj`, the input map) and :math:`\mathbf{b} = [\mathbf{b}_r, \mathbf{b}_z,
    \mathbf{b}_n]` (:obj:`gh`, the hidden map), in torch's gate order :math:`(r, z, n)`:

    .. math::
        \mathbf{r} &= \sigma(\mathbf{a}_r + \mathbf{b}_r), \quad
        \mathbf{z} = \sigma(\mathbf{a}_z + \mathbf{b}_z)

        \mathbf{n} &= \tanh(\mathbf{a}_n + \mathbf{r} \odot \mathbf{b}_n)

        \mathbf{h}' &= \mathbf{n} + \mathbf{z} \odot (\mathbf{h} - \mathbf{n})

    Written with autograd ops these lines keep about :math:`7H` numbers per row for the
    backward pass (the sigmoid's output, the whole of :math:`\mathbf{b}` through the view
    :math:`\mathbf{b}_n`, :math:`\mathbf{n}` and :math:`\mathbf{h} - \mathbf{n}`). This
    function keeps :math:`4H` (:math:`\mathbf{r}, \mathbf{z}, \mathbf{n}` and a copy of
    :math:`\mathbf{b}_n`) besides :math:`\mathbf{h}`, which the hidden map keeps anyway, and
    computes the gradients by hand:

    .. math::
        \delta\mathbf{a}_n &= \mathbf{g} \odot (1 - \mathbf{z}) \odot (1 - \mathbf{n}^2),
        \quad \delta\mathbf{a}_z = \mathbf{g} \odot (\mathbf{h} - \mathbf{n}) \odot
        \mathbf{z} \odot (1 - \mathbf{z})

        \delta\mathbf{a}_r &= \delta\mathbf{a}_n \odot \mathbf{b}_n \odot \mathbf{r} \odot
        (1 - \mathbf{r}), \quad \delta\mathbf{b} = [\delta\mathbf{a}_r, \delta\mathbf{a}_z,
        \mathbf{r} \odot \delta\mathbf{a}_n], \quad \delta\mathbf{h} = \mathbf{g} \odot
        \mathbf{z}

    for the incoming gradient :math:`\mathbf{g}` of :math:`\mathbf{h}'`. When no input
    needs a gradient (or under :func:`torch.no_grad`) the plain ops run and nothing is
    saved. The backward is differentiable once (no double backward); it traces under
    :func:`torch.compile` without graph breaks.

    Args:
        x_proj (torch.Tensor): The input map's output :math:`\mathbf{a}`.
        gh (torch.Tensor): The hidden map's output :math:`\mathbf{b}`.
        state (torch.Tensor): The state :math:`\mathbf{h}`.

    Shapes:
        - **input:** x_proj :math:`(*, 3H)`, gh :math:`(*, 3H)`, state :math:`(*, H)`
          (leading dimensions broadcast)
        - **output:** new state :math:`(*, H)`
    """
    if torch.is_grad_enabled() and (x_proj.requires_grad or gh.requires_grad
                                    or state.requires_grad):
        return _GRUGates.apply(x_proj, gh, state)
    H = state.size(-1)
    x_rz, x_n = x_proj.split([2 * H, H], dim=-1)  # [*, 2H], [*, H]
    gh_rz, gh_n = gh.split([2 * H, H], dim=-1)  # [*, 2H], [*, H]
    r, z = torch.add(x_rz, gh_rz).sigmoid_().chunk(2, dim=-1)  # [*, H] each
    n = torch.addcmul(x_n, r, gh_n).tanh_()  # [*, H]
    return torch.lerp(n, state, z)  # n + z * (state - n)


def _sum_to(grad: Tensor, shape: torch.Size) -> Tensor:
    return grad if grad.shape == shape else grad.sum_to_size(shape)


class _GRUGates(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_proj: Tensor, gh: Tensor, state: Tensor) -> Tensor:
        H = state.size(-1)
        x_rz, x_n = x_proj.split([2 * H, H], dim=-1)  # [*, 2H], [*, H]
        gh_rz, gh_n = gh.split([2 * H, H], dim=-1)  # [*, 2H], [*, H]
        rz = torch.add(x_rz, gh_rz).sigmoid_()  # [*, 2H]
        r, z = rz.chunk(2, dim=-1)  # [*, H] each
        n = torch.addcmul(x_n, r, gh_n).tanh_()  # [*, H]
        # a copy, so that the [*, 3H] output of the hidden map can be freed
        ctx.save_for_backward(rz, n, gh_n.clone(), state)
        ctx.shapes = (x_proj.shape, gh.shape, state.shape)
        return torch.lerp(n, state, z)  # [*, H]

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        # in place into the [*, 3H] gradient, so that at most one [*, H] temporary lives
        rz, n, gh_n, state = ctx.saved_tensors
        r, z = rz.chunk(2, dim=-1)  # [*, H] each
        x_shape, gh_shape, state_shape = ctx.shapes
        need_x, need_gh, need_state = ctx.needs_input_grad
        grad_x = grad_gh = grad_state = None
        if need_x or need_gh:
            grad_a = grad.new_empty(grad.shape[:-1] + (3 * n.size(-1), ))  # [*, 3H]
            da_r, da_z, da_n = grad_a.chunk(3, dim=-1)  # [*, H] each
            da_n.copy_(n).mul_(n).sub_(1).mul_(grad).neg_()  # g (1 - n^2)
            da_n.addcmul_(da_n, z, value=-1)  # g (1 - z) (1 - n^2)
            da_z.copy_(state).sub_(n).mul_(grad).mul_(z)  # g (h - n) z
            da_z.addcmul_(da_z, z, value=-1)  # g (h - n) z (1 - z)
            da_r.copy_(da_n).mul_(gh_n).mul_(r)  # da_n gh_n r
            da_r.addcmul_(da_r, r, value=-1)  # da_n gh_n r (1 - r)
            if need_x:
                grad_x = _sum_to(grad_a, x_shape)
                if need_gh and grad_x is grad_a:
                    grad_a = grad_a.clone()  # [*, 3H]
            if need_gh:
                grad_a[..., 2 * n.size(-1):].mul_(r)  # [da_r, da_z, r da_n]
                grad_gh = _sum_to(grad_a, gh_shape)
        if need_state:
            grad_state = _sum_to(grad * z, state_shape)  # [*, H]
        return grad_x, grad_gh, grad_state
