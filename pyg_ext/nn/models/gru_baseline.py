r"""The graph-free recurrent forecasting baseline: one GRU shared by every node.

Dimensions: B - batch, T_in - input steps, T_out - horizon, N - nodes, F_in / F_out - input /
output features, H - hidden size.
"""
from typing import Optional

from torch import Tensor, nn

from pyg_ext.blocks.gru_cell import GRUCell
from pyg_ext.blocks.recurrent import Recurrent
from pyg_ext.typing import OptTensor


class GRUBaseline(nn.Module):
    r"""The GRU baseline of the traffic forecasting literature (e.g. "FC-LSTM" / "GRU" in
    DCRNN, `Li et al., ICLR 2018 <https://arxiv.org/abs/1707.01926>`_, and T-GCN,
    `Zhao et al., T-ITS 2019 <https://arxiv.org/abs/1811.05320>`_): every node's series is
    read by the *same* stacked GRU (:class:`~pyg_ext.blocks.GRUCell` unrolled by
    :class:`~pyg_ext.blocks.Recurrent`), and a linear readout maps the last hidden state to
    the whole horizon at once. The graph is not used, so the model measures what a
    spatio-temporal model gains from the graph:

    .. math::
        \mathbf{h}_{n, T_{in}} &= \mathrm{GRU}\left(\mathbf{x}_{n, 1}, \ldots,
        \mathbf{x}_{n, T_{in}}\right)

        \hat{\mathbf{y}}_{n, 1..T_{out}} &= \mathbf{W} \mathbf{h}_{n, T_{in}} + \mathbf{b}
        \in \mathbb{R}^{T_{out} F_{out}}

    with the GRU's and the readout's weights shared by all nodes :math:`n`.

    Args:
        in_channels (int): Input features :math:`F_{in}`.
        out_channels (int): Output features :math:`F_{out}`.
        hidden_channels (int, optional): Hidden size :math:`H`. (default: :obj:`64`)
        horizon (int, optional): Steps to forecast :math:`T_{out}`. (default: :obj:`12`)
        num_nodes (int, optional): Accepted so that models can be swapped by name; unused.
            (default: :obj:`None`)
        num_layers (int, optional): Stacked GRU layers. (default: :obj:`1`)
        dropout (float, optional): Dropout between GRU layers. (default: :obj:`0.`)

    Shapes:
        - **input:** ``x`` :math:`(B, T_{in}, N, F_{in})`, ``edge_index`` :math:`(2, E)`
          and ``edge_weight`` :math:`(E)` (both ignored, may be :obj:`None`)
        - **output:** :math:`(B, T_{out}, N, F_{out})`
    """
    supports_teacher_forcing = False

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int = 64,
                 horizon: int = 12, num_nodes: Optional[int] = None, num_layers: int = 1,
                 dropout: float = 0.0):
        super().__init__()
        if horizon < 1 or num_layers < 1:
            raise ValueError(f'horizon ({horizon}) and num_layers ({num_layers}) must be at '
                             f'least 1')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.hidden_channels = hidden_channels
        self.horizon = horizon
        self.num_layers = num_layers
        sizes = [in_channels] + [hidden_channels] * num_layers
        self.rnn = Recurrent([GRUCell(a, b) for a, b in zip(sizes[:-1], sizes[1:])],
                             dropout=dropout)
        self.readout = nn.Linear(hidden_channels, horizon * out_channels)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets the GRU and the readout."""
        self.rnn.reset_parameters()
        self.readout.reset_parameters()

    def forward(self, x: Tensor, edge_index: OptTensor = None,
                edge_weight: OptTensor = None) -> Tensor:
        if x.dim() != 4:
            raise ValueError(f"'x' has shape {list(x.shape)}; expected [B, T_in, N, F_in] (add "
                             f"a batch dimension with x.unsqueeze(0))")
        B, _, N, _ = x.shape
        _, state = self.rnn(x)  # the last layer's state: [B, N, H]
        out = self.readout(state[-1])  # [B, N, T_out * F_out]
        out = out.view(B, N, self.horizon, self.out_channels)  # [B, N, T_out, F_out]
        return out.transpose(1, 2)  # [B, T_out, N, F_out]

    def __repr__(self) -> str:
        layers = f', num_layers={self.num_layers}' if self.num_layers > 1 else ''
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'hidden_channels={self.hidden_channels}, horizon={self.horizon}{layers})')
