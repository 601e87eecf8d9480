r"""Copying the weights of torch's recurrent modules into the cells of :mod:`pyg_ext.blocks`
(shared by :meth:`RNNCell.from_torch`, :meth:`GRUCell.from_torch` and
:meth:`LSTMCell.from_torch`).

Dimensions: F - input features, H - hidden size, G - gates (1 RNN, 3 GRU, 4 LSTM).
"""
from typing import Optional, Tuple

import torch
from torch import Tensor, nn


def cell_from_torch(cls, module: nn.Module, layer: int = 0, reverse: bool = False,
                    **kwargs) -> nn.Module:
    r"""Builds ``cls(F, H, bias=module.bias, **kwargs)`` and copies the weights of the torch
    cell :obj:`module`, or of layer :obj:`layer` (direction :obj:`reverse`) of a torch RNN,
    into its :obj:`input_map` and :obj:`hidden_map` (:class:`torch.nn.Linear` of shapes
    :math:`[G H, F]` and :math:`[G H, H]`, in torch's gate order)."""
    w_ih, w_hh, b_ih, b_hh = _torch_weights(module, layer, reverse)
    cell = cls(w_ih.size(1), module.hidden_size, bias=module.bias, **kwargs)
    _copy_linear(cell.input_map, w_ih, b_ih)
    _copy_linear(cell.hidden_map, w_hh, b_hh)
    return cell


def _torch_weights(module: nn.Module, layer: int = 0,
                   reverse: bool = False) -> Tuple[Tensor, Tensor, Optional[Tensor],
                                                   Optional[Tensor]]:
    r"""Returns ``(weight_ih [G * H, F], weight_hh [G * H, H], bias_ih, bias_hh)`` of a torch
    cell, or of one layer and direction of a torch RNN (the biases are :obj:`None` if the
    module has none)."""
    if isinstance(module, nn.RNNCellBase):
        suffix = ''
    else:
        if getattr(module, 'proj_size', 0) > 0:
            raise ValueError('torch LSTMs with proj_size > 0 are not supported; build the '
                             'module with proj_size=0')
        if not 0 <= layer < module.num_layers:
            raise ValueError(f'layer={layer} is out of range for a module with '
                             f'num_layers={module.num_layers}')
        if reverse and not module.bidirectional:
            raise ValueError('reverse=True needs a module built with bidirectional=True')
        suffix = f'_l{layer}' + ('_reverse' if reverse else '')
    names = ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh']
    return tuple(getattr(module, n + suffix) if module.bias or n.startswith('weight') else None
                 for n in names)


def _copy_linear(linear: nn.Linear, weight: Tensor, bias: Optional[Tensor]) -> None:
    r"""Copies ``weight`` and ``bias`` into a :class:`torch.nn.Linear` of the same shape."""
    with torch.no_grad():
        linear.weight.copy_(weight)
        if bias is not None:
            linear.bias.copy_(bias)
