r"""T-GCN: the temporal graph convolutional network.

Dimensions: B - batch, T - input steps, N - nodes, E - edges, F - features (F_in, F_out),
H - hidden size.
"""
from typing import Optional

from torch import Tensor
from torch_geometric.typing import OptTensor

from pyg_ext.nn.models.graph_rnn_model import GraphRNNModel, gcn_graph
from pyg_ext.nn.recurrent.graph_gru_cell import GraphGRUCell


class TGCN(GraphRNNModel):
    r"""The temporal graph convolutional network from the `"T-GCN: A Temporal Graph
    Convolutional Network for Traffic Prediction" <https://arxiv.org/abs/1811.05320>`_ paper
    (Zhao et al., T-ITS 2019): a GRU whose gates are one-hop GCNs,

    .. math::
        \mathbf{u}_t, \mathbf{r}_t &= \sigma\big(\hat{\mathbf{A}} [\mathbf{X}_t,
        \mathbf{H}_{t-1}] \mathbf{W} + \mathbf{b}\big)

        \mathbf{c}_t &= \tanh\big(\hat{\mathbf{A}} [\mathbf{X}_t, \mathbf{r}_t \odot
        \mathbf{H}_{t-1}] \mathbf{W}_c + \mathbf{b}_c\big)

        \mathbf{H}_t &= \mathbf{u}_t \odot \mathbf{H}_{t-1} + (1 - \mathbf{u}_t) \odot
        \mathbf{c}_t

    with :math:`\hat{\mathbf{A}} = \tilde{\mathbf{D}}^{-1/2} (\mathbf{A} + \mathbf{I})
    \tilde{\mathbf{D}}^{-1/2}` (computed once per forward), and a linear map from the last
    hidden state to all :obj:`horizon` steps, as the authors' code does. The cell is
    :meth:`GraphGRUCell.tgcn <pyg_ext.nn.recurrent.GraphGRUCell.tgcn>`; like the authors'
    code it convolves the state too, where the paper's equations write the graph
    convolution :math:`f(\mathbf{A}, \mathbf{X}_t)` of the input only (the form of PyG
    Temporal's ``TGCN``). The reset and update gate biases start at :obj:`gate_bias`, 0 by
    default (the authors' code: 1). On a directed graph, :math:`\tilde{\mathbf{D}}`
    counts in-degrees (PyG's ``gcn_norm``).

    Args:
        in_channels (int): Input features :math:`F_{in}`.
        out_channels (int): Output features :math:`F_{out}` per predicted step.
        hidden_channels (int): Hidden size :math:`H`.
        horizon (int): Number of predicted steps.
        num_nodes (int, optional): If given, inputs must have this many nodes (the model
            has no node-specific parameters). (default: :obj:`None`)
        num_layers (int, optional): Number of recurrent layers (the paper uses 1).
            (default: :obj:`1`)
        dropout (float, optional): Dropout between layers. (default: :obj:`0.`)
        gate_bias (float, optional): The starting bias of every reset and update gate
            (the authors' code: 1). (default: :obj:`0.`)

    Shapes:
        - **input:** x :math:`(B, T, N, F_{in})`, edge_index :math:`(2, E)`, edge_weight
          :math:`(E)` *(optional)*
        - **output:** :math:`(B, horizon, N, F_{out})`
    """
    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int,
                 horizon: int, num_nodes: Optional[int] = None, num_layers: int = 1,
                 dropout: float = 0.0, gate_bias: float = 0.0):
        cells = [GraphGRUCell.tgcn(in_channels if i == 0 else hidden_channels,
                                   hidden_channels, normalize=False,
                                   gate_bias=gate_bias)
                 for i in range(num_layers)]
        super().__init__(cells, in_channels, out_channels, hidden_channels, horizon,
                         num_nodes, dropout)

    def graph_args(self, x: Tensor, edge_index: Tensor, edge_weight: OptTensor) -> tuple:
        return gcn_graph(edge_index, edge_weight, x.size(2), x.dtype)
