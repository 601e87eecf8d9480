r"""A Transformer encoder layer (pre- or post-norm) with Primer's options.

Dimensions: ``B`` - batch, ``L`` - sequence length, ``T`` - time, ``N`` - nodes,
``F`` - features, ``H`` - heads.
"""
from typing import Optional, Union

import torch.nn.functional as F
from torch import Tensor, nn

from pyg_ext.blocks.attention_score import AttentionScore
from pyg_ext.blocks.ffn import FFN
from pyg_ext.blocks.multi_head_attention import MultiHeadAttention
from pyg_ext.blocks.temporal_conv import TemporalConv
from pyg_ext.utils.checks import check_feature_size


class TransformerLayer(nn.Module):
    r"""The Transformer encoder layer from `"Attention Is All You Need"
    <https://arxiv.org/abs/1706.03762>`_ (Vaswani et al. 2017), post-norm,

    .. math::
        \mathbf{x} \leftarrow \mathrm{LN}_1\big(\mathbf{x} + \mathrm{MHA}(\mathbf{x})\big),
        \qquad \mathbf{x} \leftarrow \mathrm{LN}_2\big(\mathbf{x} + \mathrm{FFN}(\mathbf{x})
        \big),

    or pre-norm (`"On Layer Normalization in the Transformer Architecture"
    <https://arxiv.org/abs/2002.04745>`_, Xiong et al. 2020),

    .. math::
        \mathbf{x} \leftarrow \mathbf{x} + \mathrm{MHA}\big(\mathrm{LN}_1(\mathbf{x})\big),
        \qquad \mathbf{x} \leftarrow \mathbf{x} + \mathrm{FFN}\big(\mathrm{LN}_2(\mathbf{x})
        \big),

    with dropout on each branch before the sum, attention (:obj:`attn`, a
    :class:`~pyg_ext.blocks.MultiHeadAttention`) along the axis ``dim`` and the
    feed-forward network (:obj:`ffn`, a :class:`~pyg_ext.blocks.FFN`) per position.
    Parameters map one-to-one onto :class:`torch.nn.TransformerEncoderLayer`
    (``self_attn.in_proj_weight`` = ``attn.in_proj.weight``, ``linear1`` = ``ffn.lin1``,
    ``norm1`` = ``norm1``, ...).

    ``primer=True`` applies the two changes of `"Primer: Searching for Efficient
    Transformers for Language Modeling" <https://arxiv.org/abs/2109.08668>`_ (So et al.
    2021): the squared ReLU :math:`\max(x, 0)^2` in the FFN, and a causal depthwise
    convolution of kernel size 3 along the attention axis after each of the :math:`Q, K, V`
    projections (:obj:`attn.qkv_conv`, one
    :class:`~pyg_ext.blocks.TemporalConv` with ``groups = 3F`` over the packed projections,
    so each of the :math:`3F` channels has its own kernel).

    Args:
        channels (int): Size of each feature vector :math:`F`.
        heads (int): Number of attention heads :math:`H` (dividing :math:`F`).
        ffn_channels (int, optional): Hidden size of the FFN. (default: :obj:`4 * channels`)
        dropout (float, optional): Dropout on the attention probabilities, the FFN's hidden
            layer and both residual branches. (default: :obj:`0.0`)
        norm_first (bool, optional): Pre-norm if :obj:`True`, else post-norm.
            (default: :obj:`True`)
        act (str or torch.nn.Module, optional): The FFN activation.
            (default: :obj:`'gelu'`, or :obj:`'squared_relu'` with ``primer=True``)
        primer (bool, optional): Apply Primer's squared ReLU (unless ``act`` is given) and
            depthwise :math:`Q, K, V` convolutions. (default: :obj:`False`)
        dim (int, optional): The attention axis, e.g. :obj:`1` for :math:`[B, L, F]` or time
            in :math:`[B, T, N, F]`, :obj:`2` for nodes. (default: :obj:`1`)
        score (str or AttentionScore, optional): The attention score, see
            :class:`~pyg_ext.blocks.MultiHeadAttention`. (default: :obj:`'scaled_dot'`)
        positional (torch.nn.Module, optional): A rotary or relative positional encoding for
            the attention. (default: :obj:`None`)
        bias (bool, optional): Learn biases in the projections and the FFN.
            (default: :obj:`True`)
        layer_norm_eps (float, optional): :math:`\epsilon` of both layer norms.
            (default: :obj:`1e-5`)

    Shapes:
        - **x:** :math:`(B, L, F)` or :math:`(B, T, N, F)`
        - **key_padding_mask, attn_mask, is_causal:** as in
          :class:`~pyg_ext.blocks.MultiHeadAttention`
        - **output:** the shape of :math:`x`
    """
    def __init__(
        self,
        channels: int,
        heads: int,
        ffn_channels: Optional[int] = None,
        dropout: float = 0.0,
        norm_first: bool = True,
        act: Union[str, nn.Module, None] = None,
        primer: bool = False,
        dim: int = 1,
        score: Union[str, AttentionScore] = 'scaled_dot',
        positional: Optional[nn.Module] = None,
        bias: bool = True,
        layer_norm_eps: float = 1e-5,
    ):
        super().__init__()
        self.channels = channels
        self.heads = heads
        self.ffn_channels = ffn_channels or 4 * channels
        self.dropout = dropout
        self.norm_first = norm_first
        self.primer = primer
        self.dim = dim
        if act is None:
            act = 'squared_relu' if primer else 'gelu'

        qkv_conv = None
        if primer:
            qkv_conv = TemporalConv(3 * channels, 3 * channels, kernel_size=3, causal=True,
                                    groups=3 * channels)
        self.attn = MultiHeadAttention(channels, heads, score=score, dropout=dropout,
                                       bias=bias, dim=dim, qkv_conv=qkv_conv,
                                       positional=positional)
        self.ffn = FFN(channels, self.ffn_channels, channels, act=act, dropout=dropout,
                       bias=bias)
        self.norm1 = nn.LayerNorm(channels, eps=layer_norm_eps)
        self.norm2 = nn.LayerNorm(channels, eps=layer_norm_eps)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        self.attn.reset_parameters()
        self.ffn.reset_parameters()
        self.norm1.reset_parameters()
        self.norm2.reset_parameters()

    def forward(self, x: Tensor, key_padding_mask: Optional[Tensor] = None,
                attn_mask: Optional[Tensor] = None, is_causal: bool = False) -> Tensor:
        check_feature_size(x, self.channels)
        p = self.dropout if self.training else 0.0
        if self.norm_first:
            h = self.attn(self.norm1(x), key_padding_mask=key_padding_mask,
                          attn_mask=attn_mask, is_causal=is_causal)  # x's shape
            x = x + F.dropout(h, p=p)
            return x + F.dropout(self.ffn(self.norm2(x)), p=p)
        h = self.attn(x, key_padding_mask=key_padding_mask, attn_mask=attn_mask,
                      is_causal=is_causal)  # x's shape
        x = self.norm1(x + F.dropout(h, p=p))
        return self.norm2(x + F.dropout(self.ffn(x), p=p))

    def __repr__(self) -> str:
        extra = f', ffn_channels={self.ffn_channels}'
        extra += f', dropout={self.dropout}' if self.dropout > 0 else ''
        extra += ', norm_first=False' if not self.norm_first else ''
        extra += f", act='{self.ffn.act_name}'"
        extra += ', primer=True' if self.primer else ''
        extra += f', dim={self.dim}' if self.dim != 1 else ''
        return f'{self.__class__.__name__}({self.channels}, heads={self.heads}{extra})'
