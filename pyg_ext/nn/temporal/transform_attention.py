r"""GMAN's transform attention: from the encoded history to the forecast steps.

Legend: B - batch, T_in - history steps, T_out - forecast steps, N - nodes, D - channels.
"""
from torch import Tensor, nn

from pyg_ext.blocks.ffn import FFN
from pyg_ext.blocks.multi_head_attention import MultiHeadAttention
from pyg_ext.utils.checks import check_feature_size


class TransformAttention(nn.Module):
    r"""The transform attention from the `"GMAN: A Graph Multi-Attention Network for Traffic
    Prediction" <https://arxiv.org/abs/1911.08415>`_ paper (Zheng et al., AAAI 2020): for
    every node, each future step attends over the history steps, with the spatio-temporal
    embeddings of the future (query) and historical (key) steps deciding the weights and the
    encoder's states as the values:

    .. math::
        \mathbf{Y}_{t} = \mathrm{FFN}\Big(\sum_{s=1}^{T_{in}} \mathrm{softmax}_s\big(
        \mathbf{q}(\mathbf{E}_{t})^\top \mathbf{k}(\mathbf{E}_{s}) / \sqrt{d}\big)\,
        \mathbf{v}(\mathbf{X}_s)\Big), \qquad t = 1, \ldots, T_{out}

    per head, with a :class:`~pyg_ext.blocks.MultiHeadAttention` along time (its linear
    :math:`\mathbf{q}, \mathbf{k}, \mathbf{v}` projections stand in for GMAN's ReLU layers)
    and a ReLU :class:`~pyg_ext.blocks.FFN` as the output layer.

    Args:
        channels (int): Channels :math:`D`.
        heads (int, optional): Attention heads. (default: :obj:`8`)
        dropout (float, optional): Dropout on the attention weights. (default: :obj:`0.0`)

    Shapes:
        - **input:** ``x`` :math:`(B, T_{in}, N, D)`, ``ste_history`` :math:`(B, T_{in}, N,
          D)`, ``ste_future`` :math:`(B, T_{out}, N, D)`
        - **output:** :math:`(B, T_{out}, N, D)`
    """
    def __init__(self, channels: int, heads: int = 8, dropout: float = 0.0):
        super().__init__()
        self.channels = channels
        self.heads = heads
        self.attn = MultiHeadAttention(channels, heads, dropout=dropout, dim=1)
        self.ffn = FFN(channels, channels, channels, act='relu')
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets the attention and the output FFN."""
        self.attn.reset_parameters()
        self.ffn.reset_parameters()

    def forward(self, x: Tensor, ste_history: Tensor, ste_future: Tensor) -> Tensor:
        check_feature_size(x, self.channels)
        if ste_history.shape[:-1] != x.shape[:-1]:
            raise ValueError(f"'ste_history' has shape {list(ste_history.shape)}, but 'x' has "
                             f"{list(x.shape)}; pass the embedding of the history steps, "
                             f"[B, T_in, N, {self.channels}]")
        out = self.attn(ste_future, ste_history, x)  # [B, T_out, N, D]
        return self.ffn(out)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.channels}, heads={self.heads})'
