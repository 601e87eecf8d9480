"""AGCRN's graph convolution with node-adaptive parameters.

Dimensions: B - batch, T - time, N - nodes, F - features (F_in, F_out), K - number of
Chebyshev polynomials, D - node embedding size, M - the leading dimensions folded into one.
"""
import math
from typing import Union

import torch
from torch import Tensor, nn
from torch.nn import Parameter

from pyg_ext.nn.conv.node_filters import Filters, NodeFilters
from pyg_ext.utils.checks import check_feature_size
from pyg_ext.utils.nodes_first import fold_nodes_first, unfold_nodes_first


class NodeAdaptiveConv(nn.Module):
    r"""The graph convolution with node adaptive parameter learning (NAPL) from the
    `"Adaptive Graph Convolutional Recurrent Network for Traffic Forecasting"
    <https://arxiv.org/abs/2007.02842>`_ paper (Bai et al., NeurIPS 2020). Every node
    :math:`n` has its own filter, generated from its embedding
    :math:`\mathbf{e}_n \in \mathbb{R}^D` by a shared weight pool:

    .. math::
        \mathbf{x}^{\prime}_n = \sum_{k=0}^{K-1} \left(T_k(\mathbf{A}) \mathbf{X}
        \right)_n \mathbf{\Theta}_{n,k} + \mathbf{e}_n \mathbf{b}_{pool}, \qquad
        \mathbf{\Theta}_{n,k} = \sum_{d=1}^{D} e_{n,d}\, \mathbf{W}_{pool}[d, k]

    with the Chebyshev polynomials :math:`T_0 = \mathbf{I}`, :math:`T_1 = \mathbf{A}`,
    :math:`T_k = 2\mathbf{A} T_{k-1} - T_{k-2}` of a dense adjacency :math:`\mathbf{A}`
    (in AGCRN the data-adaptive :math:`\mathrm{softmax}(\mathrm{ReLU}(\mathbf{E}
    \mathbf{E}^{\top}))`, computed once per forward by the model). Unlike the reference
    code, the identity term is not a dense matmul, the polynomials are propagated nodes
    first with one :math:`N \times N` matmul each over all leading dimensions, and the
    filters of all nodes are applied in one batched matmul per polynomial.

    The filters :math:`\mathbf{\Theta}_{n,k}` and biases (:meth:`filters`) depend on the
    embeddings and the pools only. Given the ``[N, D]`` embedding tensor, every call
    generates them; given a :class:`~pyg_ext.nn.conv.NodeFilters` wrapping it, the first
    call generates them and later calls with the same wrapper reuse them (a recurrent
    model builds one wrapper per forward and calls the layer at every time step).

    The weight pool :math:`\mathbf{W}_{pool} \in \mathbb{R}^{D \times K \times F_{in}
    \times F_{out}}` is initialised uniformly with a Glorot bound divided by
    :math:`\sqrt{D}`, so that with unit-variance embeddings every generated filter has the
    variance of a Glorot-initialised one; :math:`\mathbf{b}_{pool} \in \mathbb{R}^{D
    \times F_{out}}` starts at zero.

    Args:
        in_channels (int): Size of each input sample, :math:`F_{in}`.
        out_channels (int): Size of each output sample, :math:`F_{out}`.
        K (int): Number of Chebyshev polynomials (AGCRN's ``cheb_k``).
        embedding_dim (int): Size :math:`D` of the node embeddings.
        bias (bool, optional): If set to :obj:`False`, the layer will not learn the
            node-adaptive bias. (default: :obj:`True`)

    Shapes:
        - **input:**
          node features :math:`(*, N, F_{in})`, e.g. :math:`(B, N, F_{in})` or
          :math:`(B, T, N, F_{in})`,
          adjacency :math:`(N, N)` (dense, row :math:`i` = the nodes :math:`i` reads),
          node embeddings :math:`(N, D)` or a :class:`~pyg_ext.nn.conv.NodeFilters` of
          them
        - **output:** node features :math:`(*, N, F_{out})`
    """
    #: Inputs with :math:`K F_{in}` up to this many columns take one batched matmul over
    #: the stacked polynomials; wider ones one per polynomial, each
    #: accumulated into the output. Measured forward + backward on ``[207, 768, F]`` ->
    #: 192 channels, :math:`K = 2`, one thread: stacking is 1.46x faster at
    #: :math:`F = 2`, 1.21x at 8, 1.07x at 16, and 0.90x at 32, 0.81x at 64.
    STACK_MAX = 32

    def __init__(self, in_channels: int, out_channels: int, K: int, embedding_dim: int,
                 bias: bool = True):
        super().__init__()
        if K < 1:
            raise ValueError(f"'K' is {K}; the number of Chebyshev polynomials must be >= 1")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.K = K
        self.embedding_dim = embedding_dim
        self.weight_pool = Parameter(torch.empty(embedding_dim, K, in_channels, out_channels))
        if bias:
            self.bias_pool = Parameter(torch.empty(embedding_dim, out_channels))
        else:
            self.register_parameter('bias_pool', None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = math.sqrt(6.0 / (self.K * self.in_channels + self.out_channels))
        nn.init.uniform_(self.weight_pool, -bound / math.sqrt(self.embedding_dim),
                         bound / math.sqrt(self.embedding_dim))
        if self.bias_pool is not None:
            nn.init.zeros_(self.bias_pool)

    def filters(self, node_emb: Tensor) -> Filters:
        r"""The node-specific filters :math:`\mathbf{\Theta}_{n,k}` as :math:`K` tensors
        ``[N, F_in, F_out]``, and the node biases ``[N, F_out]`` (:obj:`None` without
        bias), generated from ``node_emb [N, D]``."""
        N, D = node_emb.size(0), self.embedding_dim
        # One matmul per polynomial on the unbound pool: the backward stacks K small [D, ...]
        # pool gradients, not K filter gradients of N times that size (as unbinding the
        # generated filters would), and never zero-fills a whole gradient (as slicing would).
        # Each filter is stored [N, F_out, F_in] and returned transposed: torch's CPU bmm is
        # slowest with a transposed second operand, which contiguous filters would give the
        # backward's grad @ Theta^T (2-4x slower per node there); this way the forward has
        # it, at about half that cost.
        weights = tuple((node_emb @ pool.transpose(1, 2).reshape(D, -1))  # [N, F_out F_in]
                        .view(N, self.out_channels, self.in_channels).transpose(1, 2)
                        for pool in self.weight_pool.unbind(1))  # K x [N, F_in, F_out]
        bias = None if self.bias_pool is None else node_emb @ self.bias_pool  # [N, F_out]
        return weights, bias

    def forward(self, x: Tensor, adj: Tensor, node_emb: Union[Tensor, NodeFilters]) -> Tensor:
        if x.dim() < 2:
            raise ValueError(f"'x' has shape {list(x.shape)}; expected [*, N, F] (e.g. "
                             f"[B, T, N, F]); add a feature dimension with x[..., None]")
        check_feature_size(x, self.in_channels)
        N, F = x.size(-2), x.size(-1)
        if adj.dim() != 2 or tuple(adj.shape) != (N, N) or adj.is_sparse:
            raise ValueError(f"'adj' has shape {list(adj.shape)}; expected a dense [N, N] = "
                             f"[{N}, {N}] adjacency for the {N} nodes of 'x'")
        cached = isinstance(node_emb, NodeFilters)
        emb = node_emb.node_emb if cached else node_emb
        if tuple(emb.shape) != (N, self.embedding_dim):
            raise ValueError(f"'node_emb' has shape {list(emb.shape)}; expected [N, D] "
                             f"= [{N}, {self.embedding_dim}] (one embedding per node of 'x')")
        weights, bias = node_emb.get(self) if cached else self.filters(emb)
        # Nodes first, [N, M F] with M the leading dims folded: each polynomial is one dense
        # [N, N] matmul, each Theta_k one batched (per node) matmul accumulated into the
        # output, the bias its initial value; the output stays nodes-first in memory (a
        # [*, N, F_out] view). A nodes-first input (as returned here) needs no copy.
        t0, lead = fold_nodes_first(x)  # [N, M F]
        polys = [t0]  # K x [N, M F]
        for k in range(1, self.K):
            t = adj @ polys[-1]  # [N, M F]
            polys.append(t if k == 1 else 2.0 * t - polys[-2])
        polys = [t.view(N, -1, F) for t in polys]  # K x [N, M, F]
        if self.K > 1 and self.K * F <= self.STACK_MAX:
            # few features: the polynomials side by side times the stacked filters, one
            # product (whose backward is one product per operand, not K thin ones)
            polys = [torch.cat(polys, dim=-1)]  # [N, M, K F]
            weights = (torch.cat(weights, dim=1),)  # [N, K F, F_out]
        if bias is None:
            out = torch.bmm(polys[0], weights[0])  # [N, M, F_out]
        else:
            out = torch.baddbmm(bias.unsqueeze(1), polys[0], weights[0])  # [N, M, F_out]
        for t, w in zip(polys[1:], weights[1:]):
            out = out.baddbmm_(t, w)
        return unfold_nodes_first(out, N, lead, self.out_channels)  # [*, N, F_out]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'K={self.K}, embedding_dim={self.embedding_dim})')
