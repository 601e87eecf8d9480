"""Bidirectional diffusion convolution (DCRNN).

Dimensions: B - batch, T - time, N - nodes, E - edges, F - features (F_in, F_out),
K - diffusion steps per direction.
"""
from typing import Optional, Union

import torch
from torch import Tensor
from torch.nn import Parameter
from torch_geometric import is_compiling
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.nn.inits import glorot, zeros
from torch_geometric.typing import Adj, OptTensor, SparseTensor
from torch_geometric.utils import is_torch_sparse_tensor, spmm

from pyg_ext.nn.conv.diffusion_supports import DiffusionSupports, diffusion_transitions
from pyg_ext.utils.checks import check_feature_size, check_index_range
from pyg_ext.utils.csr_matmul import csr_matmul
from pyg_ext.utils.nodes_first import fold_nodes_first, unfold_nodes_first

__all__ = ['DiffConv', 'DiffusionSupports']  # DiffusionSupports: re-exported from its file


class DiffConv(MessagePassing):
    r"""The bidirectional diffusion convolution from the `"Diffusion Convolutional
    Recurrent Neural Network: Data-Driven Traffic Forecasting"
    <https://arxiv.org/abs/1707.01926>`_ paper (Li et al., ICLR 2018).

    .. math::
        \mathbf{X}^{\prime} = \mathbf{X} \mathbf{\Theta}_{0} + \sum_{k=1}^{K} \left(
        \left(\mathbf{D}_O^{-1} \mathbf{W}\right)^k \mathbf{X} \mathbf{\Theta}_{k,1} +
        \left(\mathbf{D}_I^{-1} \mathbf{W}^{\top}\right)^k \mathbf{X}
        \mathbf{\Theta}_{k,2} \right) + \mathbf{b}

    where :math:`W_{ij}` is the weight of the edge :math:`i \to j` (:obj:`edge_index[0]`
    holds the sources :math:`i`, :obj:`edge_index[1]` the targets :math:`j`; weight 1 if
    :obj:`edge_weight` is not given), :math:`\mathbf{D}_O = \mathrm{diag}(\mathbf{W}
    \mathbf{1})` the out-degrees and :math:`\mathbf{D}_I = \mathrm{diag}(\mathbf{W}^{\top}
    \mathbf{1})` the in-degrees, with :math:`0^{-1} = 0` for a node without out- (in-)edges.
    Row :math:`i` of the forward transition :math:`\mathbf{D}_O^{-1}\mathbf{W}` averages
    the nodes that :math:`i` points to; row :math:`j` of the backward transition
    :math:`\mathbf{D}_I^{-1}\mathbf{W}^{\top}` averages the nodes that point to :math:`j`.
    No self-loops are added: put them in the graph if you want them.

    The :math:`k = 0` terms of both directions are :math:`\mathbf{X}` itself, so they share
    one weight :math:`\mathbf{\Theta}_0` (as in DCRNN's code), giving :math:`2K + 1`
    blocks :math:`\mathbf{\Theta} \in \mathbb{R}^{F_{in} \times F_{out}}` stored in
    :obj:`weight` of shape :obj:`[2K + 1, F_in, F_out]`: :obj:`weight[0]` is
    :math:`\mathbf{\Theta}_0`, :obj:`weight[k]` is :math:`\mathbf{\Theta}_{k,1}` and
    :obj:`weight[K + k]` is :math:`\mathbf{\Theta}_{k,2}`.

    How the diffusions are computed depends on the form of the graph:

    - a torch sparse adjacency (or CSR :class:`DiffusionSupports`, as DCRNN and Graph
      WaveNet pass) is propagated nodes first: the leading dimensions are folded once into
      :math:`(N, M F_{in})`, each diffusion step is one CSR matmul over all of them
      (:func:`~pyg_ext.utils.csr_matmul.csr_matmul`, whose backward uses the transposed
      operators built once by :meth:`transitions`, so no backward call transposes a sparse
      matrix), each :math:`\mathbf{\Theta}` block is one matmul accumulated into the
      output (nothing is concatenated), and the output is a :math:`(*, N, F_{out})` view of
      nodes-first memory, so a recurrent state fed back into the layer is folded without a
      copy. If the operators' values require gradients (learnable edge weights), torch's
      own sparse backward is used, which also differentiates them;
    - an edge index (or edge-index :class:`DiffusionSupports`) is propagated by message
      passing in the input's layout, and the input and its :math:`2K` diffusions are
      concatenated to :math:`(*, N, (2K + 1) F_{in})` and multiplied with the flattened
      :math:`((2K + 1) F_{in}, F_{out})` weight in one matmul.

    The graph may be an :obj:`edge_index` tensor, a :class:`torch_geometric.EdgeIndex`,
    or a transposed sparse adjacency :obj:`adj_t` (a :class:`torch.sparse.Tensor`, or a
    :class:`torch_sparse.SparseTensor` where installed) with :obj:`adj_t[j, i] = W[i, j]`,
    the PyG convention (e.g. :obj:`to_torch_csr_tensor(edge_index.flip(0), edge_weight)`).

    The graph may also be the :class:`DiffusionSupports` that :meth:`transitions` returns:
    the normalisation is then skipped, so a model that applies several :class:`DiffConv`
    layers to one graph normalises it once per forward (DCRNN's gates, Graph WaveNet's
    layers)::

        supports = DiffConv.transitions(edge_index, edge_weight, num_nodes=N, dtype=x.dtype)
        for conv in convs:
            x = conv(x, supports)  # no normalisation here

    Args:
        in_channels (int): Size of each input sample, :math:`F_{in}`.
        out_channels (int): Size of each output sample, :math:`F_{out}`.
        K (int): Number of diffusion steps :math:`K` in each direction.
        bias (bool, optional): If set to :obj:`False`, the layer will not learn an
            additive bias. (default: :obj:`True`)
        cached (bool, optional): If set to :obj:`True`, the layer computes the two
            normalised transition operators on its first call and reuses them on every
            later call, for a graph that never changes (one sensor network, transductive
            learning). The cache is cleared by :meth:`reset_parameters`; the graph's
            :obj:`edge_weight` must not require gradients. Given
            :class:`DiffusionSupports`, the layer uses them and leaves its cache alone.
            (default: :obj:`False`)
        normalize (bool, optional): If set to :obj:`False`, the degree normalisation is
            skipped and the raw :math:`\mathbf{W}^k` and :math:`(\mathbf{W}^{\top})^k`
            are used, for weights that are already scaled. (default: :obj:`True`)
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input:**
          node features :math:`(*, N, F_{in})`, e.g. :math:`(N, F_{in})` or
          :math:`(B, T, N, F_{in})`,
          edge indices :math:`(2, E)` or sparse matrix :math:`(N, N)` or
          :class:`DiffusionSupports` of :math:`N` nodes,
          edge weights :math:`(E)` *(optional; not with a sparse matrix or supports)*
        - **output:** node features :math:`(*, N, F_{out})`
    """
    _cached: Optional[DiffusionSupports]

    def __init__(self, in_channels: int, out_channels: int, K: int, bias: bool = True,
                 cached: bool = False, normalize: bool = True, **kwargs):
        kwargs.setdefault('aggr', 'add')
        kwargs.setdefault('node_dim', -2)
        super().__init__(**kwargs)
        if K < 0:
            raise ValueError(f"'K' is {K}; the number of diffusion steps must be >= 0")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.K = K
        self.cached = cached
        self.normalize = normalize
        self._cached = None
        self._cached_size = (-1, -1)  # (N, E) of the cached graph

        self.weight = Parameter(torch.empty(2 * K + 1, in_channels, out_channels))
        if bias:
            self.bias = Parameter(torch.empty(out_channels))
        else:
            self.register_parameter('bias', None)
        self.reset_parameters()

    def reset_parameters(self):
        super().reset_parameters()
        glorot(self.weight)  # each [F_in, F_out] block
        zeros(self.bias)
        self._cached = None
        self._cached_size = (-1, -1)

    def forward(self, x: Tensor, edge_index: Union[Adj, DiffusionSupports],
                edge_weight: OptTensor = None) -> Tensor:
        if x.dim() < 2:
            raise ValueError(f"'x' has shape {list(x.shape)}; expected [N, F] or [*, N, F] "
                             f"(e.g. [B, T, N, F]); add a feature dimension with x[..., None]")
        check_feature_size(x, self.in_channels)
        if is_compiling() or torch.jit.is_scripting():
            return self._forward(x, edge_index, edge_weight)
        try:
            return self._forward(x, edge_index, edge_weight)
        except (IndexError, RuntimeError, ValueError) as e:
            check_index_range(edge_index, x.size(self.node_dim), error=e)
            raise

    def _forward(self, x: Tensor, edge_index: Union[Adj, DiffusionSupports],
                 edge_weight: OptTensor) -> Tensor:
        num_nodes = x.size(self.node_dim)
        if isinstance(edge_index, DiffusionSupports):
            self._check_supports(edge_index, edge_weight, x)
            return self._diffuse(x, edge_index)
        cache = self._cached
        if cache is None:
            cache = self.transitions(edge_index, edge_weight, num_nodes, x.dtype,
                                     self.normalize)
            if self.cached:
                self._cached = cache
                self._cached_size = (num_nodes, _num_edges(edge_index))
        elif self._cached_size != (num_nodes, _num_edges(edge_index)):
            raise ValueError(
                f"DiffConv(cached=True) holds the transitions of a graph with (N, E) = "
                f"{self._cached_size}, but got {(num_nodes, _num_edges(edge_index))}; "
                f"use cached=False for changing graphs, or call reset_parameters()")
        return self._diffuse(x, cache)

    def _diffuse(self, x: Tensor, supports: DiffusionSupports) -> Tensor:
        fwd, fwd_weight, bwd, bwd_weight = supports[:4]
        if _is_csr(fwd) and _is_csr(bwd):
            return self._diffuse_csr(x, supports)
        xs = [x]
        h = x
        for _ in range(self.K):
            h = self.propagate(fwd, x=h, edge_weight=fwd_weight)  # [*, N, F_in]
            xs.append(h)
        h = x
        for _ in range(self.K):
            h = self.propagate(bwd, x=h, edge_weight=bwd_weight)  # [*, N, F_in]
            xs.append(h)
        out = torch.cat(xs, dim=-1)  # [*, N, (2K+1) F_in]
        out = out @ self.weight.view(-1, self.out_channels)  # [*, N, F_out]
        if self.bias is not None:
            out = out + self.bias
        return out

    def _diffuse_csr(self, x: Tensor, supports: DiffusionSupports) -> Tensor:
        # Nodes first, [N, M F_in] with M the leading dims folded: each diffusion step is one
        # CSR matmul, each Theta block one dense matmul accumulated into the output, and
        # nothing is concatenated. The output stays nodes-first in memory (a [*, N, F_out]
        # view), so a recurrent state fed back into this layer is folded without a copy.
        N, F_in = x.size(-2), x.size(-1)
        x0, lead = fold_nodes_first(x)  # [N, M F_in]; a view if x is nodes-first
        # unbind, not weight[k]: its backward stacks the 2K + 1 block gradients once, where
        # each weight[k] would zero-fill a full-size gradient
        weights = self.weight.unbind(0)  # 2K + 1 x [F_in, F_out]
        if self.bias is not None:
            out = torch.addmm(self.bias, x0.reshape(-1, F_in), weights[0])  # [N M, F_out]
        else:
            out = x0.reshape(-1, F_in) @ weights[0]  # [N M, F_out]
        directions = ((supports.forward, supports.forward_t, 0),
                      (supports.backward, supports.backward_t, self.K))
        for op, op_t, offset in directions:
            h = x0
            for k in range(1, self.K + 1):
                h = csr_matmul(op, op_t, h)  # [N, M F_in]
                out = out.addmm_(h.view(-1, F_in), weights[offset + k])  # [N M, F_out]
        return unfold_nodes_first(out, N, lead, self.out_channels)  # [*, N, F_out]

    def _check_supports(self, supports: DiffusionSupports, edge_weight: OptTensor,
                        x: Tensor) -> None:
        # Shapes, dtypes and flags only: no device sync.
        if edge_weight is not None:
            raise ValueError("'edge_weight' was given with DiffusionSupports, which hold the "
                             "normalised weights already; pass edge_weight to "
                             "DiffConv.transitions() instead")
        num_nodes = x.size(self.node_dim)
        if supports.num_nodes != num_nodes:
            raise ValueError(
                f"the DiffusionSupports are for a graph of {supports.num_nodes} nodes, but "
                f"'x' has {num_nodes}; build them with DiffConv.transitions(edge_index, "
                f"edge_weight, num_nodes={num_nodes})")
        if supports.normalize != self.normalize:
            raise ValueError(
                f"the DiffusionSupports were built with normalize={supports.normalize}, but "
                f"{self} has normalize={self.normalize}; build them with "
                f"DiffConv.transitions(..., normalize={self.normalize})")
        values = supports.forward_weight
        if values is None and isinstance(supports.forward, Tensor):
            values = supports.forward  # a torch.sparse matrix
        if values is not None and values.dtype != x.dtype:
            raise ValueError(
                f"the DiffusionSupports have dtype {values.dtype}, but 'x' has {x.dtype}; "
                f"build them with DiffConv.transitions(..., dtype={x.dtype})")

    #: The forward and backward transition operators of a graph, computed once for any
    #: number of calls (:func:`~pyg_ext.nn.conv.diffusion_supports.diffusion_transitions`).
    transitions = staticmethod(diffusion_transitions)

    def message(self, x_j: Tensor, edge_weight: OptTensor) -> Tensor:
        # x_j: [*, E, F_in]
        return x_j if edge_weight is None else edge_weight.view(-1, 1) * x_j

    def message_and_aggregate(self, adj_t: Adj, x: Tensor) -> Tensor:
        # Sparse path: one spmm over all leading dims.
        if x.dim() == 2:
            return spmm(adj_t, x, reduce='sum')  # [N, F]
        h, lead = fold_nodes_first(x)  # [N, M F]
        out = spmm(adj_t, h, reduce='sum')  # [N, M F]
        return unfold_nodes_first(out, h.size(0), lead, x.size(-1))  # [*, N, F]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'K={self.K})')


def _is_csr(adj: Adj) -> bool:
    return isinstance(adj, Tensor) and adj.layout == torch.sparse_csr


def _num_edges(edge_index: Adj) -> int:
    if isinstance(edge_index, SparseTensor):  # pragma: no cover - needs torch_sparse
        return edge_index.nnz()
    if is_torch_sparse_tensor(edge_index):
        return edge_index._nnz()
    return edge_index.size(1)
