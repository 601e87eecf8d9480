r"""Graph WaveNet: dilated gated TCN layers with diffusion and adaptive graph convs.

Legend: B - batch, T_in - input steps, R - receptive field, T_out - horizon, N - nodes,
E - edges, F_in / F_out - input / output features, C - residual channels, S - skip channels,
O - end channels, M - node embedding size.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.typing import OptTensor
from torch_geometric.utils import to_torch_csr_tensor

from pyg_ext.blocks.pointwise_conv import PointwiseConv
from pyg_ext.blocks.receptive_field import receptive_field
from pyg_ext.nn.conv.diff_conv import DiffConv
from pyg_ext.nn.temporal.graph_wave_net_layer import GraphWaveNetLayer
from pyg_ext.utils.checks import check_edge_index, check_feature_size


class GraphWaveNet(nn.Module):
    r"""Graph WaveNet from the `"Graph WaveNet for Deep Spatial-Temporal Graph Modeling"
    <https://arxiv.org/abs/1906.00121>`_ paper (Wu et al., IJCAI 2019), in the paper's layout:
    a :math:`1 \times 1` input conv, :obj:`blocks` :math:`\times` :obj:`layers`
    :class:`~pyg_ext.nn.temporal.GraphWaveNetLayer` (gated dilated causal convs with kernel
    2 and dilations :math:`1, 2, 4, \ldots` restarting in every block, so
    :math:`1, 2, 1, 2, \ldots` with the default 2 layers per block), each adding its skip
    output, and a two-layer :math:`1 \times 1` output head on the summed skips that emits all
    :obj:`horizon` steps at once:

    .. math::
        \tilde{\mathbf{A}}_{apt} &= \mathrm{softmax}\big(\mathrm{ReLU}(\mathbf{E}_1
        \mathbf{E}_2^\top)\big), \qquad
        \mathbf{X}^{(l+1)}, \mathbf{S}^{(l)} = \mathrm{Layer}_l(\mathbf{X}^{(l)},
        \mathbf{P}_f, \mathbf{P}_b, \tilde{\mathbf{A}}_{apt})

        \hat{\mathbf{Y}} &= \mathbf{W}_2\, \mathrm{ReLU}\Big(\mathbf{W}_1 \mathrm{ReLU}
        \big(\textstyle\sum_l \mathbf{S}^{(l)}\big) + \mathbf{b}_1\Big) + \mathbf{b}_2

    with learned node embeddings :math:`\mathbf{E}_1, \mathbf{E}_2 \in \mathbb{R}^{N \times
    M}` (row-wise softmax). The adaptive powers :math:`\tilde{\mathbf{A}}_{apt}^k` are
    computed once per forward, and so are the transitions :math:`\mathbf{P}_f,
    \mathbf{P}_b` of the given graph (:meth:`DiffConv.transitions
    <pyg_ext.nn.conv.diff_conv.DiffConv.transitions>`, as CSR), which every layer shares. As
    in the paper's code, an input shorter than the receptive
    field :math:`R` (13 for the default layout: :math:`1 + \sum_l (K_t - 1) d_l`) is
    left-padded with zeros to :math:`R` steps (:obj:`pad=True`); a longer one is cropped to
    its last :math:`R` steps, the only ones the forecast depends on, so every layer computes
    exactly the steps the output reads. The last layer has no graph conv (the paper's code
    computes one whose output nothing reads). The node embeddings make the model
    node-specific: :obj:`num_nodes` is required with :obj:`adaptive=True`.

    Args:
        in_channels (int): Input features :math:`F_{in}`.
        out_channels (int): Output features :math:`F_{out}`.
        hidden_channels (int, optional): Residual and dilation channels :math:`C`.
            (default: :obj:`32`)
        horizon (int, optional): Steps to forecast :math:`T_{out}`. (default: :obj:`12`)
        num_nodes (int, optional): Nodes :math:`N`, for the adaptive adjacency.
            (default: :obj:`None`)
        skip_channels (int, optional): Skip channels :math:`S`. (default: :obj:`256`)
        end_channels (int, optional): Hidden channels :math:`O` of the output head.
            (default: :obj:`512`)
        blocks (int, optional): Blocks. (default: :obj:`4`)
        layers (int, optional): Layers per block. (default: :obj:`2`)
        kernel_size (int, optional): Temporal kernel :math:`K_t`. (default: :obj:`2`)
        K (int, optional): Diffusion steps per support. (default: :obj:`2`)
        embedding_dim (int, optional): Node embedding size :math:`M`. (default: :obj:`10`)
        adaptive (bool, optional): Use the adaptive adjacency. (default: :obj:`True`)
        dropout (float, optional): Dropout after each graph conv. (default: :obj:`0.3`)
        pad (bool, optional): Left-pad inputs shorter than :math:`R` with zeros; if
            :obj:`False` they raise an error. (default: :obj:`True`)

    Shapes:
        - **input:** ``x`` :math:`(B, T_{in}, N, F_{in})`, ``edge_index`` :math:`(2, E)`,
          ``edge_weight`` :math:`(E)` *(optional)*
        - **output:** :math:`(B, T_{out}, N, F_{out})`
    """
    supports_teacher_forcing = False

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int = 32,
                 horizon: int = 12, num_nodes: Optional[int] = None, skip_channels: int = 256,
                 end_channels: int = 512, blocks: int = 4, layers: int = 2,
                 kernel_size: int = 2, K: int = 2, embedding_dim: int = 10,
                 adaptive: bool = True, dropout: float = 0.3, pad: bool = True):
        super().__init__()
        if adaptive and num_nodes is None:
            raise ValueError("the adaptive adjacency learns one embedding per node; pass "
                             "num_nodes=N (or adaptive=False)")
        if horizon < 1 or blocks < 1 or layers < 1:
            raise ValueError(f"horizon ({horizon}), blocks ({blocks}) and layers ({layers}) "
                             f"must be at least 1")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.hidden_channels = hidden_channels
        self.horizon = horizon
        self.num_nodes = num_nodes
        self.blocks = blocks
        self.layers_per_block = layers
        self.K = K
        self.pad = pad
        C = hidden_channels
        self.input_conv = PointwiseConv(in_channels, C)
        dilations = [2 ** i for _ in range(blocks) for i in range(layers)]
        self.layers = nn.ModuleList([
            GraphWaveNetLayer(C, C, skip_channels, kernel_size, d, K,
                              graph_conv=i < len(dilations) - 1, adaptive=adaptive,
                              dropout=dropout)
            for i, d in enumerate(dilations)
        ])
        self.receptive_field = receptive_field(self.layers)
        if adaptive:
            self.source_embedding = nn.Parameter(torch.empty(num_nodes, embedding_dim))
            self.target_embedding = nn.Parameter(torch.empty(num_nodes, embedding_dim))
        else:
            self.register_parameter('source_embedding', None)
            self.register_parameter('target_embedding', None)
        self.end_conv1 = PointwiseConv(skip_channels, end_channels)
        self.end_conv2 = PointwiseConv(end_channels, horizon * out_channels)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets every layer, the node embeddings and the output head."""
        self.input_conv.reset_parameters()
        for layer in self.layers:
            layer.reset_parameters()
        if self.source_embedding is not None:
            nn.init.normal_(self.source_embedding)  # the paper's code draws randn
            nn.init.normal_(self.target_embedding)
        self.end_conv1.reset_parameters()
        self.end_conv2.reset_parameters()

    def adaptive_adjacency(self) -> Tensor:
        r"""The adaptive adjacency :math:`\mathrm{softmax}(\mathrm{ReLU}(\mathbf{E}_1
        \mathbf{E}_2^\top))` :math:`[N, N]` (row :math:`i` sums to one)."""
        return F.relu(self.source_embedding @ self.target_embedding.t()).softmax(dim=1)

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: OptTensor = None) -> Tensor:
        if x.dim() != 4:
            raise ValueError(f"'x' has shape {list(x.shape)}; expected [B, T_in, N, F_in] (add "
                             f"a batch dimension with x.unsqueeze(0))")
        check_feature_size(x, self.in_channels)
        check_edge_index(edge_index)
        B, T, N, _ = x.shape
        R = self.receptive_field
        if T < R:
            if not self.pad:
                raise ValueError(
                    f"'x' has {T} time steps, but the temporal stack's receptive field is "
                    f"{R}; pass T_in >= {R} or build GraphWaveNet(..., pad=True) to "
                    f"left-pad with zeros as the paper does")
            x = F.pad(x, (0, 0, 0, 0, R - T, 0))  # [B, R, N, F_in]
        x = x[:, x.size(1) - R:]  # [B, R, N, F_in]: earlier steps cannot reach the output
        powers = None
        if self.source_embedding is not None:
            if N != self.num_nodes:
                raise ValueError(f"'x' has {N} nodes, but the model learns embeddings for "
                                 f"num_nodes={self.num_nodes}; build it with num_nodes={N}")
            adj = self.adaptive_adjacency()  # [N, N]
            powers = [adj]
            for _ in range(1, self.K):
                powers.append(powers[-1] @ adj)
            powers = torch.stack(powers)  # [K, N, N]
        # The given graph as CSR adj_t[j, i] = W[i, j], and its forward and backward
        # transitions (two [N, N] CSR matrices), normalised once for all layers.
        adj_t = to_torch_csr_tensor(edge_index.flip(0), edge_weight, size=(N, N))  # [N, N]
        supports = DiffConv.transitions(adj_t, num_nodes=N, dtype=x.dtype)
        h = self.input_conv(x)  # [B, R, N, C]
        skip = 0
        for layer in self.layers:
            h, s = layer(h, supports, None, powers)  # [B, T_l, N, C], [B, 1, N, S]
            skip = skip + s
        out = self.end_conv1(F.relu(skip))  # [B, 1, N, O]
        out = self.end_conv2(F.relu(out))  # [B, 1, N, T_out F_out]
        out = out.view(B, N, self.horizon, self.out_channels)  # [B, N, T_out, F_out]
        return out.transpose(1, 2)  # [B, T_out, N, F_out]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'hidden_channels={self.hidden_channels}, horizon={self.horizon}, '
                f'blocks={self.blocks}, layers={self.layers_per_block})')
