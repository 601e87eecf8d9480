r"""ASTGCN: attention-based spatial-temporal blocks for the recent (and optionally daily and
weekly) component, fused per node and horizon step.

Legend: B - batch, T_h / T_d / T_w - steps of the recent / daily / weekly inputs, T' -
steps after the blocks, T_out - horizon, N - nodes, E - edges, F_in / F_out - input / output
features, H - hidden channels, K - Chebyshev polynomials.
"""
from typing import Dict, Optional

import torch
from torch import Tensor, nn
from torch_geometric.typing import OptTensor
from torch_geometric.utils import to_dense_adj

from pyg_ext.nn.conv.cheb_conv import ChebConv
from pyg_ext.nn.temporal.astgcn_block import ASTGCNBlock
from pyg_ext.utils.checks import check_feature_size

COMPONENTS = ('recent', 'daily', 'weekly')


class ASTGCN(nn.Module):
    r"""The attention based spatial-temporal graph convolutional network from the `"Attention
    Based Spatial-Temporal Graph Convolutional Networks for Traffic Flow Forecasting"
    <https://doi.org/10.1609/aaai.v33i01.3301922>`_ paper (Guo et al., AAAI 2019). Each
    component (recent :math:`h`, daily-periodic :math:`d`, weekly-periodic :math:`w`) is a
    stack of :class:`~pyg_ext.nn.temporal.ASTGCNBlock` followed by the paper's final conv, a
    linear map of each node's :math:`[T', H]` features to the :obj:`horizon`; the
    components are fused with learned per-node, per-step weights (Eq. 10):

    .. math::
        \hat{\mathbf{Y}} = \mathbf{W}_h \odot \hat{\mathbf{Y}}_h + \mathbf{W}_d \odot
        \hat{\mathbf{Y}}_d + \mathbf{W}_w \odot \hat{\mathbf{Y}}_w

    By default only the recent component is built (the periodic ones need days or weeks of
    history per sample, which the usual 12-step windows do not carry), and its output is
    the forecast. With ``daily_steps`` / ``weekly_steps`` > 0 the periodic components are
    built as well and :meth:`forward` needs their inputs ``x_daily`` / ``x_weekly`` (the
    segments one day / one week before the forecast window); the fusion weights are only
    created with more than one component. The dense Chebyshev polynomials
    :math:`T_k(\tilde{\mathbf{L}})` of the scaled Laplacian
    (:meth:`ChebConv.scaled_laplacian <pyg_ext.nn.conv.cheb_conv.ChebConv.scaled_laplacian>`,
    :math:`\lambda_{\max} = 2`) are computed once per forward and shared by all blocks. The
    attention weights are node- and step-specific: :obj:`num_nodes` is required and the
    windows have fixed lengths.

    Args:
        in_channels (int): Input features :math:`F_{in}`.
        out_channels (int): Output features :math:`F_{out}`.
        hidden_channels (int, optional): Chebyshev and time conv channels :math:`H`.
            (default: :obj:`64`)
        horizon (int, optional): Steps to forecast :math:`T_{out}`. (default: :obj:`12`)
        num_nodes (int): Nodes :math:`N` (required).
        input_steps (int, optional): Recent window :math:`T_h`. (default: :obj:`12`)
        daily_steps (int, optional): Daily window :math:`T_d`; 0 = no daily component.
            (default: :obj:`0`)
        weekly_steps (int, optional): Weekly window :math:`T_w`; 0 = no weekly component.
            (default: :obj:`0`)
        num_blocks (int, optional): Blocks per component. (default: :obj:`2`)
        K (int, optional): Chebyshev polynomials. (default: :obj:`3`)
        time_stride (int, optional): Time stride of each component's first block (the paper
            uses the number of periods sampled per component). (default: :obj:`1`)
        normalization (str, optional): The Laplacian. (default: :obj:`'sym'`)

    Shapes:
        - **input:** ``x`` :math:`(B, T_h, N, F_{in})`, ``edge_index`` :math:`(2, E)`,
          ``edge_weight`` :math:`(E)` *(optional)*, ``x_daily`` :math:`(B, T_d, N, F_{in})`
          and ``x_weekly`` :math:`(B, T_w, N, F_{in})` *(with the periodic components)*
        - **output:** :math:`(B, T_{out}, N, F_{out})`
    """
    supports_teacher_forcing = False

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int = 64,
                 horizon: int = 12, num_nodes: Optional[int] = None, input_steps: int = 12,
                 daily_steps: int = 0, weekly_steps: int = 0, num_blocks: int = 2, K: int = 3,
                 time_stride: int = 1, normalization: Optional[str] = 'sym'):
        super().__init__()
        if num_nodes is None:
            raise ValueError("ASTGCN's attention weights are node-specific; pass num_nodes=N")
        if horizon < 1 or num_blocks < 1 or input_steps < 1:
            raise ValueError(f"horizon ({horizon}), num_blocks ({num_blocks}) and input_steps "
                             f"({input_steps}) must be at least 1")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.hidden_channels = hidden_channels
        self.horizon = horizon
        self.num_nodes = num_nodes
        self.K = K
        self.normalization = normalization
        self.steps = {'recent': input_steps, 'daily': daily_steps, 'weekly': weekly_steps}
        self.steps = {key: value for key, value in self.steps.items() if value > 0}
        H = hidden_channels
        self.components = nn.ModuleDict()
        self.heads = nn.ModuleDict()
        for name, steps in self.steps.items():
            blocks, t = [], steps
            for i in range(num_blocks):
                stride = time_stride if i == 0 else 1
                blocks.append(ASTGCNBlock(in_channels if i == 0 else H, H, H, num_nodes, t, K,
                                          stride))
                t = -(-t // stride)  # ceil(t / stride)
            self.components[name] = nn.ModuleList(blocks)
            self.heads[name] = nn.Linear(t * H, horizon * out_channels)
        if len(self.steps) > 1:
            self.fusion = nn.ParameterDict({
                name: nn.Parameter(torch.empty(horizon, num_nodes, out_channels))
                for name in self.steps})
        else:
            self.fusion = None
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets every block, the heads and the fusion weights (ones / components)."""
        for blocks in self.components.values():
            for block in blocks:
                block.reset_parameters()
        for head in self.heads.values():
            head.reset_parameters()
        if self.fusion is not None:
            for weight in self.fusion.values():
                nn.init.constant_(weight, 1.0 / len(self.fusion))

    def cheb_polynomials(self, edge_index: Tensor, edge_weight: OptTensor, num_nodes: int,
                         dtype: torch.dtype) -> Tensor:
        r"""The dense :math:`[T_0, \ldots, T_{K-1}](\tilde{\mathbf{L}})` :math:`[K, N, N]`
        with :math:`T_k[j, i]` the weight of node :math:`j` in node :math:`i`'s output (row =
        source, the layout the paper's :math:`(T_k \odot \mathbf{S}')^\top \mathbf{x}`
        reads), so that with :math:`\mathbf{S}' = \mathbf{1}` the conv equals
        :class:`~pyg_ext.nn.conv.cheb_conv.ChebConv` on directed graphs too."""
        index, weight = ChebConv.scaled_laplacian(edge_index, edge_weight, num_nodes,
                                                  self.normalization, dtype=dtype)
        lap = to_dense_adj(index, edge_attr=weight.to(dtype),
                           max_num_nodes=num_nodes)[0]  # [N, N]
        polys = [torch.eye(num_nodes, dtype=dtype, device=lap.device), lap]
        for _ in range(2, self.K):
            polys.append(2.0 * lap @ polys[-1] - polys[-2])
        return torch.stack(polys[:self.K])  # [K, N, N]

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: OptTensor = None,
                x_daily: OptTensor = None, x_weekly: OptTensor = None) -> Tensor:
        inputs: Dict[str, OptTensor] = {'recent': x, 'daily': x_daily, 'weekly': x_weekly}
        for name, value in inputs.items():
            if name in self.steps and value is None:
                raise ValueError(f"the model has a {name} component; pass x_{name}=[B, "
                                 f"{self.steps[name]}, N, {self.in_channels}]")
            if name not in self.steps and value is not None:
                raise ValueError(f"x_{name} was given, but the model has no {name} component; "
                                 f"build it with {name}_steps={value.size(1)}")
            if value is not None:
                check_feature_size(value, self.in_channels, name='x' if name == 'recent'
                                   else f'x_{name}')
        B, _, N, _ = x.shape
        polys = self.cheb_polynomials(edge_index, edge_weight, N, x.dtype)
        out = 0
        for name in self.steps:
            h = inputs[name]
            for block in self.components[name]:
                h = block(h, polys)  # [B, T', N, H]
            h = h.permute(0, 2, 1, 3).reshape(B, N, -1)  # [B, N, T' H]
            y = self.heads[name](h).view(B, N, self.horizon, self.out_channels)
            y = y.transpose(1, 2)  # [B, T_out, N, F_out]
            out = out + (y if self.fusion is None else self.fusion[name] * y)
        return out

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'hidden_channels={self.hidden_channels}, horizon={self.horizon}, '
                f'num_nodes={self.num_nodes}, components={list(self.steps)})')
