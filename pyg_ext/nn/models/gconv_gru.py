r"""GConvGRU: a Chebyshev graph convolutional GRU forecaster.

Dimensions: B - batch, T - input steps, N - nodes, E - edges, F - features (F_in, F_out),
H - hidden size.
"""
from typing import Optional

from pyg_ext.nn.models.cheb_graph_rnn_model import ChebGraphRNNModel
from pyg_ext.nn.recurrent.graph_gru_cell import GraphGRUCell


class GConvGRU(ChebGraphRNNModel):
    r"""The graph convolutional GRU of the `"Structured Sequence Modeling with Graph
    Convolutional Recurrent Networks" <https://arxiv.org/abs/1612.07659>`_ paper (Seo et
    al., ICONIP 2018) as a forecaster: :obj:`num_layers` :class:`~pyg_ext.nn.recurrent.
    GraphGRUCell` layers with Chebyshev gates (:meth:`GraphGRUCell.gconv_gru
    <pyg_ext.nn.recurrent.GraphGRUCell.gconv_gru>`),

    .. math::
        \mathbf{z} = \sigma\Big(\sum_{k=0}^{K-1} T_k(\hat{\mathbf{L}}) \mathbf{X}
        \mathbf{\Theta}^{xz}_k + \sum_{k=0}^{K-1} T_k(\hat{\mathbf{L}}) \mathbf{H}
        \mathbf{\Theta}^{hz}_k + \mathbf{b}_z\Big), \quad \ldots

    and a linear readout from the last hidden state to all :obj:`horizon` steps (see
    :class:`~pyg_ext.nn.models.GraphRNNModel`). Seo et al. predict one step (moving MNIST
    frames, Penn Treebank words); the multi-step linear readout is this library's. The
    scaled Laplacian :math:`\hat{\mathbf{L}}` is computed once per forward and shared by
    every gate and step, as a dense matrix for small graphs and a CSR one otherwise.

    Args:
        in_channels (int): Input features :math:`F_{in}`.
        out_channels (int): Output features :math:`F_{out}` per predicted step.
        hidden_channels (int): Hidden size :math:`H`.
        horizon (int): Number of predicted steps.
        num_nodes (int, optional): If given, inputs must have this many nodes (the model
            has no node-specific parameters). (default: :obj:`None`)
        K (int, optional): Number of Chebyshev polynomials. (default: :obj:`2`)
        num_layers (int, optional): Number of recurrent layers. (default: :obj:`1`)
        normalization (str, optional): The Laplacian, :obj:`"sym"`, :obj:`"rw"` or
            :obj:`None` (see :class:`~pyg_ext.nn.conv.ChebConv`). (default: :obj:`"sym"`)
        dropout (float, optional): Dropout between layers. (default: :obj:`0.`)
        dense (bool, optional): Propagate with a dense :math:`\hat{\mathbf{L}}` (batched
            GEMMs) or a CSR one (sparse matmuls). (default: :obj:`None`: dense for graphs
            of at most 256 nodes)

    Shapes:
        - **input:** x :math:`(B, T, N, F_{in})`, edge_index :math:`(2, E)`, edge_weight
          :math:`(E)` *(optional)*
        - **output:** :math:`(B, horizon, N, F_{out})`
    """
    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int,
                 horizon: int, num_nodes: Optional[int] = None, K: int = 2,
                 num_layers: int = 1, normalization: Optional[str] = 'sym',
                 dropout: float = 0.0, dense: Optional[bool] = None):
        cells = [GraphGRUCell.gconv_gru(in_channels if i == 0 else hidden_channels,
                                        hidden_channels, K, normalization, normalize=False)
                 for i in range(num_layers)]
        super().__init__(cells, in_channels, out_channels, hidden_channels, horizon,
                         num_nodes, K, normalization, dropout, dense)
