r"""The normalised transition operators of a graph, shared by diffusion convolutions.

Dimensions: N - nodes, E - edges.
"""
from typing import NamedTuple

from torch_geometric.typing import Adj, OptTensor


class DiffusionSupports(NamedTuple):
    r"""The two normalised transition operators of a graph, the forward
    :math:`\mathbf{P}_f = \mathbf{D}_O^{-1}\mathbf{W}` and the backward
    :math:`\mathbf{P}_b = \mathbf{D}_I^{-1}\mathbf{W}^{\top}`, as returned by
    :meth:`DiffConv.transitions <pyg_ext.nn.conv.diff_conv.DiffConv.transitions>`; pass
    them to :class:`~pyg_ext.nn.conv.diff_conv.DiffConv` in place of :obj:`edge_index` to
    reuse one normalisation across layers and calls.

    Each operator is an :obj:`(adjacency, per-edge weight)` pair in the form
    :meth:`MessagePassing.propagate` takes: an edge index :math:`(2, E)` with weights
    :math:`(E)`, or an :math:`(N, N)` sparse matrix (CSR from :meth:`transitions`) with
    weight :obj:`None`. For CSR operators, :obj:`forward_t` and :obj:`backward_t` hold
    their transposes :math:`\mathbf{P}_f^{\top}` and :math:`\mathbf{P}_b^{\top}` (also
    CSR), built once with the operators so that the backward pass of every propagation
    uses them (:func:`~pyg_ext.utils.csr_matmul.csr_matmul`) instead of transposing a
    sparse matrix per call; they are :obj:`None` for edge-index operators, and may be
    :obj:`None` for hand-built CSR operators (then torch's own backward is used).

    :obj:`num_nodes` and :obj:`normalize` record the graph's :math:`N` and whether the
    degree normalisation was applied, so that :class:`DiffConv` can check them against its
    input and its own :obj:`normalize`.

    Args:
        forward (torch.Tensor or SparseTensor): :math:`\mathbf{P}_f`: row :math:`i`
            averages the nodes that :math:`i` points to.
        forward_weight (torch.Tensor, optional): Its per-edge weights, or :obj:`None` for a
            sparse matrix.
        backward (torch.Tensor or SparseTensor): :math:`\mathbf{P}_b`: row :math:`j`
            averages the nodes that point to :math:`j`.
        backward_weight (torch.Tensor, optional): Its per-edge weights, or :obj:`None` for
            a sparse matrix.
        num_nodes (int): Number of nodes :math:`N`.
        normalize (bool): Whether the degree normalisation was applied.
        forward_t (torch.Tensor, optional): :math:`\mathbf{P}_f^{\top}` as CSR.
            (default: :obj:`None`)
        backward_t (torch.Tensor, optional): :math:`\mathbf{P}_b^{\top}` as CSR.
            (default: :obj:`None`)

    Shapes:
        - **forward, backward:** edge indices :math:`(2, E)` or sparse matrices
          :math:`(N, N)`
        - **forward_weight, backward_weight:** :math:`(E)` or :obj:`None`
        - **forward_t, backward_t:** sparse CSR matrices :math:`(N, N)` or :obj:`None`
    """
    forward: Adj  # D_O^{-1} W: row i averages the nodes that i points to
    forward_weight: OptTensor  # [E] or None
    backward: Adj  # D_I^{-1} W^T: row j averages the nodes that point to j
    backward_weight: OptTensor  # [E] or None
    num_nodes: int
    normalize: bool
    forward_t: OptTensor = None  # [N, N] CSR (D_O^{-1} W)^T, or None
    backward_t: OptTensor = None  # [N, N] CSR (D_I^{-1} W^T)^T, or None
