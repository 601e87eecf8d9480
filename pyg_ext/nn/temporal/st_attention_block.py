r"""The spatio-temporal attention block of GMAN: spatial and temporal attention, gated fusion.

Legend: B - batch, T - steps, N - nodes, D - channels (D = heads * channels per head).
"""
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyg_ext.blocks.ffn import FFN
from pyg_ext.blocks.multi_head_attention import MultiHeadAttention
from pyg_ext.utils.checks import check_feature_size


class STAttentionBlock(nn.Module):
    r"""The ST-Attention block from the `"GMAN: A Graph Multi-Attention Network for Traffic
    Prediction" <https://arxiv.org/abs/1911.08415>`_ paper (Zheng et al., AAAI 2020): a
    spatial attention over the nodes of each step and a temporal attention over the steps of
    each node, both reading the hidden state concatenated with the spatio-temporal embedding,
    merged by a gated fusion, with a residual connection:

    .. math::
        \mathbf{H}_S &= \mathrm{MHA}_{\text{nodes}}\big(\mathrm{ReLU}(\mathbf{W}_S
        [\mathbf{X} \,\|\, \mathbf{E}] + \mathbf{b}_S)\big), \qquad
        \mathbf{H}_T = \mathrm{MHA}_{\text{time}}\big(\mathrm{ReLU}(\mathbf{W}_T
        [\mathbf{X} \,\|\, \mathbf{E}] + \mathbf{b}_T)\big)

        \mathbf{z} &= \sigma(\mathbf{H}_S \mathbf{W}_{z,1} + \mathbf{H}_T \mathbf{W}_{z,2} +
        \mathbf{b}_z), \qquad
        \mathbf{Y} = \mathbf{X} + \mathrm{FFN}\big(\mathbf{z} \odot \mathbf{H}_S +
        (1 - \mathbf{z}) \odot \mathbf{H}_T\big)

    with :math:`\mathrm{MHA}` a :class:`~pyg_ext.blocks.MultiHeadAttention` along the node
    (``dim=2``) or time (``dim=1``) axis. GMAN computes each head's query, key and value with
    its own ReLU layer on :math:`[\mathbf{X} \| \mathbf{E}]`; here one shared ReLU layer
    maps :math:`[\mathbf{X} \| \mathbf{E}]` to :math:`D` channels and the attention's
    linear projections follow. With ``causal=True`` step :math:`t` attends only to steps
    :math:`\le t` (GMAN's optional temporal mask).

    Args:
        channels (int): Channels :math:`D` of the state and the embedding.
        heads (int, optional): Attention heads (dividing :math:`D`). (default: :obj:`8`)
        causal (bool, optional): Mask future steps in the temporal attention.
            (default: :obj:`False`)
        dropout (float, optional): Dropout on the attention weights. (default: :obj:`0.0`)

    Shapes:
        - **input:** ``x`` :math:`(B, T, N, D)`, ``ste`` :math:`(B, T, N, D)` (or
          broadcastable to it)
        - **output:** :math:`(B, T, N, D)`
    """
    def __init__(self, channels: int, heads: int = 8, causal: bool = False,
                 dropout: float = 0.0):
        super().__init__()
        self.channels = channels
        self.heads = heads
        self.causal = causal
        self.spatial_input = nn.Linear(2 * channels, channels)
        self.temporal_input = nn.Linear(2 * channels, channels)
        self.spatial_attn = MultiHeadAttention(channels, heads, dropout=dropout, dim=2)
        self.temporal_attn = MultiHeadAttention(channels, heads, dropout=dropout, dim=1)
        self.gate_spatial = nn.Linear(channels, channels, bias=False)
        self.gate_temporal = nn.Linear(channels, channels)
        self.ffn = FFN(channels, channels, channels, act='relu')
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets both attentions, their input layers, the gate and the FFN."""
        for module in (self.spatial_input, self.temporal_input, self.spatial_attn,
                       self.temporal_attn, self.gate_spatial, self.gate_temporal, self.ffn):
            module.reset_parameters()

    def forward(self, x: Tensor, ste: Tensor) -> Tensor:
        check_feature_size(x, self.channels)
        check_feature_size(ste, self.channels, name='ste')
        xe = torch.cat([x, ste.expand_as(x)], dim=-1)  # [B, T, N, 2D]
        hs = self.spatial_attn(F.relu(self.spatial_input(xe)))  # [B, T, N, D]
        ht = self.temporal_attn(F.relu(self.temporal_input(xe)),
                                is_causal=self.causal)  # [B, T, N, D]
        z = torch.sigmoid(self.gate_spatial(hs) + self.gate_temporal(ht))  # [B, T, N, D]
        return x + self.ffn(z * hs + (1 - z) * ht)

    def __repr__(self) -> str:
        extra = ', causal=True' if self.causal else ''
        return f'{self.__class__.__name__}({self.channels}, heads={self.heads}{extra})'
