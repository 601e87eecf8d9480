r"""The encoder-only graph recurrent forecaster that GConvGRU, GConvLSTM, T-GCN, A3T-GCN and
AGCRN are built on, and the graph preparations they share.

Dimensions: B - batch, T - input steps, N - nodes, E - edges, F - features (F_in, F_out),
H - hidden size, L - layers.
"""
import warnings
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor, nn
from torch_geometric import is_compiling
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.typing import OptTensor
from torch_geometric.utils import to_torch_csr_tensor

from pyg_ext.blocks.recurrent import Recurrent
from pyg_ext.nn.conv.cheb_conv import ChebConv
from pyg_ext.utils.checks import (
    check_edge_weight,
    check_feature_size,
    check_index_range,
)


class GraphRNNModel(nn.Module):
    r"""An encoder-only graph recurrent forecaster: a :class:`~pyg_ext.blocks.Recurrent`
    stack of graph recurrent cells reads the window :math:`\mathbf{X}_{1..T}`, and a linear
    readout maps the last layer's last hidden state of every node to all
    :obj:`horizon` steps at once:

    .. math::
        \mathbf{H}_{1..T} = \mathrm{Recurrent}(\mathbf{X}_{1..T}, \mathcal{G}), \qquad
        \hat{\mathbf{Y}}_{n} = \mathbf{W}_{out} \mathbf{h}_{T, n} + \mathbf{b}_{out}
        \in \mathbb{R}^{horizon \times F_{out}}

    Subclasses pick the cells and override :meth:`graph_args`, which turns
    ``(edge_index, edge_weight)`` into the arguments of the cells' gate convolutions once
    per forward (e.g. the scaled Laplacian as a sparse matrix), so no gate of any step
    normalises the graph again, and may override :meth:`readout` (A3T-GCN attends over all
    steps).

    Args:
        cells (list of torch.nn.Module): The graph recurrent cells, in layer order.
        in_channels (int): Input features :math:`F_{in}`.
        out_channels (int): Output features :math:`F_{out}` per predicted step.
        hidden_channels (int): Hidden size :math:`H` of the last cell.
        horizon (int): Number of predicted steps.
        num_nodes (int, optional): If given, inputs must have this many nodes.
            (default: :obj:`None`)
        dropout (float, optional): Dropout between recurrent layers. (default: :obj:`0.`)

    Shapes:
        - **input:** x :math:`(B, T, N, F_{in})`, edge_index :math:`(2, E)`, edge_weight
          :math:`(E)` *(optional)*
        - **output:** :math:`(B, horizon, N, F_{out})`
    """
    #: Whether :meth:`forward` takes ``targets`` and ``batches_seen`` (DCRNN only).
    supports_teacher_forcing = False

    def __init__(self, cells: Sequence[nn.Module], in_channels: int, out_channels: int,
                 hidden_channels: int, horizon: int, num_nodes: Optional[int] = None,
                 dropout: float = 0.0):
        super().__init__()
        if horizon < 1:
            raise ValueError(f'horizon={horizon}; pass the number of steps to predict (>= 1)')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.hidden_channels = hidden_channels
        self.horizon = horizon
        self.num_nodes = num_nodes
        self.encoder = Recurrent(list(cells), dropout=dropout)
        self.out = nn.Linear(hidden_channels, horizon * out_channels)
        # Not self.reset_parameters(): a subclass's override may reset children it builds
        # after this; such subclasses end their own __init__ with self.reset_parameters().
        GraphRNNModel.reset_parameters(self)

    @property
    def num_layers(self) -> int:
        return self.encoder.num_layers

    def reset_parameters(self):
        r"""Resets the cells and the readout."""
        self.encoder.reset_parameters()
        self.out.reset_parameters()

    def graph_args(self, x: Tensor, edge_index: Tensor, edge_weight: OptTensor) -> tuple:
        r"""The arguments given to every gate convolution, computed once per forward."""
        return (edge_index, edge_weight)

    def readout(self, h: Tensor) -> Tensor:
        r"""Maps the last layer's outputs ``h [B, T, N, H]`` to ``[B, horizon, N, F_out]``.
        """
        return self._project(h[:, -1])

    def _project(self, h: Tensor) -> Tensor:
        B, N = h.size(0), h.size(1)
        out = self.out(h)  # [B, N, horizon F_out]
        out = out.view(B, N, self.horizon, self.out_channels)  # [B, N, horizon, F_out]
        return out.transpose(1, 2)  # [B, horizon, N, F_out]

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: OptTensor = None) -> Tensor:
        check_model_input(x, edge_index, edge_weight, self.in_channels, self.num_nodes)
        if is_compiling():
            return self._forward(x, edge_index, edge_weight)
        try:
            return self._forward(x, edge_index, edge_weight)
        except (IndexError, RuntimeError) as e:
            if edge_index is not None:
                check_index_range(edge_index, x.size(2), error=e)
            raise

    def _forward(self, x: Tensor, edge_index: Tensor, edge_weight: OptTensor) -> Tensor:
        args = self.graph_args(x, edge_index, edge_weight)
        h, _ = self.encoder(x, None, *args)  # [B, T, N, H]
        return self.readout(h)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'hidden_channels={self.hidden_channels}, horizon={self.horizon}, '
                f'num_layers={self.num_layers}{self._repr_extra()})')

    def _repr_extra(self) -> str:
        return ''


