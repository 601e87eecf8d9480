r"""ChebGraphRNNModel: the graph recurrent forecaster whose gates are Chebyshev convolutions
(the base of GConvGRU and GConvLSTM).

Dimensions: B - batch, T - input steps, N - nodes, E - edges, F - features (F_in, F_out),
H - hidden size.
"""
from typing import Optional, Sequence

from torch import Tensor, nn
from torch_geometric.typing import OptTensor

from pyg_ext.nn.models.graph_rnn_model import GraphRNNModel, scaled_laplacian_t


class ChebGraphRNNModel(GraphRNNModel):
    r"""A :class:`~pyg_ext.nn.models.GraphRNNModel` whose cells' gates are
    :class:`~pyg_ext.nn.conv.ChebConv` layers built with ``normalize=False``: the scaled
    Laplacian

    .. math::
        \hat{\mathbf{L}} = \frac{2}{\lambda_{\max}} \mathbf{L} - \mathbf{I}

    (:math:`\lambda_{\max}` estimated as :meth:`ChebConv.scaled_laplacian
    <pyg_ext.nn.conv.ChebConv.scaled_laplacian>` does) is computed once per forward
    (:meth:`graph_args`) and shared by every gate and step, as a dense matrix for small
    graphs and a CSR one otherwise. :class:`~pyg_ext.nn.models.GConvGRU` and
    :class:`~pyg_ext.nn.models.GConvLSTM` are this model with their cells.

    Args:
        cells (list of torch.nn.Module): The graph recurrent cells, in layer order, whose
            Chebyshev gates are built with ``normalize=False``.
        in_channels, out_channels, hidden_channels, horizon, num_nodes, dropout: As in
            :class:`~pyg_ext.nn.models.GraphRNNModel`.
        K (int, optional): The cells' number of Chebyshev polynomials, shown in the
            printout. (default: :obj:`2`)
        normalization (str, optional): The Laplacian that
            :meth:`~pyg_ext.nn.conv.ChebConv.scaled_laplacian` builds. (default: :obj:`"sym"`)
        dense (bool, optional): A dense (:obj:`True`) or CSR (:obj:`False`) Laplacian.
            (default: :obj:`None`: dense for graphs of at most
            :obj:`~pyg_ext.nn.models.graph_rnn_model.DENSE_MAX_NODES` nodes)

    Shapes:
        - **input:** x :math:`(B, T, N, F_{in})`, edge_index :math:`(2, E)`, edge_weight
          :math:`(E)` *(optional)*
        - **output:** :math:`(B, horizon, N, F_{out})`
    """
    def __init__(self, cells: Sequence[nn.Module], in_channels: int, out_channels: int,
                 hidden_channels: int, horizon: int, num_nodes: Optional[int] = None,
                 K: int = 2, normalization: Optional[str] = 'sym', dropout: float = 0.0,
                 dense: Optional[bool] = None):
        super().__init__(cells, in_channels, out_channels, hidden_channels, horizon,
                         num_nodes, dropout)
        self.K = K
        self.normalization = normalization
        self.dense = dense

    def graph_args(self, x: Tensor, edge_index: Tensor, edge_weight: OptTensor) -> tuple:
        r"""The transposed scaled Laplacian ``[N, N]`` (dense or CSR), once per forward."""
        return (scaled_laplacian_t(edge_index, edge_weight, x.size(2), x.dtype,
                                   self.normalization, self.dense), )

    def _repr_extra(self) -> str:
        return f', K={self.K}'
