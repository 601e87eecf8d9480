r"""One layer of Graph WaveNet: gated dilated TCN, skip output, diffusion + adaptive graph conv.

Legend: B - batch, T - input steps, T' = T - (K_t - 1) d output steps, T_s - steps kept for
the skip output, N - nodes, E - edges, C - residual channels, D - dilation (gate) channels,
S - skip channels, K - diffusion steps per support, K_t - temporal kernel, d - dilation.
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.typing import Adj, OptTensor

from pyg_ext.blocks.gated_temporal_conv import GatedTemporalConv
from pyg_ext.blocks.pointwise_conv import PointwiseConv
from pyg_ext.nn.conv.diff_conv import DiffConv, DiffusionSupports


class GraphWaveNetLayer(nn.Module):
    r"""One layer of the `"Graph WaveNet for Deep Spatial-Temporal Graph Modeling"
    <https://arxiv.org/abs/1906.00121>`_ paper (Wu et al., IJCAI 2019): a dilated causal
    gated temporal conv (WaveNet's :math:`\tanh \odot \sigma` gate, 'valid' padding), a
    :math:`1 \times 1` skip projection of its output, and the graph conv of the paper's
    Eq. 7 with the residual of the layer's input and a batch norm:

    .. math::
        \mathbf{H} &= \tanh(\mathbf{W}_f \star_d \mathbf{X}) \odot
        \sigma(\mathbf{W}_g \star_d \mathbf{X}), \qquad
        \mathbf{S} = \mathbf{W}_s \mathbf{H}_{[-T_s:]} + \mathbf{b}_s

        \mathbf{Z} &= \sum_{k=0}^{K} \mathbf{P}_f^k \mathbf{H} \mathbf{W}_{k1} +
        \mathbf{P}_b^k \mathbf{H} \mathbf{W}_{k2} + \sum_{k=1}^{K}
        \tilde{\mathbf{A}}_{apt}^k \mathbf{H} \mathbf{W}_{k3}

        \mathbf{Y} &= \mathrm{BN}\big(\mathrm{dropout}(\mathbf{Z}) + \mathrm{crop}(\mathbf{X})
        \big)

    The diffusion over the given graph (forward :math:`\mathbf{P}_f = \mathbf{D}_O^{-1}
    \mathbf{W}` and backward :math:`\mathbf{P}_b = \mathbf{D}_I^{-1}\mathbf{W}^\top`
    transitions) is a :class:`~pyg_ext.nn.conv.diff_conv.DiffConv` (whose :math:`k = 0`
    terms share one weight; pass the
    :class:`~pyg_ext.nn.conv.diff_conv.DiffusionSupports` of :meth:`DiffConv.transitions
    <pyg_ext.nn.conv.diff_conv.DiffConv.transitions>` in place of :obj:`edge_index` to
    normalise the graph once for a stack of layers, as the model does); the adaptive term
    takes the powers
    :math:`[\tilde{\mathbf{A}}_{apt}, \ldots, \tilde{\mathbf{A}}_{apt}^K]` (dense,
    computed once per forward by the model from its node embeddings) and multiplies the
    :math:`K` propagated copies with one :math:`[K D, C]` weight. The skip output is taken
    only at the last :obj:`skip_steps` steps, the only ones a forecast from the last step
    reads.

    Args:
        channels (int): Residual channels :math:`C` (input and output).
        dilation_channels (int): Gate channels :math:`D`.
        skip_channels (int): Skip channels :math:`S`.
        kernel_size (int, optional): Temporal kernel :math:`K_t`. (default: :obj:`2`)
        dilation (int, optional): Temporal dilation :math:`d`. (default: :obj:`1`)
        K (int, optional): Diffusion steps :math:`K` per support. (default: :obj:`2`)
        graph_conv (bool, optional): If :obj:`False`, the layer has no graph conv, residual
            or batch norm and returns :math:`\mathbf{H}` (Graph WaveNet's last layer, whose
            graph conv output no forecast reads). (default: :obj:`True`)
        adaptive (bool, optional): Learn the adaptive-adjacency weights
            :math:`\mathbf{W}_{k3}`. (default: :obj:`True`)
        dropout (float, optional): Dropout on the graph conv output. (default: :obj:`0.3`)

    Shapes:
        - **input:** ``x`` :math:`(B, T, N, C)`, ``edge_index`` :math:`(2, E)`, a sparse
          adjacency :math:`(N, N)` or the ``DiffusionSupports`` of :math:`N` nodes (see
          :class:`~pyg_ext.nn.conv.diff_conv.DiffConv`), ``edge_weight`` :math:`(E)`
          *(optional; only with an edge index)*, ``adaptive_powers`` :math:`(K, N, N)`
          *(with adaptive=True)*, ``skip_steps`` an int :math:`T_s \le T'`
        - **output:** ``(x, skip)``: :math:`(B, T', N, C)` (:math:`(B, T', N, D)` without a
          graph conv) and :math:`(B, T_s, N, S)`
    """
    def __init__(self, channels: int, dilation_channels: int, skip_channels: int,
                 kernel_size: int = 2, dilation: int = 1, K: int = 2, graph_conv: bool = True,
                 adaptive: bool = True, dropout: float = 0.3):
        super().__init__()
        self.channels = channels
        self.dilation_channels = dilation_channels
        self.skip_channels = skip_channels
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.K = K
        self.dropout = dropout
        self.tcn = GatedTemporalConv(channels, dilation_channels, kernel_size, dilation=dilation,
                                     gate='tanh', padding='valid')
        self.skip = PointwiseConv(dilation_channels, skip_channels)
        self.diff_conv = DiffConv(dilation_channels, channels, K) if graph_conv else None
        if graph_conv and adaptive:
            self.adaptive_weight = nn.Parameter(torch.empty(K * dilation_channels, channels))
        else:
            self.register_parameter('adaptive_weight', None)
        self.norm = nn.BatchNorm1d(channels) if graph_conv else None
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets the temporal conv, the skip projection, the graph convs and the norm."""
        self.tcn.reset_parameters()
        self.skip.reset_parameters()
        if self.diff_conv is not None:
            self.diff_conv.reset_parameters()
            self.norm.reset_parameters()
        if self.adaptive_weight is not None:
            nn.init.xavier_uniform_(self.adaptive_weight.view(
                self.K, self.dilation_channels, self.channels))

    def forward(self, x: Tensor, edge_index: Union[Adj, DiffusionSupports],
                edge_weight: OptTensor = None, adaptive_powers: Optional[Tensor] = None,
                skip_steps: int = 1) -> Tuple[Tensor, Tensor]:
        h = self.tcn(x)  # [B, T', N, D]
        skip = self.skip(h[:, h.size(1) - skip_steps:])  # [B, T_s, N, S]
        if self.diff_conv is None:
            return h, skip
        z = self.diff_conv(h, edge_index, edge_weight)  # [B, T', N, C]
        if self.adaptive_weight is not None:
            if adaptive_powers is None:
                raise ValueError(f"{self} learns adaptive-adjacency weights; pass "
                                 f"adaptive_powers [K={self.K}, N, N]")
            B, T, N, D = h.shape
            # Nodes first, so that all K powers and all B T' slices are one GEMM (and its
            # backward two GEMMs, without a [B T', K N, N] intermediate).
            hn = h.permute(2, 0, 1, 3).reshape(N, B * T * D)  # [N, B T' D]
            ah = adaptive_powers.reshape(self.K * N, N) @ hn  # [K N, B T' D]
            ah = ah.view(self.K, N, B, T, D).permute(2, 3, 1, 0, 4)  # [B, T', N, K, D]
            ah = ah.reshape(B, T, N, self.K * D)  # [B, T', N, K D]
            z = z + ah @ self.adaptive_weight  # [B, T', N, C]
        z = F.dropout(z, p=self.dropout, training=self.training)
        out = z + x[:, x.size(1) - z.size(1):]  # [B, T', N, C]
        return self.norm(out.reshape(-1, self.channels)).view(out.shape), skip

    def __repr__(self) -> str:
        extra = '' if self.diff_conv is not None else ', graph_conv=False'
        return (f'{self.__class__.__name__}({self.channels}, {self.dilation_channels}, '
                f'{self.skip_channels}, kernel_size={self.kernel_size}, '
                f'dilation={self.dilation}{extra})')
