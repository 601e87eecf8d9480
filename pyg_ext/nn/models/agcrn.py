r"""AGCRN: the adaptive graph convolutional recurrent network.

Dimensions: B - batch, T - input steps, N - nodes, F - features (F_in, F_out), H - hidden
size, D - node embedding size, K - Chebyshev polynomials.
"""
from typing import Optional

import torch
from torch import Tensor, nn
from torch.nn import Parameter
from torch_geometric.typing import OptTensor

from pyg_ext.nn.conv.node_filters import NodeFilters
from pyg_ext.nn.models.graph_rnn_model import GraphRNNModel
from pyg_ext.nn.recurrent.graph_gru_cell import GraphGRUCell
from pyg_ext.nn.recurrent.node_adaptive_gru_scan import node_adaptive_gru_unroll


class AGCRN(GraphRNNModel):
    r"""The adaptive graph convolutional recurrent network from the `"Adaptive Graph
    Convolutional Recurrent Network for Traffic Forecasting"
    <https://arxiv.org/abs/2007.02842>`_ paper (Bai et al., NeurIPS 2020): a stack of GRUs
    whose gates are node-adaptive graph convolutions (NAPL,
    :class:`~pyg_ext.nn.conv.NodeAdaptiveConv`, via :meth:`GraphGRUCell.agcrn
    <pyg_ext.nn.recurrent.GraphGRUCell.agcrn>`) on a graph learned from node embeddings
    :math:`\mathbf{E} \in \mathbb{R}^{N \times D}` (DAGG),

    .. math::
        \mathbf{A} = \mathrm{softmax}\big(\mathrm{ReLU}(\mathbf{E}\mathbf{E}^{\top})\big),
        \qquad \mathbf{\Theta}_n = \mathbf{e}_n \mathbf{W}_{pool}, \quad \mathbf{b}_n =
        \mathbf{e}_n \mathbf{b}_{pool}

    (row-wise softmax; one :math:`\mathbf{E}` shared by the graph and every gate of every
    layer, as in the authors' code), and a linear map from the last hidden state to all
    :obj:`horizon` steps (the paper's :math:`1 \times H` "end convolution" is this linear
    map).

    The graph and the node filters depend on :math:`\mathbf{E}` and the weight pools only,
    not on the time step: :meth:`graph_args` computes :math:`\mathbf{A}` once per forward
    and wraps :math:`\mathbf{E}` in a :class:`~pyg_ext.nn.conv.NodeFilters`, so each gate
    convolution generates its filters :math:`\mathbf{\Theta}_n` and biases
    :math:`\mathbf{b}_n` on its first call of the forward and reuses them (and accumulates
    their gradient) for every later step. Nothing is kept between forwards. With
    :obj:`fused=True` (the default) each layer's recurrence runs as one autograd function
    with a hand-written backward through time
    (:func:`~pyg_ext.nn.recurrent.node_adaptive_gru_scan`: each filter's gradient over all
    steps in one product, no per-step concatenations); it
    computes what the step-by-step :class:`~pyg_ext.blocks.Recurrent` unroll computes,
    which runs instead with :obj:`fused=False` and under :func:`torch.compile`.

    **The given graph is ignored**: AGCRN learns its own, so :obj:`edge_index` and
    :obj:`edge_weight` may be :obj:`None`; they are accepted so that models can be swapped.
    The model has node-specific parameters, so it is tied to :obj:`num_nodes` nodes in a
    fixed order (no permutation equivariance). The embeddings start as :math:`\mathcal{N}(0,
    1)` (the authors' model code; their training script re-initialises them).

    Args:
        in_channels (int): Input features :math:`F_{in}`.
        out_channels (int): Output features :math:`F_{out}` per predicted step.
        hidden_channels (int): Hidden size :math:`H` (the paper's ``rnn_units``, 64).
        horizon (int): Number of predicted steps.
        num_nodes (int): Number of nodes :math:`N` (required).
        K (int, optional): Chebyshev polynomials of :math:`\mathbf{A}` (``cheb_k``).
            (default: :obj:`2`)
        embedding_dim (int, optional): Node embedding size :math:`D` (``embed_dim``).
            (default: :obj:`10`)
        num_layers (int, optional): Number of recurrent layers. (default: :obj:`2`)
        dropout (float, optional): Dropout between layers. (default: :obj:`0.`)
        fused (bool, optional): Run each layer's recurrence as one autograd function with
            a hand-written backward (faster; differentiable once). (default: :obj:`True`)

    Shapes:
        - **input:** x :math:`(B, T, N, F_{in})`, edge_index and edge_weight ignored
        - **output:** :math:`(B, horizon, N, F_{out})`
    """
    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int,
                 horizon: int, num_nodes: Optional[int] = None, K: int = 2,
                 embedding_dim: int = 10, num_layers: int = 2, dropout: float = 0.0,
                 fused: bool = True):
        if num_nodes is None or num_nodes < 1:
            raise ValueError('AGCRN learns one embedding per node; pass num_nodes (the number '
                             'of nodes of the graph the model is trained on)')
        cells = [GraphGRUCell.agcrn(in_channels if i == 0 else hidden_channels,
                                    hidden_channels, K, embedding_dim)
                 for i in range(num_layers)]
        super().__init__(cells, in_channels, out_channels, hidden_channels, horizon,
                         num_nodes, dropout)
        self.K = K
        self.embedding_dim = embedding_dim
        self.fused = fused  # sets the encoder's scan
        self.node_emb = Parameter(torch.empty(num_nodes, embedding_dim))
        self.reset_parameters()

    @property
    def fused(self) -> bool:
        r"""Whether each layer runs the fused recurrence (the encoder's :obj:`scan` is
        :func:`~pyg_ext.nn.recurrent.node_adaptive_gru_unroll`) rather than the
        step-by-step unroll; settable."""
        return self.encoder.scan is not None

    @fused.setter
    def fused(self, value: bool) -> None:
        self.encoder.scan = node_adaptive_gru_unroll if value else None

    def reset_parameters(self):
        r"""Resets the node embeddings, the cells and the readout."""
        super().reset_parameters()
        nn.init.normal_(self.node_emb)

    def adjacency(self) -> Tensor:
        r"""The learned graph :math:`\mathrm{softmax}(\mathrm{ReLU}(\mathbf{E}
        \mathbf{E}^{\top}))`, ``[N, N]`` (row :math:`i` = the weights node :math:`i`
        reads)."""
        return torch.relu(self.node_emb @ self.node_emb.t()).softmax(dim=1)  # [N, N]

    def graph_args(self, x: Tensor, edge_index: OptTensor, edge_weight: OptTensor) -> tuple:
        r"""``(adj [N, N], NodeFilters(node_emb))``: the learned graph and the node
        embeddings with a memo of each gate's filters, both for this forward only."""
        return (self.adjacency(), NodeFilters(self.node_emb))

    def forward(self, x: Tensor, edge_index: OptTensor = None,
                edge_weight: OptTensor = None) -> Tensor:
        return super().forward(x, None, None)

    def _repr_extra(self) -> str:
        return f', num_nodes={self.num_nodes}, K={self.K}, embedding_dim={self.embedding_dim}'
