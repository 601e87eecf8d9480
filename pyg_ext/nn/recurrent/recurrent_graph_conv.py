r"""Gated graph sequence layer (GGNN): message passing repeated with a recurrent node update.

Dimensions: B - batch, T - time, N - nodes, E - edges, F - input features,
H - channels (the node state size), L - number of propagation steps.
"""
from typing import Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn import Parameter
from torch_geometric import is_compiling
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.nn.inits import uniform
from torch_geometric.typing import Adj, OptTensor
from torch_geometric.utils import is_sparse, is_torch_sparse_tensor, spmm

from pyg_ext.blocks.gru_cell import GRUCell
from pyg_ext.blocks.lstm_cell import LSTMCell
from pyg_ext.blocks.rnn_cell import RNNCell
from pyg_ext.utils.checks import check_edge_weight, check_index_range
from pyg_ext.utils.nodes_first import fold_nodes_first, unfold_nodes_first

#: The shared cells that a string ``updater`` names.
UPDATERS = {'gru': GRUCell, 'lstm': LSTMCell, 'rnn': RNNCell}


class RecurrentGraphConv(MessagePassing):
    r"""The gated graph sequence layer from the `"Gated Graph Sequence Neural Networks"
    <https://arxiv.org/abs/1511.05493>`_ paper (Li et al., ICLR 2016), with the node
    updater chosen among the shared recurrent cells of :mod:`pyg_ext.blocks`
    (:class:`~pyg_ext.blocks.gru_cell.GRUCell`,
    :class:`~pyg_ext.blocks.lstm_cell.LSTMCell`, :class:`~pyg_ext.blocks.rnn_cell.RNNCell`):

    .. math::
        \mathbf{h}_i^{(0)} &= \mathbf{x}_i \, \Vert \, \mathbf{0}

        \mathbf{m}_i^{(l+1)} &= \bigoplus_{j \in \mathcal{N}(i)} e_{j,i} \cdot
        \mathbf{\Theta}_l^{\top} \mathbf{h}_j^{(l)}

        \mathbf{h}_i^{(l+1)} &= \mathrm{cell}\left(\mathbf{m}_i^{(l+1)},
        \mathbf{h}_i^{(l)}\right)

    for :math:`l = 0, \ldots, L - 1`, returning :math:`\mathbf{h}^{(L)}`. The input is zero
    padded to :math:`H` channels (so :math:`F \le H`), :math:`\bigoplus` is :obj:`aggr`,
    :math:`e_{j,i}` is the weight of the edge :math:`j \to i` (default :math:`1`) and
    every step has its own :math:`\mathbf{\Theta}_l \in \mathbb{R}^{H \times H}` (stored in
    :obj:`weight[l]`). The cell is one :math:`H \to H` recurrent cell shared by all steps,
    called on the messages as its input and the node states as its state; the GRU, LSTM and
    Elman maths live in the cells, written once. With :obj:`updater='lstm'` the memory
    :math:`\mathbf{c}^{(0)} = \mathbf{0}` is carried between steps and
    :math:`\mathbf{h}^{(L)}` is returned. With :obj:`updater='gru'` the layer equals PyG's
    :class:`~torch_geometric.nn.conv.GatedGraphConv` with the same weights (the cell's
    :obj:`input_map` and :obj:`hidden_map` hold :class:`torch.nn.GRUCell`'s
    :obj:`weight_ih` and :obj:`weight_hh`).

    The graph may be an :obj:`edge_index` tensor, a :class:`torch_geometric.EdgeIndex`, or
    a transposed sparse adjacency :obj:`adj_t` with :obj:`adj_t[i, j]` = :math:`e_{j,i}`
    (a :class:`torch.sparse.Tensor`, or a :class:`torch_sparse.SparseTensor` where
    installed); a COO matrix is turned into CSR once per call, not once per step.
    :obj:`aggr='max'` with a sparse adjacency runs on CPU only (PyG's :func:`spmm` has no
    CUDA max reduction); use an :obj:`edge_index` on GPU.

    Args:
        channels (int): Size :math:`H` of the node states and of the output.
        num_layers (int): Number of propagation steps :math:`L`.
        updater (str or torch.nn.Module, optional): The node updater: :obj:`'gru'`,
            :obj:`'lstm'` or :obj:`'rnn'` builds that shared cell with
            :obj:`input_size = hidden_size = channels`; or pass such a cell yourself (e.g.
            :obj:`GRUCell(H, H, reset_after=False)` or :obj:`LSTMCell(H, H,
            peephole=True)`), whose maps must take no graph arguments. (default: :obj:`'gru'`)
        aggr (str, optional): The aggregation :math:`\bigoplus`: :obj:`'add'`,
            :obj:`'mean'` or :obj:`'max'`. (default: :obj:`'add'`)
        bias (bool, optional): If set to :obj:`False`, a cell built from a string has no
            biases (a cell passed in keeps its own). (default: :obj:`True`)
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input:**
          node features :math:`(*, N, F)` with :math:`F \le H`, e.g. :math:`(N, F)` or
          :math:`(B, T, N, F)`,
          edge indices :math:`(2, E)` or sparse matrix :math:`(N, N)`,
          edge weights :math:`(E)` *(optional)*
        - **output:** node states :math:`(*, N, H)`
    """
    def __init__(self, channels: int, num_layers: int, updater: Union[str, nn.Module] = 'gru',
                 aggr: str = 'add', bias: bool = True, **kwargs):
        kwargs.setdefault('node_dim', -2)
        super().__init__(aggr=aggr, **kwargs)
        if num_layers < 1:
            raise ValueError(f"'num_layers' is {num_layers}; the number of propagation steps "
                             f"must be >= 1")
        if isinstance(updater, str):
            if updater not in UPDATERS:
                raise ValueError(f"updater={updater!r} is not known; use one of "
                                 f"{list(UPDATERS)}, or pass a GRUCell, LSTMCell or RNNCell")
            cell = UPDATERS[updater](channels, channels, bias=bias)
        else:
            cell = updater
            _check_cell(cell, channels)
        self.channels = channels
        self.num_layers = num_layers
        self.updater = updater if isinstance(updater, str) else None
        self.weight = Parameter(torch.empty(num_layers, channels, channels))
        self.cell = cell
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets the per-step weights and the cell."""
        super().reset_parameters()
        uniform(self.channels, self.weight)  # as GatedGraphConv: U(-1/sqrt(H), 1/sqrt(H))
        self.cell.reset_parameters()

    def forward(self, x: Tensor, edge_index: Adj, edge_weight: OptTensor = None) -> Tensor:
        if x.dim() < 2:
            raise ValueError(f"'x' has shape {list(x.shape)}; expected [N, F] or [*, N, F] "
                             f"(e.g. [B, T, N, F]); add a feature dimension with x[..., None]")
        if x.size(-1) > self.channels:
            raise ValueError(f"'x' has {x.size(-1)} features, more than the layer's "
                             f"channels={self.channels} (the input is zero padded to the "
                             f"state size); build the layer with channels>={x.size(-1)} or "
                             f"project x to at most {self.channels} features first")
        edge_index = self._check_graph(edge_index, edge_weight, x.size(self.node_dim))
        if is_compiling() or torch.jit.is_scripting():
            return self._forward(x, edge_index, edge_weight)
        try:
            return self._forward(x, edge_index, edge_weight)
        except (IndexError, RuntimeError, ValueError) as e:
            check_index_range(edge_index, x.size(self.node_dim), error=e)
            raise

    def _forward(self, x: Tensor, edge_index: Adj, edge_weight: OptTensor) -> Tensor:
        h = F.pad(x, (0, self.channels - x.size(-1)))  # [*, N, H]
        lstm = isinstance(self.cell, LSTMCell)
        state = (h, torch.zeros_like(h)) if lstm else h
        for weight in self.weight:  # L steps, [H, H] each
            m = self.propagate(edge_index, x=h @ weight, edge_weight=edge_weight)  # [*, N, H]
            state = self.cell(m, state)
            h = state[0] if lstm else state  # [*, N, H]
        return h

    def _check_graph(self, edge_index: Adj, edge_weight: OptTensor, num_nodes: int) -> Adj:
        if is_sparse(edge_index):
            if edge_weight is not None:
                raise ValueError("'edge_weight' was given with a sparse adjacency; put the "
                                 "weights in the sparse matrix's values instead")
            if tuple(edge_index.size()) != (num_nodes, num_nodes):
                raise ValueError(f"the sparse adjacency has shape {list(edge_index.size())}, "
                                 f"but x has {num_nodes} nodes; expected [{num_nodes}, "
                                 f"{num_nodes}]")
            if is_torch_sparse_tensor(edge_index) and edge_index.layout == torch.sparse_coo:
                edge_index = edge_index.to_sparse_csr()  # once, not once per step
            return edge_index
        check_edge_weight(edge_index, edge_weight)
        return edge_index

    def message(self, x_j: Tensor, edge_weight: OptTensor) -> Tensor:
        # x_j: [*, E, H]
        return x_j if edge_weight is None else edge_weight.view(-1, 1) * x_j

    def message_and_aggregate(self, adj_t: Adj, x: Tensor) -> Tensor:
        # Sparse path: one spmm over all leading dims (sum, mean and max act per column).
        if x.dim() == 2:
            return spmm(adj_t, x, reduce=self.aggr)  # [N, H]
        h, lead = fold_nodes_first(x)  # [N, M H]
        out = spmm(adj_t, h, reduce=self.aggr)  # [N, M H]
        return unfold_nodes_first(out, h.size(0), lead, x.size(-1))  # [*, N, H]

    def __repr__(self) -> str:
        updater = repr(self.updater) if self.updater is not None else repr(self.cell)
        extra = f', aggr={self.aggr!r}' if self.aggr != 'add' else ''
        return (f'{self.__class__.__name__}({self.channels}, num_layers={self.num_layers}, '
                f'updater={updater}{extra})')


def _check_cell(cell: nn.Module, channels: int) -> None:
    if not isinstance(cell, (GRUCell, LSTMCell, RNNCell)):
        raise ValueError(f"updater is a {type(cell).__name__}; pass 'gru', 'lstm', 'rnn', or "
                         f"a GRUCell, LSTMCell or RNNCell from pyg_ext.blocks")
    if cell.input_size != channels or cell.hidden_size != channels:
        raise ValueError(f"the updater cell maps {cell.input_size} -> {cell.hidden_size} "
                         f"features, but the layer has channels={channels}; build it as "
                         f"{type(cell).__name__}({channels}, {channels})")