def check_model_input(x: Tensor, edge_index: OptTensor, edge_weight: OptTensor,
                      in_channels: int, num_nodes: Optional[int]) -> None:
    r"""Shape checks of a forecaster's inputs (shapes only: no device sync); an
    ``edge_index`` of :obj:`None` is not checked (for models that learn their graph)."""
    if x.dim() != 4:
        raise ValueError(f"'x' has shape {list(x.shape)}; expected [B, T_in, N, F_in] (for one "
                         f"window use x.unsqueeze(0); for one feature use x[..., None])")
    check_feature_size(x, in_channels)
    if num_nodes is not None and x.size(2) != num_nodes:
        raise ValueError(f"'x' has {x.size(2)} nodes in dimension 2, but the model was built "
                         f"with num_nodes={num_nodes}; build it with num_nodes={x.size(2)} or "
                         f"pass the graph it was built for")
    if edge_index is None:
        return
    check_edge_weight(edge_index, edge_weight)


def sparse_adjacency_t(edge_index: Tensor, edge_weight: OptTensor, num_nodes: int,
                       dtype: torch.dtype) -> Tensor:
    r"""The transposed adjacency :math:`\mathbf{A}^{\top}` as a CSR matrix
    (``adj_t[j, i] = w`` for the edge :math:`i \to j`), the sparse form PyG layers take."""
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.size(1), dtype=dtype, device=edge_index.device)
    with warnings.catch_warnings():  # torch's "sparse CSR is in beta" notice
        warnings.simplefilter('ignore', UserWarning)
        return to_torch_csr_tensor(edge_index.flip(0), edge_weight.to(dtype),
                                   size=(num_nodes, num_nodes))


#: Graphs with at most this many nodes get dense operators by default (batched GEMMs beat
#: sparse matmuls there: no index work, no layout changes, no sparse transposes in the
#: backward); larger graphs get CSR matrices.
DENSE_MAX_NODES = 256


def dense_adjacency_t(edge_index: Tensor, edge_weight: OptTensor, num_nodes: int,
                      dtype: torch.dtype) -> Tensor:
    r"""The transposed adjacency :math:`\mathbf{A}^{\top}` as a dense ``[N, N]`` matrix
    (``adj_t[j, i] = w`` for the edge :math:`i \to j`, duplicates summed)."""
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.size(1), dtype=dtype, device=edge_index.device)
    adj_t = torch.zeros(num_nodes, num_nodes, dtype=dtype, device=edge_index.device)
    return adj_t.index_put_((edge_index[1], edge_index[0]), edge_weight.to(dtype),
                            accumulate=True)


def scaled_laplacian_t(edge_index: Tensor, edge_weight: OptTensor, num_nodes: int,
                       dtype: torch.dtype, normalization: Optional[str] = 'sym',
                       dense: Optional[bool] = None) -> Tensor:
    r"""The scaled Laplacian of :class:`~pyg_ext.nn.conv.ChebConv`, transposed, for
    ``ChebConv(normalize=False)``: dense if :obj:`dense` (default: for graphs of at most
    :obj:`DENSE_MAX_NODES` nodes), else a CSR matrix."""
    lap_index, lap_weight = ChebConv.scaled_laplacian(edge_index, edge_weight, num_nodes,
                                                      normalization, dtype=dtype)
    if dense is None:
        dense = num_nodes <= DENSE_MAX_NODES
    if dense:
        return dense_adjacency_t(lap_index, lap_weight, num_nodes, dtype)
    return sparse_adjacency_t(lap_index, lap_weight, num_nodes, dtype)


def gcn_graph(edge_index: Tensor, edge_weight: OptTensor, num_nodes: int,
              dtype: torch.dtype) -> Tuple[Tensor, Tensor]:
    r""":math:`\tilde{\mathbf{D}}^{-1/2}(\mathbf{A} + \mathbf{I})\tilde{\mathbf{D}}^{-1/2}` as
    ``(edge_index, edge_weight)`` for ``GCNConv(normalize=False)``."""
    if edge_weight is not None:
        edge_weight = edge_weight.to(dtype)
    return gcn_norm(edge_index, edge_weight, num_nodes, add_self_loops=True, dtype=dtype)
