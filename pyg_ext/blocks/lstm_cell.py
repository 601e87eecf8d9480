r"""The long short-term memory cell with injectable gate maps and optional peepholes.

Dimensions: B - batch, T - time, N - nodes (optional), F - input features, H - hidden size.
``*`` stands for the leading dimensions of one time step (``[B]`` or ``[B, N]``).
"""
import math
from typing import Optional, Tuple

import torch
from torch import Tensor, nn
from torch_geometric.nn.inits import reset

from pyg_ext.blocks._torch_rnn import cell_from_torch
from pyg_ext.blocks.lstm_gates import lstm_gates
from pyg_ext.utils.checks import check_feature_size, check_gate_width


class LSTMCell(nn.Module):
    r"""The long short-term memory cell from the `"Long Short-Term Memory"
    <https://doi.org/10.1162/neco.1997.9.8.1735>`_ paper (Hochreiter & Schmidhuber, 1997),
    with its affine maps injected as modules so that graph convolutions can take their place,
    and the optional peephole connections of the `"Recurrent Nets that Time and Count"
    <https://doi.org/10.1109/IJCNN.2000.861302>`_ paper (Gers & Schmidhuber, 2000) as used
    by GConvLSTM (`Seo et al., 2018 <https://arxiv.org/abs/1612.07659>`_):

    .. math::
        \mathbf{i} &= \sigma(\mathbf{W}_i(\mathbf{x}) + \mathbf{U}_i(\mathbf{h}) +
        \mathbf{w}_{ci} \odot \mathbf{c})

        \mathbf{f} &= \sigma(\mathbf{W}_f(\mathbf{x}) + \mathbf{U}_f(\mathbf{h}) +
        \mathbf{w}_{cf} \odot \mathbf{c})

        \mathbf{g} &= \tanh(\mathbf{W}_g(\mathbf{x}) + \mathbf{U}_g(\mathbf{h}))

        \mathbf{c}' &= \mathbf{f} \odot \mathbf{c} + \mathbf{i} \odot \mathbf{g}

        \mathbf{o} &= \sigma(\mathbf{W}_o(\mathbf{x}) + \mathbf{U}_o(\mathbf{h}) +
        \mathbf{w}_{co} \odot \mathbf{c}')

        \mathbf{h}' &= \mathbf{o} \odot \tanh(\mathbf{c}')

    where :math:`[\mathbf{W}_i, \mathbf{W}_f, \mathbf{W}_g, \mathbf{W}_o]` is :obj:`input_map`
    (fused, :math:`F \to 4H`), :math:`[\mathbf{U}_i, \ldots, \mathbf{U}_o]` is
    :obj:`hidden_map` (fused, :math:`H \to 4H`) and the diagonal peephole weights
    :math:`\mathbf{w}_{ci}, \mathbf{w}_{cf}, \mathbf{w}_{co} \in \mathbb{R}^H` exist only with
    :obj:`peephole=True` (otherwise their terms vanish). Gate order is torch's
    :math:`(i, f, g, o)`; without peepholes and with the default :class:`torch.nn.Linear`
    maps the cell equals :class:`torch.nn.LSTMCell`.

    Every gate map is called as ``gate_map(x, *args, **kwargs)`` with the extra arguments
    given to the cell (e.g. ``edge_index, edge_weight`` for graph convolutions).
    :meth:`input_projection` holds the part that depends only on :math:`\mathbf{x}` and
    takes a whole sequence ``[B, T, *, F]`` in one call; :meth:`step` is the recurrent part.
    The pointwise part after the two maps is
    :func:`~pyg_ext.blocks.lstm_gates.lstm_gates`, one autograd function that keeps
    :math:`4H` numbers per row and step for the backward pass (plus the cell states).

    Args:
        input_size (int): Number of input features :math:`F`.
        hidden_size (int): Number of hidden features :math:`H`.
        bias (bool, optional): If set to :obj:`False`, the default linear maps have no bias.
            (default: :obj:`True`)
        input_map (torch.nn.Module, optional): Fused map :math:`F \to 4H`.
            (default: :obj:`None`, a :class:`torch.nn.Linear`)
        hidden_map (torch.nn.Module, optional): Fused map :math:`H \to 4H`.
            (default: :obj:`None`, a :class:`torch.nn.Linear`)
        peephole (bool, optional): If set to :obj:`True`, adds the diagonal peephole
            weights. (default: :obj:`False`)

    Shapes:
        - **input:** input :math:`(*, F)`, state :math:`((*, H), (*, H))` (``(h, c)``) or
          :obj:`None` (zeros), where :math:`*` is e.g. :math:`(B)` or :math:`(B, N)`
        - **output:** new state ``(h', c')``, each :math:`(*, H)`
        - :meth:`input_projection`: :math:`(\ldots, F) \to (\ldots, 4H)`
    """
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 input_map: Optional[nn.Module] = None,
                 hidden_map: Optional[nn.Module] = None, peephole: bool = False):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.peephole = peephole
        H = hidden_size
        self.input_map = input_map if input_map is not None else nn.Linear(
            input_size, 4 * H, bias=bias)
        self.hidden_map = hidden_map if hidden_map is not None else nn.Linear(
            H, 4 * H, bias=bias)
        for name in ('weight_ci', 'weight_cf', 'weight_co'):
            if peephole:
                self.register_parameter(name, nn.Parameter(torch.empty(H)))
            else:
                self.register_parameter(name, None)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets the injected gate maps and the peephole weights."""
        reset(self.input_map)
        reset(self.hidden_map)
        if self.peephole:
            bound = 1.0 / math.sqrt(self.hidden_size)  # torch's LSTM initialisation
            for w in (self.weight_ci, self.weight_cf, self.weight_co):
                nn.init.uniform_(w, -bound, bound)

    def input_projection(self, x: Tensor, *args, **kwargs) -> Tensor:
        r"""The input part :math:`[\mathbf{W}_i, \ldots, \mathbf{W}_o](\mathbf{x})`:
        ``[..., F] -> [..., 4H]``."""
        check_feature_size(x, self.input_size)
        return self.input_map(x, *args, **kwargs)

    def step(self, x_proj: Tensor, state: Optional[Tuple[Tensor, Tensor]] = None,
             *args, **kwargs) -> Tuple[Tensor, Tensor]:
        r"""One recurrent step from ``x_proj [*, 4H]``; returns ``(h', c')``, each
        ``[*, H]``."""
        H = self.hidden_size
        check_gate_width(x_proj, 4 * H, "'x_proj'", 'Pass the output of input_projection(x).')
        if state is None:
            h = x_proj.new_zeros(x_proj.shape[:-1] + (H, ))  # [*, H]
            c = h
        elif isinstance(state, (tuple, list)) and len(state) == 2:
            h, c = state
        else:
            raise ValueError("the state of an LSTMCell is a pair (h, c) of tensors of shape "
                             "[*, hidden_size]; pass state=(h, c), or None for zeros")
        check_gate_width(h, H, "'h'", 'Pass h of shape [*, hidden_size].')
        check_gate_width(c, H, "'c'", 'Pass c of shape [*, hidden_size].')
        gh = self.hidden_map(h, *args, **kwargs)  # [*, 4H]
        check_gate_width(gh, 4 * H, 'hidden_map(h)',
                         'Build hidden_map to map hidden_size -> 4 * hidden_size.')
        # one autograd function that saves the 4 activations and c' (4H per step, not 5H)
        return lstm_gates(x_proj, gh, c, self.weight_ci, self.weight_cf, self.weight_co)

    def forward(self, x: Tensor, state: Optional[Tuple[Tensor, Tensor]] = None,
                *args, **kwargs) -> Tuple[Tensor, Tensor]:
        r"""One time step: ``x [*, F]``, ``state (h, c)`` or :obj:`None` -> ``(h', c')``."""
        return self.step(self.input_projection(x, *args, **kwargs), state, *args, **kwargs)

    @classmethod
    def from_torch(cls, module: nn.Module, layer: int = 0,
                   reverse: bool = False) -> 'LSTMCell':
        r"""Builds a cell (no peepholes) holding a copy of the weights of a
        :class:`torch.nn.LSTMCell`, or of layer :obj:`layer` (direction :obj:`reverse`) of a
        :class:`torch.nn.LSTM` (with :obj:`proj_size=0`)."""
        if not isinstance(module, (nn.LSTM, nn.LSTMCell)):
            raise ValueError(f"LSTMCell.from_torch expects a torch.nn.LSTM or "
                             f"torch.nn.LSTMCell, got {type(module).__name__}; use "
                             f"RNNCell.from_torch or GRUCell.from_torch for those")
        return cell_from_torch(cls, module, layer, reverse)

    def __repr__(self) -> str:
        extra = '' if self.bias else ', bias=False'
        if self.peephole:
            extra += ', peephole=True'
        return f'{self.__class__.__name__}({self.input_size}, {self.hidden_size}{extra})'
