r"""GCN convolution for one fixed graph, with its normalised adjacency (and, as CSR, that
matrix's transpose) cached, for fast full-batch training (ogbn-arxiv, ogbl-ddi).

Dimensions: N nodes, E edges, F_in / F_out features.
"""
from typing import Optional

import torch
from torch import Tensor
from torch_geometric.nn.dense.linear import Linear
from torch_geometric.utils import add_remaining_self_loops, scatter

from pyg_ext.ogb.cached_adjacency import CachedMatrix, cached_matrix, edges_of, propagate
from pyg_ext.typing import Adj
from pyg_ext.utils.checks import check_feature_size


class CachedGCNConv(torch.nn.Module):
    r"""The graph convolution from `"Semi-supervised Classification with Graph
    Convolutional Networks" <https://arxiv.org/abs/1609.02907>`_,

    .. math::
        \mathbf{X}^{\prime} = \hat{\mathbf{D}}^{-1/2} \hat{\mathbf{A}}
        \hat{\mathbf{D}}^{-1/2} \mathbf{X} \mathbf{\Theta} + \mathbf{b},

    with :math:`\hat{\mathbf{A}} = \mathbf{A} + \mathbf{I}` (self-loops added where
    missing) and :math:`\hat{D}_{ii} = \sum_j \hat{A}_{ij}`: the same function as PyG's
    ``GCNConv(cached=True)`` on an ``edge_index``. The normalised matrix and its transpose are
    built once, on the first call, as CSR matrices (as one dense matrix when the graph is
    small and denser than 1/16, e.g. ogbl-ddi's 4,267 nodes with 12% of all pairs linked,
    where a dense product is several times faster); the backward pass of a CSR product
    multiplies by the cached CSR transpose (:func:`~pyg_ext.utils.csr_matmul.csr_matmul`),
    that of a dense one by the transposed view, as torch's matmul does. When
    ``in_channels < out_channels`` the product is taken as
    :math:`(\hat{\mathbf{A}}\mathbf{X})\mathbf{\Theta}`, propagating the narrower features,
    and no sparse product is needed in the backward pass of a first layer whose input needs no
    gradient. Like any cached GCN, it is for one fixed graph (transductive, full batch); call
    :meth:`reset_parameters` before using another graph.

    Args:
        in_channels (int): input size :math:`F_{in}`.
        out_channels (int): output size :math:`F_{out}`.
        bias (bool, optional): learn the additive bias :math:`\mathbf{b}`.
            (default: :obj:`True`)

    Shapes:
        - **input:** node features :math:`(N, F_{in})`; ``adj``: edge indices :math:`(2, E)`
          (source, target) or a sparse :math:`(N, N)` ``adj_t`` (row = target)
        - **output:** node features :math:`(N, F_{out})`
    """
    def __init__(self, in_channels: int, out_channels: int, bias: bool = True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.lin = Linear(in_channels, out_channels, bias=False, weight_initializer='glorot')
        if bias:
            self.bias = torch.nn.Parameter(torch.empty(out_channels))
        else:
            self.register_parameter('bias', None)
        self._cache: Optional[CachedMatrix] = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()
        if self.bias is not None:
            torch.nn.init.zeros_(self.bias)
        self._cache = None

    def _normalise(self, adj: Adj, num_nodes: int) -> CachedMatrix:
        edge_index, weight = edges_of(adj)  # [2, E], [E] or None
        edge_index, weight = add_remaining_self_loops(edge_index, weight, 1.0, num_nodes)
        if weight is None:
            weight = torch.ones(edge_index.size(1), device=edge_index.device)
        src, dst = edge_index
        deg_inv_sqrt = scatter(weight, dst, 0, dim_size=num_nodes, reduce='sum').pow(-0.5)
        deg_inv_sqrt = deg_inv_sqrt.masked_fill(deg_inv_sqrt == float('inf'), 0.0)  # [N]
        value = deg_inv_sqrt[src] * weight * deg_inv_sqrt[dst]  # [E]
        return cached_matrix(edge_index, value, num_nodes)

    def forward(self, x: Tensor, adj: Adj) -> Tensor:
        check_feature_size(x, self.in_channels)
        if self._cache is None:
            self._cache = self._normalise(adj, x.size(0))
        if self.in_channels < self.out_channels:
            out = self.lin(propagate(self._cache, x))  # [N, F_out]
        else:
            out = propagate(self._cache, self.lin(x))  # [N, F_out]
        return out if self.bias is None else out + self.bias

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.in_channels}, {self.out_channels})'
