r"""The Elman recurrent cell with injectable gate maps.

Dimensions: B - batch, T - time, N - nodes (optional), F - input features, H - hidden size.
``*`` stands for the leading dimensions of one time step (``[B]`` or ``[B, N]``).
"""
from typing import Optional

import torch
from torch import Tensor, nn
from torch_geometric.nn.inits import reset

from pyg_ext.blocks._torch_rnn import cell_from_torch
from pyg_ext.utils.checks import check_feature_size, check_gate_width


class RNNCell(nn.Module):
    r"""The Elman recurrent cell from the `"Finding Structure in Time"
    <https://doi.org/10.1207/s15516709cog1402_1>`_ paper (Elman, 1990), with its two affine
    maps injected as modules so that graph convolutions can take their place:

    .. math::
        \mathbf{h}' = \sigma\left(\mathbf{W}(\mathbf{x}) + \mathbf{U}(\mathbf{h})\right)

    where :math:`\mathbf{W}` is :obj:`input_map`, :math:`\mathbf{U}` is :obj:`hidden_map` and
    :math:`\sigma` is :math:`\tanh` or :math:`\mathrm{ReLU}`. With the default
    :class:`torch.nn.Linear` maps this equals :class:`torch.nn.RNNCell`.

    A gate map is called as ``gate_map(x, *args, **kwargs)``, where ``args`` and ``kwargs``
    are whatever the caller passed to the cell after ``state`` (e.g. ``edge_index,
    edge_weight`` for a graph convolution with :obj:`node_dim=-2`).

    The cell splits its work in two so that a sequence can be projected at once:
    :meth:`input_projection` holds everything that depends only on :math:`\mathbf{x}` and
    accepts a whole sequence ``[B, T, *, F]`` in one call; :meth:`step` does the recurrent
    part of one time step. :meth:`forward` is ``step(input_projection(x), state)``.

    Args:
        input_size (int): Number of input features :math:`F`.
        hidden_size (int): Number of hidden features :math:`H`.
        bias (bool, optional): If set to :obj:`False`, the default linear maps have no bias.
            (default: :obj:`True`)
        input_map (torch.nn.Module, optional): Map :math:`F \to H` applied to the input.
            (default: :obj:`None`, a :class:`torch.nn.Linear`)
        hidden_map (torch.nn.Module, optional): Map :math:`H \to H` applied to the state.
            (default: :obj:`None`, a :class:`torch.nn.Linear`)
        nonlinearity (str, optional): :obj:`"tanh"` or :obj:`"relu"`.
            (default: :obj:`"tanh"`)

    Shapes:
        - **input:** input :math:`(*, F)`, state :math:`(*, H)` or :obj:`None` (zeros),
          where :math:`*` is e.g. :math:`(B)` or :math:`(B, N)`
        - **output:** new state :math:`(*, H)`
        - :meth:`input_projection`: :math:`(\ldots, F) \to (\ldots, H)`, e.g. on
          :math:`(B, T, N, F)`
    """
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 input_map: Optional[nn.Module] = None,
                 hidden_map: Optional[nn.Module] = None, nonlinearity: str = 'tanh'):
        super().__init__()
        if nonlinearity not in ('tanh', 'relu'):
            raise ValueError(f"nonlinearity={nonlinearity!r} is not supported; use "
                             f"nonlinearity='tanh' or nonlinearity='relu'")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.nonlinearity = nonlinearity
        self.input_map = input_map if input_map is not None else nn.Linear(
            input_size, hidden_size, bias=bias)
        self.hidden_map = hidden_map if hidden_map is not None else nn.Linear(
            hidden_size, hidden_size, bias=bias)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets the injected gate maps."""
        reset(self.input_map)
        reset(self.hidden_map)

    def input_projection(self, x: Tensor, *args, **kwargs) -> Tensor:
        r"""The input part :math:`\mathbf{W}(\mathbf{x})`: ``[..., F] -> [..., H]``."""
        check_feature_size(x, self.input_size)
        return self.input_map(x, *args, **kwargs)

    def step(self, x_proj: Tensor, state: Optional[Tensor] = None, *args, **kwargs) -> Tensor:
        r"""One recurrent step from a projected input ``x_proj [*, H]``; returns ``h' [*, H]``."""
        check_gate_width(x_proj, self.hidden_size, "'x_proj'",
                         'Pass the output of input_projection(x).')
        if state is None:
            state = x_proj.new_zeros(x_proj.shape[:-1] + (self.hidden_size, ))  # [*, H]
        check_gate_width(state, self.hidden_size, "'state'",
                         'Pass a state of shape [*, hidden_size], or None for zeros.')
        gh = self.hidden_map(state, *args, **kwargs)  # [*, H]
        check_gate_width(gh, self.hidden_size, 'hidden_map(state)',
                         'Build hidden_map to map hidden_size -> hidden_size.')
        pre = x_proj + gh
        return torch.tanh(pre) if self.nonlinearity == 'tanh' else torch.relu(pre)

    def forward(self, x: Tensor, state: Optional[Tensor] = None, *args, **kwargs) -> Tensor:
        r"""One time step: ``x [*, F]``, ``state [*, H]`` or :obj:`None` -> ``h' [*, H]``."""
        return self.step(self.input_projection(x, *args, **kwargs), state, *args, **kwargs)

    @classmethod
    def from_torch(cls, module: nn.Module, layer: int = 0, reverse: bool = False) -> 'RNNCell':
        r"""Builds a cell holding a copy of the weights of a :class:`torch.nn.RNNCell`, or of
        layer :obj:`layer` (direction :obj:`reverse`) of a :class:`torch.nn.RNN`."""
        if not isinstance(module, (nn.RNN, nn.RNNCell)):
            raise ValueError(f"RNNCell.from_torch expects a torch.nn.RNN or torch.nn.RNNCell, "
                             f"got {type(module).__name__}; use GRUCell.from_torch or "
                             f"LSTMCell.from_torch for those")
        return cell_from_torch(cls, module, layer, reverse,
                               nonlinearity=module.nonlinearity)

    def __repr__(self) -> str:
        extra = '' if self.bias else ', bias=False'
        if self.nonlinearity != 'tanh':
            extra += f', nonlinearity={self.nonlinearity!r}'
        return f'{self.__class__.__name__}({self.input_size}, {self.hidden_size}{extra})'

