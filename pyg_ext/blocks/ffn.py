r"""The position-wise feed-forward network of the Transformer.

Dimensions: ``*`` - any leading dimensions (e.g. ``[N]``, ``[B, T]`` or ``[B, T, N]``),
``F`` - features (``F_in``, ``F_hid``, ``F_out``).
"""
from typing import Optional, Union

import torch.nn.functional as F
from torch import Tensor, nn

from pyg_ext.blocks.activation import activation_name, activation_resolver
from pyg_ext.utils.checks import check_feature_size


class FFN(nn.Module):
    r"""The position-wise feed-forward network from `"Attention Is All You Need"
    <https://arxiv.org/abs/1706.03762>`_ (Vaswani et al. 2017), applied independently to
    every position (node, time step, token) along the last dimension:

    .. math::
        \mathrm{FFN}(\mathbf{x}) = \mathbf{W}_2 \, \mathrm{Dropout}\big(
        \sigma(\mathbf{W}_1 \mathbf{x} + \mathbf{b}_1)\big) + \mathbf{b}_2

    With ``act='squared_relu'``, :math:`\sigma(x) = \max(x, 0)^2` as in Primer
    (So et al. 2021). The two linear layers are :obj:`lin1` and :obj:`lin2`
    (:class:`torch.nn.Linear`), so weights copy one-to-one from
    :class:`torch.nn.TransformerEncoderLayer` (``linear1``, ``linear2``).

    Args:
        in_channels (int): Size of each input feature vector, :math:`F_{in}`.
        hidden_channels (int, optional): Size of the hidden layer, :math:`F_{hid}`.
            (default: :obj:`4 * in_channels`)
        out_channels (int, optional): Size of each output feature vector, :math:`F_{out}`.
            (default: :obj:`in_channels`)
        act (str or torch.nn.Module, optional): The activation :math:`\sigma`, a name
            understood by :func:`~pyg_ext.blocks.activation.activation_resolver`
            (``'relu'``, ``'gelu'``, ``'silu'``, ``'squared_relu'``, ``'tanh'``, ...) or a
            module. (default: :obj:`'gelu'`)
        dropout (float, optional): Dropout probability on the hidden layer.
            (default: :obj:`0.0`)
        bias (bool, optional): If :obj:`False`, neither linear layer learns a bias.
            (default: :obj:`True`)

    Shapes:
        - **input:** :math:`(*, F_{in})`
        - **output:** :math:`(*, F_{out})`
    """
    def __init__(
        self,
        in_channels: int,
        hidden_channels: Optional[int] = None,
        out_channels: Optional[int] = None,
        act: Union[str, nn.Module, None] = 'gelu',
        dropout: float = 0.0,
        bias: bool = True,
    ):
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels or 4 * in_channels
        self.out_channels = out_channels or in_channels
        self.act_name = activation_name(act)
        self.dropout = dropout
        self.bias = bias

        self.lin1 = nn.Linear(in_channels, self.hidden_channels, bias=bias)
        self.act = activation_resolver(act)
        self.lin2 = nn.Linear(self.hidden_channels, self.out_channels, bias=bias)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        self.lin1.reset_parameters()
        self.lin2.reset_parameters()
        if hasattr(self.act, 'reset_parameters'):  # e.g. nn.PReLU
            self.act.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        check_feature_size(x, self.in_channels)
        h = self.act(self.lin1(x))  # [*, F_hid]
        h = F.dropout(h, p=self.dropout, training=self.training)
        return self.lin2(h)  # [*, F_out]

    def __repr__(self) -> str:
        extra = f", act='{self.act_name}'"
        if self.dropout > 0:
            extra += f', dropout={self.dropout}'
        if not self.bias:
            extra += ', bias=False'
        return (f'{self.__class__.__name__}({self.in_channels}, {self.hidden_channels}, '
                f'{self.out_channels}{extra})')
