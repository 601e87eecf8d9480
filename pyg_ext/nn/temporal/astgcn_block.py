r"""The spatial-temporal block of ASTGCN: temporal and spatial attention, attention-modulated
Chebyshev conv, time conv, residual, layer norm.

Legend: B - batch, T - input steps, T' = ceil(T / s) output steps, N - nodes, F - input
features, C - Chebyshev (graph) channels, H - output (time conv) channels, K - Chebyshev
polynomials, s - time stride.
"""
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyg_ext.blocks.pointwise_conv import PointwiseConv
from pyg_ext.blocks.temporal_conv import TemporalConv
from pyg_ext.utils.checks import check_feature_size


class ASTGCNBlock(nn.Module):
    r"""One spatial-temporal block of the `"Attention Based Spatial-Temporal Graph
    Convolutional Networks for Traffic Flow Forecasting"
    <https://doi.org/10.1609/aaai.v33i01.3301922>`_ paper (Guo et al., AAAI 2019). With the
    input :math:`\mathcal{X} \in \mathbb{R}^{N \times F \times T}` of one sample, the
    temporal attention (Eq. 3-4)

    .. math::
        \mathbf{E} = \mathbf{V}_e \, \sigma\big(((\mathcal{X}^\top \mathbf{U}_1)
        \mathbf{U}_2)(\mathbf{U}_3 \mathcal{X}) + \mathbf{b}_e\big), \qquad
        \mathbf{E}' = \mathrm{softmax}_{\mathrm{dim}=0}(\mathbf{E}) \in \mathbb{R}^{T
        \times T}

    re-weights the steps, :math:`\hat{\mathcal{X}} = \mathcal{X} \mathbf{E}'`; the spatial
    attention (Eq. 1-2) on :math:`\hat{\mathcal{X}}`

    .. math::
        \mathbf{S} = \mathbf{V}_s \, \sigma\big((\hat{\mathcal{X}} \mathbf{W}_1)
        \mathbf{W}_2 (\mathbf{W}_3 \hat{\mathcal{X}})^\top + \mathbf{b}_s\big), \qquad
        \mathbf{S}' = \mathrm{softmax}_{\mathrm{dim}=0}(\mathbf{S}) \in \mathbb{R}^{N
        \times N}

    modulates the Chebyshev polynomials of the graph conv applied at every step (Eq. 5),
    followed by a time conv (kernel 3, stride :math:`s`), the residual :math:`1 \times 1`
    conv and a layer norm over the channels:

    .. math::
        \mathbf{G}_t = \mathrm{ReLU}\Big(\sum_{k=0}^{K-1} (T_k(\tilde{\mathbf{L}}) \odot
        \mathbf{S}')^\top \mathbf{x}_t \mathbf{\Theta}_k\Big), \qquad
        \mathbf{Y} = \mathrm{LN}\big(\mathrm{ReLU}(\mathbf{\Phi} \ast \mathbf{G} +
        \mathbf{W}_r \mathcal{X}_{::s})\big)

    As in the authors' code, the graph conv reads the input :math:`\mathcal{X}` (the
    temporal attention enters through :math:`\mathbf{S}'`) and the softmaxes normalise over
    the first index. The attention weights :math:`\mathbf{U}_1 \in \mathbb{R}^N`,
    :math:`\mathbf{U}_2 \in \mathbb{R}^{F \times N}`, :math:`\mathbf{W}_1 \in
    \mathbb{R}^T`, :math:`\mathbf{W}_2 \in \mathbb{R}^{F \times T}`, :math:`\mathbf{b}_s,
    \mathbf{V}_s \in \mathbb{R}^{N \times N}` and :math:`\mathbf{b}_e, \mathbf{V}_e \in
    \mathbb{R}^{T \times T}` are node- and step-specific, so the block is built for fixed
    :obj:`num_nodes` and :obj:`num_steps` and is not node-permutation equivariant. The
    dense polynomials :math:`T_k(\tilde{\mathbf{L}})` :math:`[K, N, N]` are computed once
    per forward by the model and passed in.

    Args:
        in_channels (int): Input features :math:`F`.
        cheb_channels (int): Graph conv channels :math:`C`.
        out_channels (int): Time conv channels :math:`H`.
        num_nodes (int): Nodes :math:`N`.
        num_steps (int): Input steps :math:`T`.
        K (int, optional): Chebyshev polynomials. (default: :obj:`3`)
        time_stride (int, optional): Stride :math:`s` of the time and residual convs.
            (default: :obj:`1`)

    Shapes:
        - **input:** ``x`` :math:`(B, T, N, F)`, ``cheb_polynomials`` :math:`(K, N, N)`
        - **output:** :math:`(B, T', N, H)`
    """
    def __init__(self, in_channels: int, cheb_channels: int, out_channels: int,
                 num_nodes: int, num_steps: int, K: int = 3, time_stride: int = 1):
        super().__init__()
        self.in_channels = in_channels
        self.cheb_channels = cheb_channels
        self.out_channels = out_channels
        self.num_nodes = num_nodes
        self.num_steps = num_steps
        self.K = K
        self.time_stride = time_stride
        N, T, Fi = num_nodes, num_steps, in_channels
        self.U1, self.U2, self.U3 = (nn.Parameter(torch.empty(s)) for s in (N, (Fi, N), Fi))
        self.b_e, self.V_e = nn.Parameter(torch.empty(T, T)), nn.Parameter(torch.empty(T, T))
        self.W1, self.W2, self.W3 = (nn.Parameter(torch.empty(s)) for s in (T, (Fi, T), Fi))
        self.b_s, self.V_s = nn.Parameter(torch.empty(N, N)), nn.Parameter(torch.empty(N, N))
        self.theta = nn.Parameter(torch.empty(K, in_channels, cheb_channels))
        self.time_conv = TemporalConv(cheb_channels, out_channels, 3, stride=time_stride,
                                      causal=False)
        self.residual = PointwiseConv(in_channels, out_channels)
        self.norm = nn.LayerNorm(out_channels)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Draws the attention weights uniformly in :math:`\pm 1/\sqrt{\text{fan-in}}`,
        zero attention biases, Glorot :math:`\mathbf{\Theta}_k`; resets the convs and norm."""
        for p in (self.U1, self.U2, self.U3, self.V_e, self.W1, self.W2, self.W3, self.V_s):
            bound = 1.0 / math.sqrt(p.size(0))
            nn.init.uniform_(p, -bound, bound)
        nn.init.zeros_(self.b_e)
        nn.init.zeros_(self.b_s)
        for theta in self.theta:
            nn.init.xavier_uniform_(theta)
        self.time_conv.reset_parameters()
        self.residual.reset_parameters()
        self.norm.reset_parameters()

    def temporal_attention(self, x: Tensor) -> Tensor:
        r"""The normalised temporal attention :math:`\mathbf{E}'` :math:`[B, T, T]`."""
        lhs = torch.einsum('btnf,n->btf', x, self.U1) @ self.U2  # [B, T, N]
        rhs = torch.einsum('btnf,f->bnt', x, self.U3)  # [B, N, T]
        e = self.V_e @ torch.sigmoid(lhs @ rhs + self.b_e)  # [B, T, T]
        return e.softmax(dim=1)

    def spatial_attention(self, x: Tensor) -> Tensor:
        r"""The normalised spatial attention :math:`\mathbf{S}'` :math:`[B, N, N]`."""
        lhs = torch.einsum('btnf,t->bnf', x, self.W1) @ self.W2  # [B, N, T]
        rhs = torch.einsum('btnf,f->btn', x, self.W3)  # [B, T, N]
        s = self.V_s @ torch.sigmoid(lhs @ rhs + self.b_s)  # [B, N, N]
        return s.softmax(dim=1)

    def forward(self, x: Tensor, cheb_polynomials: Tensor) -> Tensor:
        check_feature_size(x, self.in_channels)
        if x.dim() != 4 or x.shape[1:3] != (self.num_steps, self.num_nodes):
            raise ValueError(
                f"'x' has shape {list(x.shape)}; {self} was built for [B, T={self.num_steps}, "
                f"N={self.num_nodes}, F={self.in_channels}] (its attention weights are step- "
                f"and node-specific): build it with num_steps={x.size(1)}, "
                f"num_nodes={x.size(-2)}")
        B, T, N, Fi = x.shape
        e = self.temporal_attention(x)  # [B, T, T]
        x_tat = torch.einsum('bsnf,bst->btnf', x, e)  # [B, T, N, F]: X E'
        s = self.spatial_attention(x_tat)  # [B, N, N]
        ops = cheb_polynomials.unsqueeze(1) * s  # [K, B, N, N]: T_k ⊙ S'
        xs = x.permute(0, 2, 1, 3).reshape(1, B, N, T * Fi)  # [1, B, N, T F]
        prop = ops.transpose(-1, -2) @ xs  # [K, B, N, T F]: (T_k ⊙ S')^T X
        prop = prop.view(self.K, B, N, T, Fi).permute(1, 3, 2, 0, 4)  # [B, T, N, K, F]
        g = F.relu(prop.reshape(B, T, N, self.K * Fi) @ self.theta.view(-1, self.cheb_channels))
        out = self.time_conv(g) + self.residual(x[:, ::self.time_stride])  # [B, T', N, H]
        return self.norm(F.relu(out))

    def __repr__(self) -> str:
        stride = f', time_stride={self.time_stride}' if self.time_stride != 1 else ''
        return (f'{self.__class__.__name__}({self.in_channels}, {self.cheb_channels}, '
                f'{self.out_channels}, num_nodes={self.num_nodes}, num_steps={self.num_steps}, '
                f'K={self.K}{stride})')
