r"""The spatio-temporal convolution block of STGCN.

Legend: B - batch, T - input steps, T' = T - 2 (K_t - 1) output steps, N - nodes, E - edges,
F - input features, H - output features, S - spatial (bottleneck) features, K_t - temporal
kernel size, K - Chebyshev polynomials.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.typing import Adj, OptTensor

from pyg_ext.blocks.gated_temporal_conv import GatedTemporalConv
from pyg_ext.blocks.pointwise_conv import PointwiseConv
from pyg_ext.blocks.residual_temporal_stack import ResidualTemporalStack
from pyg_ext.nn.conv.cheb_conv import ChebConv


class STConvBlock(nn.Module):
    r"""The spatio-temporal convolutional block ("ST-Conv block") from the `"Spatio-Temporal
    Graph Convolutional Networks: A Deep Learning Framework for Traffic Forecasting"
    <https://arxiv.org/abs/1709.04875>`_ paper (Yu et al., IJCAI 2018): a gated temporal
    convolution, a graph convolution with ReLU, a second gated temporal convolution and a
    layer norm ("sandwich" structure, channels :math:`(H, S, H)`):

    .. math::
        \mathbf{Z} &= \mathbf{P}_1\big(\mathrm{crop}(\mathbf{X})\big) +
        \mathrm{GLU}_1(\mathbf{X}), \qquad
        \mathbf{U} = \mathrm{ReLU}\big(\Theta \ast_{\mathcal{G}} \mathbf{Z}\big)

        \mathbf{Y} &= \mathrm{LN}\Big(\mathbf{P}_2\big(\mathrm{crop}(\mathbf{U})\big) +
        \mathrm{GLU}_2(\mathbf{U})\Big)

    where :math:`\mathrm{GLU}(\mathbf{X}) = \mathbf{P} \odot \sigma(\mathbf{Q})`,
    :math:`[\mathbf{P} \| \mathbf{Q}] = \mathbf{W} \ast \mathbf{X}`, is a 'valid'
    :class:`~pyg_ext.blocks.GatedTemporalConv` of kernel :math:`K_t` over time (shared by all
    nodes, each shortens time by :math:`K_t - 1`), wrapped in a
    :class:`~pyg_ext.blocks.ResidualTemporalStack` whose shortcut :math:`\mathbf{P}` keeps
    the last steps (a bias-free :math:`1 \times 1` conv where the width changes). The
    paper's code also has this shortcut, but inside the gate, :math:`(\mathbf{P} +
    \mathbf{X}) \odot \sigma(\mathbf{Q})`; here it is added after the gate, so the
    gated conv stays the shared block. :math:`\Theta \ast_{\mathcal{G}}` is a
    :class:`~pyg_ext.nn.conv.cheb_conv.ChebConv` with :math:`K` polynomials applied to every
    time step (or any graph conv passed as :obj:`conv`, e.g. PyG's ``GCNConv(...,
    node_dim=-2)``); :math:`\mathrm{LN}` normalises each (sample, step) over nodes and
    channels jointly, as the paper's code does, with a per-channel scale and shift (the
    paper's is per node and channel; per channel keeps the block free of node-specific
    parameters, so it is node-permutation equivariant and works on any graph).

    Three options follow the authors' code where it differs from the paper's equations:
    :obj:`gated_shortcut` moves each temporal conv's shortcut inside its gate,
    :math:`\mathbf{Z} = \big(\mathbf{P} + \mathrm{align}(\mathrm{crop}(\mathbf{X}))\big)
    \odot \sigma(\mathbf{Q})`, where :math:`\mathrm{align}` pads the channels with zeros
    when the conv widens them and is a bias-free :math:`1 \times 1` conv when it narrows
    them (the authors' ``Align``); :obj:`graph_residual` adds a shortcut around the graph
    conv,
    :math:`\mathbf{U} = \mathrm{ReLU}(\Theta \ast_{\mathcal{G}} \mathbf{Z} +
    \mathbf{P}_s \mathbf{Z})` (:math:`\mathbf{P}_s` the identity when :math:`S = H`, else a
    bias-free :math:`1 \times 1` conv), and :obj:`num_nodes` makes the layer norm's scale and
    shift per node and channel (:math:`N \times H`), which ties the block to one graph's
    :math:`N` nodes in a fixed order.

    Args:
        in_channels (int): Input features :math:`F`.
        spatial_channels (int): Width :math:`S` of the graph conv (the bottleneck, 16 in the
            paper).
        out_channels (int): Output features :math:`H` (64 in the paper).
        kernel_size (int, optional): Temporal kernel size :math:`K_t`. (default: :obj:`3`)
        K (int, optional): Chebyshev polynomials of the default graph conv.
            (default: :obj:`3`)
        normalization (str, optional): The Laplacian of the default
            :class:`~pyg_ext.nn.conv.cheb_conv.ChebConv`. (default: :obj:`'sym'`)
        dropout (float, optional): Dropout on the output. (default: :obj:`0.0`)
        conv (torch.nn.Module, optional): The graph conv :math:`H \to S`, called as
            ``conv(x, edge_index, edge_weight)`` on :math:`(B, T, N, H)`; e.g. a
            ``ChebConv(H, S, K, normalize=False)`` that takes a scaled Laplacian computed once
            per forward by the model. (default: ``ChebConv(H, S, K, normalization)``)
        graph_residual (bool, optional): Add the shortcut :math:`\mathbf{P}_s \mathbf{Z}`
            inside the graph conv's ReLU, as the authors' code does. (default: :obj:`False`)
        num_nodes (int, optional): With a number of nodes, the layer norm's scale and shift
            are per node and channel (the authors' code); with :obj:`None`, per channel.
            (default: :obj:`None`)
        gated_shortcut (bool, optional): The temporal convs' shortcut inside the gate,
            aligned by zero-padding or a :math:`1 \times 1` conv, as the authors' code has
            it. (default: :obj:`False`)

    Shapes:
        - **input:** node features :math:`(B, T, N, F)`, edge indices :math:`(2, E)` (or
          whatever graph :obj:`conv` takes), edge weights :math:`(E)` *(optional)*
        - **output:** :math:`(B, T - 2(K_t - 1), N, H)`
    """
    def __init__(self, in_channels: int, spatial_channels: int, out_channels: int,
                 kernel_size: int = 3, K: int = 3, normalization: Optional[str] = 'sym',
                 dropout: float = 0.0, conv: Optional[nn.Module] = None,
                 graph_residual: bool = False, num_nodes: Optional[int] = None,
                 gated_shortcut: bool = False):
        super().__init__()
        self.in_channels = in_channels
        self.spatial_channels = spatial_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.dropout = dropout
        self.graph_residual = graph_residual
        self.num_nodes = num_nodes
        self.gated_shortcut = gated_shortcut
        self.temporal1 = self._temporal_conv(in_channels, out_channels)
        self.conv = conv if conv is not None else ChebConv(
            out_channels, spatial_channels, K, normalization=normalization)
        self.graph_shortcut = (PointwiseConv(out_channels, spatial_channels, bias=False)
                               if graph_residual and spatial_channels != out_channels
                               else None)
        self.temporal2 = self._temporal_conv(spatial_channels, out_channels)
        # The authors' Align: a 1x1 conv where a gated-shortcut conv narrows the channels.
        self.align1, self.align2 = (
            PointwiseConv(c, out_channels, bias=False)
            if gated_shortcut and c > out_channels else None
            for c in (in_channels, spatial_channels))
        norm_shape = (out_channels, ) if num_nodes is None else (num_nodes, out_channels)
        self.norm_weight = nn.Parameter(torch.empty(norm_shape))
        self.norm_bias = nn.Parameter(torch.empty(norm_shape))
        self.reset_parameters()

    def _temporal_conv(self, in_channels: int, out_channels: int) -> nn.Module:
        conv = GatedTemporalConv(in_channels, out_channels, self.kernel_size, gate='glu',
                                 padding='valid')
        return conv if self.gated_shortcut else ResidualTemporalStack([conv])

    def reset_parameters(self):
        r"""Resets both temporal convs, the graph conv and the layer norm."""
        for module in (self.temporal1, self.conv, self.graph_shortcut, self.temporal2,
                       self.align1, self.align2):
            if module is not None:
                module.reset_parameters()
        nn.init.ones_(self.norm_weight)
        nn.init.zeros_(self.norm_bias)

    @property
    def min_steps(self) -> int:
        r"""The shortest input window the block accepts, :math:`2 (K_t - 1) + 1`."""
        return 2 * (self.kernel_size - 1) + 1

    def forward(self, x: Tensor, edge_index: Adj, edge_weight: OptTensor = None) -> Tensor:
        if x.dim() != 4:
            raise ValueError(f"'x' has shape {list(x.shape)}; expected [B, T, N, F] (add a "
                             f"batch dimension with x.unsqueeze(0))")
        if x.size(1) < self.min_steps:
            raise ValueError(
                f"'x' has {x.size(1)} time steps, but {self} needs at least {self.min_steps} "
                f"(two 'valid' temporal convs of kernel_size={self.kernel_size}); pass a "
                f"longer window or a smaller kernel_size")
        if self.num_nodes is not None and x.size(2) != self.num_nodes:
            raise ValueError(f"'x' has {x.size(2)} nodes, but the block was built with "
                             f"num_nodes={self.num_nodes} (its layer norm is per node)")
        z = self._temporal(self.temporal1, self.align1, x)  # [B, T - K_t + 1, N, H]
        h = self.conv(z, edge_index, edge_weight)  # [B, T - K_t + 1, N, S]
        if self.graph_residual:
            h = h + (z if self.graph_shortcut is None else self.graph_shortcut(z))
        h = F.relu(h)
        h = self._temporal(self.temporal2, self.align2, h)  # [B, T', N, H]
        h = F.layer_norm(h, h.shape[-2:])  # over (N, H)
        h = torch.addcmul(self.norm_bias, h, self.norm_weight)  # [B, T', N, H]
        return F.dropout(h, p=self.dropout, training=self.training)

    def _temporal(self, layer: nn.Module, align: Optional[nn.Module], x: Tensor) -> Tensor:
        if not self.gated_shortcut:
            return layer(x)  # the residual stack: crop(P x) + GLU(x)
        short = x[:, self.kernel_size - 1:]  # [B, T - K_t + 1, N, C]: the last steps
        if align is not None:
            short = align(short)  # [B, T - K_t + 1, N, H]
        elif short.size(-1) < self.out_channels:
            short = F.pad(short, (0, self.out_channels - short.size(-1)))  # zero channels
        return layer(x, short)  # (P + S) * sigmoid(Q)

    def __repr__(self) -> str:
        extra = ', gated_shortcut=True' if self.gated_shortcut else ''
        extra += ', graph_residual=True' if self.graph_residual else ''
        extra += '' if self.num_nodes is None else f', num_nodes={self.num_nodes}'
        return (f'{self.__class__.__name__}({self.in_channels}, {self.spatial_channels}, '
                f'{self.out_channels}, kernel_size={self.kernel_size}{extra})')
