"""PyG's Chebyshev spectral graph convolution, plus precomputed-operator paths.

Dimensions: B - batch, T - time, N - nodes, E - edges, F - features (F_in, F_out),
K - number of Chebyshev polynomials, M - the leading dimensions ``*`` folded into one.
"""
from typing import List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
import torch_geometric.nn
from torch import Tensor
from torch_geometric.nn.dense.linear import is_uninitialized_parameter
from torch_geometric.typing import Adj, OptTensor
from torch_geometric.utils import get_laplacian, is_torch_sparse_tensor, spmm

from pyg_ext.utils.checks import check_edge_weight, check_feature_size

NORMALIZATIONS = (None, 'sym', 'rw')


class ChebConv(torch_geometric.nn.ChebConv):
    r"""The Chebyshev spectral graph convolution from the `"Convolutional Neural Networks on
    Graphs with Fast Localized Spectral Filtering" <https://arxiv.org/abs/1606.09375>`_ paper
    (Defferrard et al., NeurIPS 2016), the gate map of GConvGRU / GConvLSTM (`Seo et al.,
    2018 <https://arxiv.org/abs/1612.07659>`_):

    .. math::
        \mathbf{X}^{\prime} = \sum_{k=0}^{K-1} T_k(\hat{\mathbf{L}}) \mathbf{X}
        \mathbf{\Theta}_k + \mathbf{b}, \qquad T_0 = \mathbf{I},\; T_1 = \hat{\mathbf{L}},\;
        T_k = 2 \hat{\mathbf{L}} T_{k-1} - T_{k-2}

    with the scaled Laplacian :math:`\hat{\mathbf{L}} = 2\mathbf{L} / \lambda_{\max} -
    \mathbf{I}`, where :math:`\mathbf{L}` is :math:`\mathbf{D} - \mathbf{A}`
    (:obj:`normalization=None`), :math:`\mathbf{I} - \mathbf{D}^{-1/2} \mathbf{A}
    \mathbf{D}^{-1/2}` (:obj:`"sym"`) or :math:`\mathbf{I} - \mathbf{D}^{-1} \mathbf{A}`
    (:obj:`"rw"`), and :math:`\lambda_{\max}` defaults to :math:`2 \max_e \mathbf{L}_e`
    (2 for :obj:`"sym"` and :obj:`"rw"`).

    This *is* :class:`torch_geometric.nn.conv.ChebConv` (a subclass): the same parameters
    (:obj:`lins`, :math:`K` bias-free glorot :class:`~torch_geometric.nn.dense.Linear`
    layers holding :math:`\mathbf{\Theta}_k^{\top}`, and :obj:`bias`), the same
    initialisation, the same state dict (a PyG ``ChebConv`` state dict loads as is, and
    back), and, with :obj:`normalize=True`, PyG's own Laplacian normalisation and message
    passing. It adds what a recurrent cell (GConvGRU: 2-3 gate maps per step, 12 steps)
    needs, since PyG's :meth:`forward` rebuilds :math:`\hat{\mathbf{L}}` on every call:

    - :obj:`normalize=False`: the graph passed in already *is* :math:`\hat{\mathbf{L}}`
      (e.g. from :meth:`scaled_laplacian`, or a matrix of it), so a model computes the
      Laplacian once per forward and shares it between all gates and time steps;
    - a torch sparse input (CSR) is propagated with one sparse matmul per polynomial over
      all leading dimensions, nodes first, so :math:`(B, T, N, F)` inputs cost one
      :func:`torch.sparse.mm` each, and the output stays nodes-first in memory;
    - a dense :math:`(N, N)` matrix is propagated with batched dense matmuls in the input's
      layout, the fastest form for graphs of a few hundred nodes (e.g. 207-sensor METR-LA);
    - on an edge index and on a dense matrix, the :math:`K` weights are applied as one
      matmul with the concatenated :math:`[T_0 \mathbf{X}, \ldots, T_{K-1} \mathbf{X}]`
      (the :math:`[K F_{in}, F_{out}]` matrix is built from :obj:`lins` once per call);
    - inputs of any leading shape :math:`(*, N, F)` (:obj:`node_dim=-2`), and errors that
      name the fix instead of PyG's asserts.

    Args:
        in_channels (int): Size of each input sample, :math:`F_{in}`, or :obj:`-1` to take
            it from the first input (lazy, as in PyG).
        out_channels (int): Size of each output sample, :math:`F_{out}`.
        K (int): Number of Chebyshev polynomials, the filter size (:math:`K - 1` hops).
        normalization (str, optional): The Laplacian: :obj:`None`, :obj:`"sym"` or
            :obj:`"rw"`. (default: :obj:`"sym"`)
        bias (bool, optional): If set to :obj:`False`, the layer will not learn an
            additive bias. (default: :obj:`True`)
        normalize (bool, optional): If set to :obj:`False`, the edge weights (or the
            matrix) given to :meth:`forward` are taken as :math:`\hat{\mathbf{L}}` itself;
            build it once with :meth:`scaled_laplacian`. (default: :obj:`True`)
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input:**
          node features :math:`(*, N, F_{in})`, e.g. :math:`(N, F_{in})` or
          :math:`(B, T, N, F_{in})`,
          edge indices :math:`(2, E)`, or (only with :obj:`normalize=False`) the matrix
          :math:`\hat{\mathbf{L}}^{\top}` of shape :math:`(N, N)` (row :math:`j` holds the
          weights of the edges into :math:`j`), sparse (CSR) or dense,
          edge weights :math:`(E)` *(optional)*,
          batch vector :math:`(N)` and lambda_max: a float, a scalar tensor or one value
          per graph :math:`(B)` *(optional, with* :obj:`normalize=True` *only, as in PyG)*
        - **output:** node features :math:`(*, N, F_{out})`
    """
    def __init__(self, in_channels: int, out_channels: int, K: int,
                 normalization: Optional[str] = 'sym', bias: bool = True,
                 normalize: bool = True, **kwargs):
        if K < 1:
            raise ValueError(f"'K' is {K}; the number of Chebyshev polynomials must be >= 1 "
                             f"(K = 1 is a plain linear map, K = 2 adds the 1-hop term)")
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization={normalization!r} is not supported; use one of "
                             f"{NORMALIZATIONS}")
        kwargs.setdefault('node_dim', -2)
        # PyG's __init__ builds `lins` and `bias` and ends with `self.reset_parameters()`
        # (PyG's, inherited), so a seed gives the same weights as PyG's ChebConv.
        super().__init__(in_channels, out_channels, K, normalization, bias, **kwargs)
        self.K = K
        self.normalize = normalize

    @staticmethod
    def _check_graph(edge_index: Tensor, edge_weight: OptTensor) -> None:
        check_edge_weight(edge_index, edge_weight)

    @staticmethod
    def scaled_laplacian(edge_index: Tensor, edge_weight: OptTensor, num_nodes: int,
                         normalization: Optional[str] = 'sym',
                         lambda_max: Union[float, Tensor, None] = None,
                         dtype: Optional[torch.dtype] = None) -> Tuple[Tensor, Tensor]:
        r"""The scaled Laplacian :math:`\hat{\mathbf{L}} = 2\mathbf{L}/\lambda_{\max} -
        \mathbf{I}` as :obj:`(edge_index [2, E'], edge_weight [E'])` (self-loops of the
        input dropped, one diagonal entry per node added), the graph that
        :obj:`normalize=False` layers take. Equal to what PyG's ``ChebConv.__norm__``
        computes for one graph, written without in-place or masked writes so that it
        compiles without graph breaks inside a model's forward."""
        ChebConv._check_graph(edge_index, edge_weight)
        edge_index, weight = get_laplacian(edge_index, edge_weight, normalization, dtype,
                                           num_nodes)
        if lambda_max is None:
            lambda_max = 2.0 * weight.max()
        weight = (2.0 * weight) / lambda_max
        weight = weight.masked_fill(weight == float('inf'), 0.0)
        loop = edge_index[0] == edge_index[1]
        weight = weight - loop.to(weight.dtype)  # [E']  - I on the diagonal
        return edge_index, weight

    def forward(self, x: Tensor, edge_index: Adj, edge_weight: OptTensor = None,
                batch: OptTensor = None,
                lambda_max: Union[float, Tensor, None] = None) -> Tensor:
        if x.dim() < 2:
            raise ValueError(f"'x' has shape {list(x.shape)}; expected [N, F] or [*, N, F] "
                             f"(e.g. [B, T, N, F]); add a feature dimension with x[..., None]")
        if self.in_channels < 0:  # lazy: materialise the K weights from this input
            for lin in self.lins:
                if is_uninitialized_parameter(lin.weight):
                    lin.initialize_parameters(lin, (x, ))
        check_feature_size(x, self.lins[0].in_channels)
        sparse = is_torch_sparse_tensor(edge_index)
        dense = not sparse and edge_index.is_floating_point()
        if self.normalize:
            if sparse or dense:
                raise ValueError('ChebConv(normalize=True) needs edge_index [2, E]; for a '
                                 'matrix, pass the scaled Laplacian itself to a layer built '
                                 'with normalize=False (see ChebConv.scaled_laplacian)')
            self._check_graph(edge_index, edge_weight)
            edge_index, edge_weight = self.__norm__(
                edge_index, x.size(self.node_dim), edge_weight, self.normalization,
                lambda_max, dtype=x.dtype, batch=batch)
        elif lambda_max is not None or batch is not None:
            raise ValueError("'lambda_max' and 'batch' scale the Laplacian of a layer built "
                             "with normalize=True; with normalize=False pass them to "
                             "ChebConv.scaled_laplacian instead (one graph per call)")
        elif not (sparse or dense):
            self._check_graph(edge_index, edge_weight)
        elif edge_weight is not None:
            raise ValueError("'edge_weight' was given with a matrix; put the weights in the "
                             "matrix's values instead")
        elif tuple(edge_index.shape) != (x.size(-2), x.size(-2)):
            raise ValueError(f"the matrix has shape {list(edge_index.shape)}, but x has "
                             f"{x.size(-2)} nodes; expected [{x.size(-2)}, {x.size(-2)}]")

        if sparse:
            return self._forward_sparse(x, edge_index)
        if dense:
            return self._forward_dense(x, edge_index)
        ts = [x]
        if self.K > 1:
            # propagate_type: (x: Tensor, norm: OptTensor)
            ts.append(self.propagate(edge_index, x=x, norm=edge_weight))  # [*, N, F_in]
        for _ in range(2, self.K):
            h = self.propagate(edge_index, x=ts[-1], norm=edge_weight)
            ts.append(2.0 * h - ts[-2])  # [*, N, F_in]
        return self._combine(ts)

    def _combine(self, ts: List[Tensor]) -> Tensor:
        # One matmul of [T_0 X, ..., T_{K-1} X] with the K weights side by side: lins[k] holds
        # Theta_k^T [F_out, F_in], so the [F_out, K F_in] matrix is their concatenation.
        weight = torch.cat([lin.weight for lin in self.lins], dim=1)  # [F_out, K F_in]
        return F.linear(torch.cat(ts, dim=-1), weight, self.bias)  # [*, N, F_out]

    def _forward_dense(self, x: Tensor, op: Tensor) -> Tensor:
        # Batched dense matmuls in the input's own layout: no copies, no index work, GEMMs
        # in the backward too. The fastest form for small graphs (a few hundred nodes).
        ts = [x]
        if self.K > 1:
            ts.append(torch.matmul(op, x))  # [*, N, F_in]
        for _ in range(2, self.K):
            ts.append(2.0 * torch.matmul(op, ts[-1]) - ts[-2])  # [*, N, F_in]
        return self._combine(ts)

    def _forward_sparse(self, x: Tensor, adj_t: Tensor) -> Tensor:
        # Nodes first, [N, M F] with M the leading dims folded: each polynomial is one sparse
        # matmul, each Theta_k one dense matmul accumulated into the output, and nothing is
        # concatenated. The output stays nodes-first in memory (a [*, N, F_out] view), so a
        # recurrent state fed back into this layer is folded without a copy.
        N, F_in = x.size(-2), x.size(-1)
        lead = x.shape[:-2]
        t_prev = x.movedim(-2, 0).reshape(N, -1)  # [N, M F_in]
        w0 = self.lins[0].weight.t()  # [F_in, F_out]
        if self.bias is not None:
            out = torch.addmm(self.bias, t_prev.view(-1, F_in), w0)  # [N M, F_out]
        else:
            out = t_prev.view(-1, F_in) @ w0  # [N M, F_out]
        if self.K > 1:
            t = spmm(adj_t, t_prev)  # [N, M F_in]
            out = out.addmm_(t.view(-1, F_in), self.lins[1].weight.t())  # [N M, F_out]
            for lin in self.lins[2:]:
                t, t_prev = 2.0 * spmm(adj_t, t) - t_prev, t  # [N, M F_in]
                out = out.addmm_(t.view(-1, F_in), lin.weight.t())  # [N M, F_out]
        return out.view(N, *lead, self.out_channels).movedim(0, -2)  # [*, N, F_out]

    def message(self, x_j: Tensor, norm: OptTensor) -> Tensor:
        # x_j: [*, E, F_in]; no weights (normalize=False only) means weight 1 on each edge
        return x_j if norm is None else norm.view(-1, 1) * x_j
