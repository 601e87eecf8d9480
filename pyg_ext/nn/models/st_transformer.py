r"""A spatio-temporal transformer: alternating time and graph-masked node attention.

Legend: B - batch, T_in - input steps, T_out - horizon, N - nodes, E - edges, F_in / F_out -
input / output features, D - channels.
"""
from typing import Optional

import torch
from torch import Tensor, nn
from torch_geometric.typing import OptTensor

from pyg_ext.blocks.attention_patterns import AttentionPattern
from pyg_ext.blocks.sinusoidal_positional_encoding import SinusoidalPositionalEncoding
from pyg_ext.nn.temporal.st_transformer_layer import STTransformerLayer
from pyg_ext.utils.checks import check_edge_index, check_feature_size


class STTransformer(nn.Module):
    r"""A spatio-temporal transformer forecaster: a linear input embedding plus sinusoidal
    time positions, :obj:`num_layers` :class:`~pyg_ext.nn.temporal.STTransformerLayer`
    (a :class:`~pyg_ext.blocks.TransformerLayer` along time, then one along the nodes), a
    final layer norm, and a linear map of the last step's state to all :obj:`horizon` steps:

    .. math::
        \mathbf{H}^{(0)} = \mathbf{X}\mathbf{W}_{in} + \mathrm{PE}_t, \qquad
        \mathbf{H}^{(l+1)} = \mathrm{STTL}_l(\mathbf{H}^{(l)}, \mathbf{M}), \qquad
        \hat{\mathbf{Y}}_{n} = \mathbf{W}_{out}\, \mathrm{LN}(\mathbf{H}^{(L)}_{T_{in}, n})
        + \mathbf{b}_{out}

    The graph is injected as a mask :math:`\mathbf{M}` on the node attention (computed once
    per forward, :meth:`node_mask`): node :math:`i` attends to the nodes :math:`j` that
    reach it within :obj:`hops` hops along :obj:`edge_index` and to itself; edge weights do
    not enter (:obj:`hops=None` lets every node attend to every node). There are no
    node-specific parameters, so the model is node-permutation equivariant, works on any
    graph and ignores :obj:`num_nodes`. For long input windows pass a sparse
    :obj:`pattern` (e.g. :func:`~pyg_ext.blocks.attention_patterns.sliding_window_pattern`)
    for the time attention.

    Args:
        in_channels (int): Input features :math:`F_{in}`.
        out_channels (int): Output features :math:`F_{out}`.
        hidden_channels (int, optional): Channels :math:`D`. (default: :obj:`64`)
        horizon (int, optional): Steps to forecast :math:`T_{out}`. (default: :obj:`12`)
        num_nodes (int, optional): Accepted so that models can be swapped by name; unused.
            (default: :obj:`None`)
        num_layers (int, optional): Spatio-temporal layers. (default: :obj:`2`)
        heads (int, optional): Attention heads. (default: :obj:`4`)
        hops (int, optional): Neighbourhood radius of the node attention; :obj:`None` =
            unmasked. (default: :obj:`1`)
        dropout (float, optional): Dropout in the layers. (default: :obj:`0.0`)
        pattern (AttentionPattern, optional): Sparse time-attention pattern.
            (default: :obj:`None`)

    Shapes:
        - **input:** ``x`` :math:`(B, T_{in}, N, F_{in})`, ``edge_index`` :math:`(2, E)`,
          ``edge_weight`` :math:`(E)` *(optional, unused)*
        - **output:** :math:`(B, T_{out}, N, F_{out})`
    """
    supports_teacher_forcing = False

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int = 64,
                 horizon: int = 12, num_nodes: Optional[int] = None, num_layers: int = 2,
                 heads: int = 4, hops: Optional[int] = 1, dropout: float = 0.0,
                 pattern: Optional[AttentionPattern] = None):
        super().__init__()
        if hops is not None and hops < 1:
            raise ValueError(f"hops={hops}; pass hops >= 1 (1 = direct neighbours) or "
                             f"hops=None for unmasked node attention")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.hidden_channels = hidden_channels
        self.horizon = horizon
        self.num_layers = num_layers
        self.hops = hops
        self.input_layer = nn.Linear(in_channels, hidden_channels)
        self.positional = SinusoidalPositionalEncoding(hidden_channels, dim=1)
        self.layers = nn.ModuleList([
            STTransformerLayer(hidden_channels, heads, dropout=dropout, pattern=pattern)
            for _ in range(num_layers)
        ])
        self.norm = nn.LayerNorm(hidden_channels)
        self.readout = nn.Linear(hidden_channels, horizon * out_channels)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets the input layer, every layer, the final norm and the readout."""
        for module in [self.input_layer, self.positional, *self.layers, self.norm,
                       self.readout]:
            module.reset_parameters()

    def node_mask(self, edge_index: Tensor, num_nodes: int) -> Optional[Tensor]:
        r"""The node attention mask :math:`[N, N]` (:obj:`True` = not allowed): row
        :math:`i` allows the nodes within :obj:`hops` hops upstream of :math:`i`, and
        :math:`i` itself; :obj:`None` with :obj:`hops=None`."""
        if self.hops is None:
            return None
        check_edge_index(edge_index)
        eye = torch.eye(num_nodes, dtype=torch.bool, device=edge_index.device)
        reach = eye.clone()
        reach[edge_index[1], edge_index[0]] = True  # target i sees source j
        allowed = reach
        step = reach.float()
        for _ in range(1, self.hops):
            allowed = (allowed.float() @ step) > 0
        return ~allowed

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: OptTensor = None) -> Tensor:
        if x.dim() != 4:
            raise ValueError(f"'x' has shape {list(x.shape)}; expected [B, T_in, N, F_in] (add "
                             f"a batch dimension with x.unsqueeze(0))")
        check_feature_size(x, self.in_channels)
        B, _, N, _ = x.shape
        mask = self.node_mask(edge_index, N)  # [N, N]
        h = self.positional(self.input_layer(x))  # [B, T_in, N, D]
        for layer in self.layers:
            h = layer(h, mask)  # [B, T_in, N, D]
        out = self.readout(self.norm(h[:, -1]))  # [B, N, T_out F_out]
        out = out.view(B, N, self.horizon, self.out_channels)  # [B, N, T_out, F_out]
        return out.transpose(1, 2)  # [B, T_out, N, F_out]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'hidden_channels={self.hidden_channels}, horizon={self.horizon}, '
                f'num_layers={self.num_layers}, hops={self.hops})')
