r"""A3T-GCN: T-GCN with attention over the hidden states of the input window.

Dimensions: B - batch, T - input steps, N - nodes, E - edges, F - features (F_in, F_out),
H - hidden size, A - attention hidden size.
"""
from typing import Optional

import torch
from torch import Tensor, nn
from torch_geometric.typing import OptTensor

from pyg_ext.nn.models.graph_rnn_model import GraphRNNModel, gcn_graph
from pyg_ext.nn.recurrent.graph_gru_cell import GraphGRUCell


class A3TGCN(GraphRNNModel):
    r"""The attention temporal graph convolutional network from the `"A3T-GCN: Attention
    Temporal Graph Convolutional Network for Traffic Forecasting"
    <https://doi.org/10.3390/ijgi10070485>`_ paper (Bai et al., ISPRS IJGI 2021). A T-GCN
    (:class:`~pyg_ext.nn.models.TGCN`) runs across all :math:`T` input steps, carrying its
    state from step to step; an attention MLP weighs the hidden states of all steps, and a
    linear layer maps the context to all :obj:`horizon` steps:

    .. math::
        \mathbf{h}_{1..T} &= \mathrm{TGCN}(\mathbf{X}_{1..T}, \mathcal{G})

        e_{t} &= \mathbf{w}_{2}^{\top} \tanh(\mathbf{W}_{1} \mathbf{h}_{t} +
        \mathbf{b}_{1}), \qquad \alpha_{t} = \frac{\exp(e_{t})}{\sum_{s=1}^{T}
        \exp(e_{s})}

        \mathbf{c} &= \sum_{t=1}^{T} \alpha_t \mathbf{h}_t, \qquad
        \hat{\mathbf{Y}} = \mathbf{W}_{out} \mathbf{c} + \mathbf{b}_{out}

    for every node and window separately (so the model stays permutation equivariant).
    Differences from the paper, which writes the score as :math:`\mathbf{w}_{(2)}
    (\mathbf{w}_{(1)} \mathbf{h}_t + \mathbf{b}_{(1)}) + b_{(2)}`: a :math:`\tanh` sits
    between the two layers (without it they collapse into one linear score), and
    :math:`b_{(2)}` is dropped (a softmax ignores it). PyG Temporal's ``A3TGCN`` instead
    restarts the T-GCN from a zero state at every step and weighs the steps with a learned
    vector that does not look at the data, so its output does not depend on the order of
    the input steps; this one does.

    Args:
        in_channels (int): Input features :math:`F_{in}`.
        out_channels (int): Output features :math:`F_{out}` per predicted step.
        hidden_channels (int): Hidden size :math:`H`.
        horizon (int): Number of predicted steps.
        num_nodes (int, optional): If given, inputs must have this many nodes (the model
            has no node-specific parameters). (default: :obj:`None`)
        num_layers (int, optional): Number of T-GCN layers. (default: :obj:`1`)
        attention_channels (int, optional): Hidden size :math:`A` of the attention MLP.
            (default: :obj:`None`, :math:`H`)
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
                 attention_channels: Optional[int] = None, dropout: float = 0.0,
                 gate_bias: float = 0.0):
        cells = [GraphGRUCell.tgcn(in_channels if i == 0 else hidden_channels,
                                   hidden_channels, normalize=False,
                                   gate_bias=gate_bias)
                 for i in range(num_layers)]
        super().__init__(cells, in_channels, out_channels, hidden_channels, horizon,
                         num_nodes, dropout)
        self.attention_channels = attention_channels or hidden_channels
        self.att_hidden = nn.Linear(hidden_channels, self.attention_channels)
        self.att_score = nn.Linear(self.attention_channels, 1, bias=False)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets the T-GCN, the attention MLP and the readout."""
        super().reset_parameters()
        self.att_hidden.reset_parameters()
        self.att_score.reset_parameters()

    def graph_args(self, x: Tensor, edge_index: Tensor, edge_weight: OptTensor) -> tuple:
        return gcn_graph(edge_index, edge_weight, x.size(2), x.dtype)

    def attention_weights(self, h: Tensor) -> Tensor:
        r"""The weights :math:`\alpha` of the hidden states ``h [B, T, N, H]``, shape
        ``[B, T, N, 1]`` (summing to one over :math:`T`)."""
        score = self.att_score(torch.tanh(self.att_hidden(h)))  # [B, T, N, 1]
        return score.softmax(dim=1)

    def readout(self, h: Tensor) -> Tensor:
        context = (self.attention_weights(h) * h).sum(dim=1)  # [B, N, H]
        return self._project(context)
