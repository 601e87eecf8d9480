r"""A spatio-temporal transformer layer: attention along time, then graph-masked attention
along the nodes.

Legend: B - batch, T - steps, N - nodes, E - edges, F - channels.
"""
from typing import Optional

from torch import Tensor, nn

from pyg_ext.blocks.attention_patterns import AttentionPattern
from pyg_ext.blocks.transformer_layer import TransformerLayer
from pyg_ext.nn.temporal.sparse_time_attention import SparseTimeAttention


class STTransformerLayer(nn.Module):
    r"""A factorised spatio-temporal transformer layer in the spirit of the temporal and
    spatial transformers of `"Spatio-Temporal Graph Transformer Networks for Pedestrian
    Trajectory Prediction" <https://arxiv.org/abs/2005.08514>`_ (Yu et al., ECCV 2020) and
    `"Spatial-Temporal Transformer Networks for Traffic Flow Forecasting"
    <https://arxiv.org/abs/2001.02908>`_ (Xu et al., 2020): two
    :class:`~pyg_ext.blocks.TransformerLayer` (pre-norm), the first attending along time for
    every node, the second along the nodes of every step,

    .. math::
        \mathbf{X}' = \mathrm{TL}_{\text{nodes}}\big(\mathrm{TL}_{\text{time}}(\mathbf{X}),
        \mathbf{M}\big),

    where the graph enters through the node attention's mask :math:`\mathbf{M}`: node
    :math:`i` may attend to node :math:`j` only if :math:`j` reaches :math:`i` within
    :math:`k` hops (:math:`j = i` included; built by the model once per forward, see
    :meth:`~pyg_ext.nn.models.STTransformer.node_mask`). With a :obj:`pattern` the time
    attention is a :class:`~pyg_ext.nn.temporal.SparseTimeAttention` (strided, fixed,
    sliding-window or BigBird keys, linear in :math:`T` for the window patterns) instead of
    the dense one, for long input windows.

    Args:
        channels (int): Channels :math:`F`.
        heads (int, optional): Attention heads. (default: :obj:`4`)
        ffn_channels (int, optional): FFN hidden size. (default: :obj:`2 * channels`)
        dropout (float, optional): Dropout in both layers. (default: :obj:`0.0`)
        causal (bool, optional): Dense time attention sees only earlier steps (ignored
            with a pattern: build the pattern causal). (default: :obj:`False`)
        pattern (AttentionPattern, optional): A sparse pattern for the time attention.
            (default: :obj:`None`)

    Shapes:
        - **input:** ``x`` :math:`(B, T, N, F)`, ``node_mask`` :math:`(N, N)` bool,
          :obj:`True` = not allowed *(optional)*
        - **output:** :math:`(B, T, N, F)`
    """
    def __init__(self, channels: int, heads: int = 4, ffn_channels: Optional[int] = None,
                 dropout: float = 0.0, causal: bool = False,
                 pattern: Optional[AttentionPattern] = None):
        super().__init__()
        self.channels = channels
        self.heads = heads
        self.causal = causal and pattern is None
        self.pattern = pattern
        ffn_channels = ffn_channels or 2 * channels
        self.time = TransformerLayer(channels, heads, ffn_channels, dropout, dim=1)
        if pattern is not None:
            self.time.attn = SparseTimeAttention(channels, heads, pattern, dropout, dim=1)
        self.nodes = TransformerLayer(channels, heads, ffn_channels, dropout, dim=2)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets both transformer layers."""
        self.time.reset_parameters()
        self.nodes.reset_parameters()

    def forward(self, x: Tensor, node_mask: Optional[Tensor] = None) -> Tensor:
        x = self.time(x, is_causal=self.causal)  # [B, T, N, F]
        return self.nodes(x, attn_mask=node_mask)  # [B, T, N, F]

    def __repr__(self) -> str:
        extra = ', causal=True' if self.causal else ''
        extra += f', pattern={self.pattern!r}' if self.pattern is not None else ''
        return f'{self.__class__.__name__}({self.channels}, heads={self.heads}{extra})'


