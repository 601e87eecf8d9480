r"""A CSR sparse-dense matmul whose backward uses a prebuilt transpose.

Dimensions: N - rows of the sparse matrix (output rows), M - its columns (input rows),
F - columns of the dense operand.

``torch.sparse.mm(a, x)`` with a CSR :obj:`a` differentiates :obj:`x` through
:math:`\mathbf{A}^{\top}`, which torch builds from :obj:`a` on every backward call (a
CSR -> CSC -> CSR conversion with a sort). A layer that propagates over one graph many
times per step (DCRNN: 12 gate convolutions x 24 recurrent steps x 2K sparse matmuls)
pays that conversion hundreds of times. :func:`csr_matmul` takes the transpose, built once
per graph, and uses it in the backward pass instead.
"""
from typing import Optional

import torch
from torch import Tensor


class _CSRMatmul(torch.autograd.Function):
    # y = A x, grad_x = A^T grad_y; A and A^T are constants (no gradient).

    @staticmethod
    def forward(a: Tensor, a_t: Tensor, x: Tensor) -> Tensor:
        return _spmm(a, x)  # [N, F]

    @staticmethod
    def setup_context(ctx, inputs, output):
        a, a_t, _ = inputs
        ctx.save_for_backward(a, a_t)

    @staticmethod
    def backward(ctx, grad: Tensor):
        a, a_t = ctx.saved_tensors
        grad_x = None
        if ctx.needs_input_grad[2]:
            if torch.is_grad_enabled():  # create_graph: itself a csr_matmul, roles swapped
                grad_x = _CSRMatmul.apply(a_t, a, grad)  # [M, F]
            else:
                grad_x = _spmm(a_t, grad)  # [M, F]
        return None, None, grad_x


def _spmm(a: Tensor, x: Tensor) -> Tensor:
    if x.device.type == 'cpu':
        # torch's native CSR kernel: zero-fills the output and accumulates into it, where
        # the default (MKL) path also copies the result (~20 % slower for DCRNN's sizes)
        return torch.sparse.mm(a, x, 'sum')  # [N, F]
    return torch.sparse.mm(a, x)  # [N, F]


def csr_matmul(a: Tensor, a_t: Optional[Tensor], x: Tensor) -> Tensor:
    r"""Returns :math:`\mathbf{A}\mathbf{X}` for a sparse CSR matrix :obj:`a`, and in the
    backward pass :math:`\partial \mathbf{X} = \mathbf{A}^{\top} \partial \mathbf{Y}` with
    the given transpose :obj:`a_t`, so no backward call transposes (converts and sorts) a
    sparse matrix.

    Gradients flow to :obj:`x` only. If :obj:`a` requires gradients (e.g. its values are
    learnable edge weights) or :obj:`a_t` is :obj:`None`, this is plain
    ``torch.sparse.mm(a, x)`` with torch's own backward, which also differentiates the
    values of :obj:`a`.

    The caller guarantees that :obj:`a_t` is the transpose of :obj:`a` (e.g.
    ``to_torch_csr_tensor(edge_index.flip(0), w)`` for ``a = to_torch_csr_tensor(
    edge_index, w)``); that is not checked, as it would read both matrices on the host.

    Args:
        a (torch.Tensor): The sparse CSR matrix :math:`\mathbf{A}`.
        a_t (torch.Tensor, optional): Its transpose :math:`\mathbf{A}^{\top}`, sparse CSR.
        x (torch.Tensor): The dense operand :math:`\mathbf{X}`.

    Shapes:
        - **input:** a :math:`(N, M)`, a_t :math:`(M, N)`, x :math:`(M, F)`
        - **output:** :math:`(N, F)`
    """
    _check(a, a_t, x)
    if a_t is None or a.requires_grad or a_t.requires_grad:
        return torch.sparse.mm(a, x)  # [N, F]; torch's backward (values too)
    return _CSRMatmul.apply(a, a_t, x)  # [N, F]


def _check(a: Tensor, a_t: Optional[Tensor], x: Tensor) -> None:
    # Shapes, layouts and dtypes only: no device sync.
    if a.layout != torch.sparse_csr:
        raise ValueError(f"'a' has layout {a.layout}; expected torch.sparse_csr "
                         f"(convert it once with a.to_sparse_csr())")
    if x.dim() != 2 or x.size(0) != a.size(1):
        raise ValueError(f"'x' has shape {list(x.shape)}, but 'a' has shape {list(a.shape)}; "
                         f"expected [{a.size(1)}, F] (fold any leading dimensions into F)")
    if x.dtype != a.dtype:
        raise ValueError(f"'x' has dtype {x.dtype}, but 'a' has {a.dtype}; build the sparse "
                         f"matrices with dtype={x.dtype}")
    if a_t is None:
        return
    if a_t.layout != torch.sparse_csr:
        raise ValueError(f"'a_t' has layout {a_t.layout}; expected torch.sparse_csr "
                         f"(build it once as a CSR matrix, e.g. a.t().to_sparse_csr())")
    if tuple(a_t.shape) != (a.size(1), a.size(0)):
        raise ValueError(f"'a_t' has shape {list(a_t.shape)}, but 'a' has shape "
                         f"{list(a.shape)}; expected the transpose's shape "
                         f"[{a.size(1)}, {a.size(0)}]")
    if a_t.dtype != a.dtype:
        raise ValueError(f"'a_t' has dtype {a_t.dtype}, but 'a' has {a.dtype}; build both "
                         f"with the same dtype")
