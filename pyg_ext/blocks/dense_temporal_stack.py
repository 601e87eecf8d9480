r"""A densely connected stack of temporal convolutions.

Legend: B - batch, T - input time steps, T' - output time steps, N - nodes (or any extra
dimensions), F - input features, G - growth rate, L - layers, K - kernel size.
"""
from typing import Any, Callable, Dict, Optional, Sequence, Union

import torch
from torch import Tensor
from torch.nn import Identity, Module, ModuleList
from torch_geometric.nn.resolver import activation_resolver

from pyg_ext.blocks.temporal_conv import TemporalConv, check_positive, check_temporal_input


class DenseTemporalStack(Module):
    r"""A dense block over time, from the `"Densely Connected Convolutional Networks"
    <https://arxiv.org/abs/1608.06993>`_ paper: layer :math:`l` reads the concatenation of
    the input and the outputs of all earlier layers, and the block returns all of them.

    .. math::
        \mathbf{H}^{(l)} = \phi\Big(\mathrm{conv}_l\big(\big[\mathbf{X} \,\|\,
        \mathbf{H}^{(1)} \,\|\, \cdots \,\|\, \mathbf{H}^{(l-1)}\big]\big)\Big), \qquad
        \mathbf{Y} = \big[\mathbf{X} \,\|\, \mathbf{H}^{(1)} \,\|\, \cdots \,\|\,
        \mathbf{H}^{(L)}\big]

    where :math:`\mathrm{conv}_l` is a :class:`~pyg_ext.blocks.temporal_conv.TemporalConv`
    from :math:`F + (l-1) G` to :math:`G` channels and :math:`\phi` the activation. With
    ``padding='valid'`` earlier features are cropped to their last (most recent) steps
    before each concatenation.

    Args:
        in_channels (int): Input features :math:`F`.
        growth_rate (int): Features :math:`G` added by each layer.
        num_layers (int): Number of layers :math:`L`.
        kernel_size (int): Kernel size :math:`K` over time.
        dilation (int or Sequence[int], optional): One dilation for all layers, or one per
            layer (e.g. :obj:`[1, 2, 4]`). (default: :obj:`1`)
        causal (bool, optional): Pad only on the left with ``padding='same'``.
            (default: :obj:`True`)
        padding (str, optional): ``'same'`` or ``'valid'``. (default: :obj:`'same'`)
        bias (bool, optional): Learn additive biases. (default: :obj:`True`)
        act (str or Callable, optional): The activation :math:`\phi` (resolved by PyG's
            ``activation_resolver``); :obj:`None` for none. (default: :obj:`'relu'`)
        act_kwargs (Dict[str, Any], optional): Arguments for ``act``.
            (default: :obj:`None`)

    Shapes:
        - **input:** :math:`(B, T, F)` or :math:`(B, T, N, F)`
        - **output:** :math:`(B, T', F + L G)` or :math:`(B, T', N, F + L G)`
    """
    def __init__(self, in_channels: int, growth_rate: int, num_layers: int, kernel_size: int,
                 dilation: Union[int, Sequence[int]] = 1, causal: bool = True,
                 padding: str = 'same', bias: bool = True,
                 act: Union[str, Callable, None] = 'relu',
                 act_kwargs: Optional[Dict[str, Any]] = None):
        super().__init__()
        check_positive(in_channels=in_channels, growth_rate=growth_rate,
                       num_layers=num_layers)
        dilations = [dilation] * num_layers if isinstance(dilation, int) else list(dilation)
        if len(dilations) != num_layers:
            raise ValueError(f"got {len(dilations)} dilations for num_layers={num_layers}; "
                             f"pass one int, or one per layer")
        self.in_channels = in_channels
        self.growth_rate = growth_rate
        self.num_layers = num_layers
        self.kernel_size = kernel_size
        self.out_channels = in_channels + num_layers * growth_rate
        self.convs = ModuleList([
            TemporalConv(in_channels + i * growth_rate, growth_rate, kernel_size,
                         dilation=dilations[i], causal=causal, padding=padding, bias=bias)
            for i in range(num_layers)
        ])
        self.act = Identity() if act is None else activation_resolver(act, **(act_kwargs or {}))
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters."""
        for conv in self.convs:
            conv.reset_parameters()
        if hasattr(self.act, 'reset_parameters'):
            self.act.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        check_temporal_input(x, self.in_channels)
        for conv in self.convs:
            h = self.act(conv(x))  # [B, T', (N,) G]
            x = torch.cat([x[:, x.size(1) - h.size(1):], h], dim=-1)  # [B, T', (N,) F + lG]
        return x  # [B, T', (N,) F + LG]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, growth_rate={self.growth_rate}, '
                f'num_layers={self.num_layers}, kernel_size={self.kernel_size})')
