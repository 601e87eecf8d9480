r"""STGCN: stacked ST-Conv blocks and a temporal output layer.

Legend: B - batch, T_in - input steps, T_out - horizon, N - nodes, E - edges, F_in / F_out -
input / output features, H - hidden (temporal) features, S - spatial features, K_t - temporal
kernel size, K_o - the output layer's kernel (the steps left after the blocks).
"""
from typing import Optional

import torch
from torch import Tensor, nn
from torch_geometric.typing import OptTensor
from torch_geometric.utils import to_torch_csr_tensor

from pyg_ext.blocks.gated_temporal_conv import GatedTemporalConv
from pyg_ext.blocks.pointwise_conv import PointwiseConv
from pyg_ext.nn.conv.cheb_conv import ChebConv
from pyg_ext.nn.temporal.st_conv_block import STConvBlock
from pyg_ext.utils.checks import check_edge_index, check_feature_size


class STGCN(nn.Module):
    r"""The spatio-temporal graph convolutional network from the `"Spatio-Temporal Graph
    Convolutional Networks: A Deep Learning Framework for Traffic Forecasting"
    <https://arxiv.org/abs/1709.04875>`_ paper (Yu et al., IJCAI 2018): :obj:`num_blocks`
    :class:`~pyg_ext.nn.temporal.STConvBlock` (channels :math:`(H, S, H)`, Chebyshev graph
    convs) followed by the paper's output layer, a gated temporal conv whose kernel
    :math:`K_o = T_{in} - 2 L (K_t - 1)` spans all remaining steps, a layer norm, a sigmoid
    :math:`1 \times 1` conv and a linear map to all :obj:`horizon` steps at once:

    .. math::
        \mathbf{Z} &= \mathrm{STConv}_L \circ \dots \circ \mathrm{STConv}_1(\mathbf{X},
        \hat{\mathbf{L}})

        \hat{\mathbf{Y}} &= \mathbf{W}_{o}\, \sigma\Big(\mathbf{W}_{s} \,
        \mathrm{LN}\big(\mathrm{GLU}_{K_o}(\mathbf{Z})\big) + \mathbf{b}_s\Big) +
        \mathbf{b}_o \in \mathbb{R}^{N \times T_{out} F_{out}}

    The scaled Laplacian :math:`\hat{\mathbf{L}} = 2\mathbf{L}/\lambda_{\max} - \mathbf{I}`
    is computed once per forward (:meth:`ChebConv.scaled_laplacian
    <pyg_ext.nn.conv.cheb_conv.ChebConv.scaled_laplacian>`) as one sparse CSR matrix, and
    every block's ``ChebConv(normalize=False)`` propagates all :math:`B \cdot T` slices with
    one sparse matmul per polynomial. The paper forecasts one step per model; here the last
    linear layer emits all :math:`T_{out}` steps (as later STGCN code does). The model has no
    node-specific parameters (see :class:`~pyg_ext.nn.temporal.STConvBlock` for the layer
    norm), so it is node-permutation equivariant and :obj:`num_nodes` is unused.

    Three options follow the authors' code where it differs from the paper's equations (all
    off by default): :obj:`gated_shortcut` (every temporal conv's shortcut inside its gate,
    :math:`(\mathbf{P} + \mathbf{S}) \odot \sigma(\mathbf{Q})`, the output layer's
    included, whose shortcut is the last step), :obj:`graph_residual` (a shortcut around
    each block's graph conv; both see :class:`~pyg_ext.nn.temporal.STConvBlock`) and
    :obj:`node_affine`: layer-norm scales and shifts per node and channel in the blocks, the
    output layer norm over nodes and channels jointly with a per-(node, channel) affine, and
    one readout bias per node. With :obj:`node_affine` the model is tied to
    :obj:`num_nodes` nodes in a fixed order.

    Args:
        in_channels (int): Input features :math:`F_{in}`.
        out_channels (int): Output features :math:`F_{out}`.
        hidden_channels (int, optional): Temporal channels :math:`H`. (default: :obj:`64`)
        horizon (int, optional): Steps to forecast :math:`T_{out}`. (default: :obj:`12`)
        num_nodes (int, optional): Accepted so that models can be swapped by name; unused.
            (default: :obj:`None`)
        input_steps (int, optional): The input window :math:`T_{in}`; fixes the output
            layer's kernel. (default: :obj:`12`)
        spatial_channels (int, optional): Graph conv channels :math:`S`.
            (default: :obj:`hidden_channels // 4`, 16 for the paper's 64)
        num_blocks (int, optional): ST-Conv blocks :math:`L`. (default: :obj:`2`)
        kernel_size (int, optional): Temporal kernel :math:`K_t`. (default: :obj:`3`)
        K (int, optional): Chebyshev polynomials. (default: :obj:`3`)
        normalization (str, optional): The Laplacian (:obj:`'sym'`, :obj:`'rw'` or
            :obj:`None`). (default: :obj:`'sym'`)
        dropout (float, optional): Dropout after each block. (default: :obj:`0.0`)
        graph_residual (bool, optional): The authors' shortcut around every graph conv.
            (default: :obj:`False`)
        node_affine (bool, optional): The authors' per-node layer-norm affines and readout
            bias; needs :obj:`num_nodes`. (default: :obj:`False`)
        gated_shortcut (bool, optional): The authors' temporal-conv shortcuts inside the
            gates. (default: :obj:`False`)

    Shapes:
        - **input:** ``x`` :math:`(B, T_{in}, N, F_{in})`, ``edge_index`` :math:`(2, E)`,
          ``edge_weight`` :math:`(E)` *(optional)*
        - **output:** :math:`(B, T_{out}, N, F_{out})`
    """
    supports_teacher_forcing = False

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int = 64,
                 horizon: int = 12, num_nodes: Optional[int] = None, input_steps: int = 12,
                 spatial_channels: Optional[int] = None, num_blocks: int = 2,
                 kernel_size: int = 3, K: int = 3, normalization: Optional[str] = 'sym',
                 dropout: float = 0.0, graph_residual: bool = False,
                 node_affine: bool = False, gated_shortcut: bool = False):
        super().__init__()
        if horizon < 1 or num_blocks < 1:
            raise ValueError(f"horizon ({horizon}) and num_blocks ({num_blocks}) must be at "
                             f"least 1")
        if node_affine and (num_nodes is None or num_nodes < 1):
            raise ValueError('node_affine=True learns parameters per node; pass num_nodes (the '
                             'number of nodes of the graph the model is trained on)')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.hidden_channels = hidden_channels
        self.horizon = horizon
        self.input_steps = input_steps
        self.spatial_channels = spatial_channels or max(hidden_channels // 4, 1)
        self.num_blocks = num_blocks
        self.kernel_size = kernel_size
        self.normalization = normalization
        self.graph_residual, self.node_affine = graph_residual, node_affine
        self.gated_shortcut = gated_shortcut
        self.num_nodes = num_nodes if node_affine else None
        self.min_steps = 2 * num_blocks * (kernel_size - 1) + 1
        if input_steps < self.min_steps:
            raise ValueError(
                f"input_steps={input_steps} is too short: {num_blocks} ST-Conv blocks with "
                f"kernel_size={kernel_size} need T_in >= {self.min_steps}; use a longer "
                f"window, fewer blocks or a smaller kernel_size")
        S, H = self.spatial_channels, hidden_channels
        self.blocks = nn.ModuleList([
            STConvBlock(in_channels if i == 0 else H, S, H, kernel_size, dropout=dropout,
                        conv=ChebConv(H, S, K, normalization=normalization, normalize=False),
                        graph_residual=graph_residual, num_nodes=self.num_nodes,
                        gated_shortcut=gated_shortcut)
            for i in range(num_blocks)
        ])
        self.output_kernel = input_steps - self.min_steps + 1  # K_o
        self.out_temporal = GatedTemporalConv(H, H, self.output_kernel, padding='valid')
        self.out_norm = nn.LayerNorm(H if self.num_nodes is None else (self.num_nodes, H))
        self.out_gate = PointwiseConv(H, H)
        self.readout = PointwiseConv(H, horizon * out_channels)
        if node_affine:
            self.node_bias = nn.Parameter(torch.empty(self.num_nodes, horizon * out_channels))
        else:
            self.register_parameter('node_bias', None)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets every block and the output layer."""
        for block in self.blocks:
            block.reset_parameters()
        for module in (self.out_temporal, self.out_norm, self.out_gate, self.readout):
            module.reset_parameters()
        if self.node_bias is not None:
            nn.init.zeros_(self.node_bias)

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: OptTensor = None) -> Tensor:
        if x.dim() != 4:
            raise ValueError(f"'x' has shape {list(x.shape)}; expected [B, T_in, N, F_in] (add "
                             f"a batch dimension with x.unsqueeze(0))")
        check_feature_size(x, self.in_channels)
        if x.size(1) != self.input_steps:
            raise ValueError(
                f"'x' has {x.size(1)} time steps, but the model was built with input_steps="
                f"{self.input_steps} (its output kernel spans the last {self.output_kernel} "
                f"steps); build STGCN(..., input_steps={x.size(1)}) (T_in >= "
                f"{self.min_steps})")
        check_edge_index(edge_index)
        B, _, N, _ = x.shape
        # The scaled Laplacian, once per forward, as one CSR matrix L^T shared by all blocks.
        lap_index, lap_weight = ChebConv.scaled_laplacian(
            edge_index, edge_weight, N, self.normalization, dtype=x.dtype)
        lap_t = to_torch_csr_tensor(lap_index.flip(0), lap_weight.to(x.dtype),
                                    size=(N, N))  # [N, N]
        h = x
        for block in self.blocks:
            h = block(h, lap_t)  # [B, T_l, N, H]
        h = self.out_temporal(h, h[:, -1:] if self.gated_shortcut else None)  # [B, 1, N, H]
        h = torch.sigmoid(self.out_gate(self.out_norm(h)))  # [B, 1, N, H]
        out = self.readout(h)  # [B, 1, N, T_out F_out]
        if self.node_bias is not None:
            out = out + self.node_bias
        out = out.view(B, N, self.horizon, self.out_channels)  # [B, N, T_out, F_out]
        return out.transpose(1, 2)  # [B, T_out, N, F_out]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'hidden_channels={self.hidden_channels}, horizon={self.horizon}, '
                f'num_blocks={self.num_blocks}'
                f"{', gated_shortcut=True' if self.gated_shortcut else ''}"
                f"{', graph_residual=True' if self.graph_residual else ''}"
                f"{f', node_affine=True, num_nodes={self.num_nodes}' if self.node_affine else ''})")

