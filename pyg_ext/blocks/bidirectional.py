r"""A (multi-layer) bidirectional recurrence over stacked cells.

Dimensions: B - batch, T - time, N - nodes (optional), F - input features, H - hidden size.
``*`` stands for the dimensions between time and features (``[N]`` or nothing).
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyg_ext.blocks.recurrent import (
    TORCH_CELLS,
    Recurrent,
    _as_cell_list,
    _check_dropout,
    _check_sequence,
)
from pyg_ext.typing import OptRNNState, RNNState


class Bidirectional(nn.Module):
    r"""A bidirectional recurrence from the `"Bidirectional Recurrent Neural Networks"
    <https://doi.org/10.1109/78.650093>`_ paper (Schuster & Paliwal, 1997), stacked as in
    :class:`torch.nn.GRU` with :obj:`bidirectional=True`: at each layer :math:`l` one cell
    runs forwards and one backwards in time over the same input, and layer :math:`l + 1`
    reads their concatenated outputs:

    .. math::
        \overrightarrow{\mathbf{h}}^{(l)}_t &= \overrightarrow{\mathrm{cell}}^{(l)}
        \left(\mathbf{h}^{(l-1)}_t, \overrightarrow{\mathbf{h}}^{(l)}_{t-1}\right)

        \overleftarrow{\mathbf{h}}^{(l)}_t &= \overleftarrow{\mathrm{cell}}^{(l)}
        \left(\mathbf{h}^{(l-1)}_t, \overleftarrow{\mathbf{h}}^{(l)}_{t+1}\right)

        \mathbf{h}^{(l)}_t &= \left[\overrightarrow{\mathbf{h}}^{(l)}_t \,\Vert\,
        \overleftarrow{\mathbf{h}}^{(l)}_t\right], \qquad \mathbf{h}^{(0)}_t = \mathbf{x}_t

    A single layer is built from two cells; a stack from two lists of cells, where each
    cell of layer :math:`l > 0` reads :math:`H^{\rightarrow}_{l-1} + H^{\leftarrow}_{l-1}`
    features:

    .. code-block:: python

        fwd = [GRUCell(16, 32), GRUCell(64, 32)]
        bwd = [GRUCell(16, 32), GRUCell(64, 32)]
        rnn = Bidirectional(fwd, bwd, dropout=0.1)  # = torch GRU(16, 32, 2, bidirectional)
        out, state = rnn(x)  # [B, T, *, 64], [fwd_0, bwd_0, fwd_1, bwd_1]

    Each direction projects its whole input sequence in one call (see
    :meth:`Recurrent.unroll`); extra ``*args, **kwargs`` go to every gate map. Dropout is
    applied to the outputs of every layer but the last, in training, as in torch. Sequences
    of different lengths (packed sequences) are not supported: the backward cells start at
    the last time step of the padded tensor.

    Args:
        forward_cells (torch.nn.Module or list): The forward-in-time cell of each layer.
        backward_cells (torch.nn.Module or list): The backward-in-time cell of each layer
            (as many as :obj:`forward_cells`). All cells are reset on construction; load
            trained weights afterwards.
        dropout (float, optional): Dropout probability between layers. (default: :obj:`0.`)

    Shapes:
        - **input:** input :math:`(B, T, *, F)`, state: a list of :math:`2L` states ordered
          ``[fwd_0, bwd_0, fwd_1, bwd_1, ...]`` (torch's ``h_n`` order) or :obj:`None`
          (zeros)
        - **output:** output :math:`(B, T, *, H^{\rightarrow}_{L-1} + H^{\leftarrow}_{L-1})`,
          final state: a list of :math:`2L` states in the same order
    """
    def __init__(self, forward_cells: Union[nn.Module, Sequence[nn.Module]],
                 backward_cells: Union[nn.Module, Sequence[nn.Module]],
                 dropout: float = 0.0):
        super().__init__()
        _check_dropout(dropout)
        fwd, bwd = _as_cell_list(forward_cells), _as_cell_list(backward_cells)
        if len(fwd) != len(bwd):
            raise ValueError(f'got {len(fwd)} forward cells but {len(bwd)} backward cells; '
                             f'pass one of each per layer')
        for i in range(1, len(fwd)):
            prev = (getattr(fwd[i - 1], 'hidden_size', None),
                    getattr(bwd[i - 1], 'hidden_size', None))
            if None in prev:
                continue
            for name, cell in (('forward', fwd[i]), ('backward', bwd[i])):
                size = getattr(cell, 'input_size', None)
                if size is not None and size != sum(prev):
                    raise ValueError(
                        f'{name} cell {i} has input_size={size}, but layer {i - 1} outputs '
                        f'{prev[0]} + {prev[1]} = {sum(prev)} features (both directions '
                        f'concatenated); build it with input_size={sum(prev)}')
        self.forward_cells = nn.ModuleList(fwd)
        self.backward_cells = nn.ModuleList(bwd)
        self.dropout = dropout
        self.reset_parameters()

    @property
    def num_layers(self) -> int:
        return len(self.forward_cells)

    def reset_parameters(self):
        r"""Resets every cell."""
        for cell in list(self.forward_cells) + list(self.backward_cells):
            cell.reset_parameters()

    def forward(self, x: Tensor, state: Optional[Sequence[OptRNNState]] = None,
                *args, **kwargs) -> Tuple[Tensor, List[RNNState]]:
        r"""Runs the stack over ``x [B, T, *, F]``; returns ``(output [B, T, *, 2H], state)``
        with the final states ``[fwd_0, bwd_0, fwd_1, bwd_1, ...]``."""
        _check_sequence(x)
        L = self.num_layers
        if state is None:
            state = [None] * (2 * L)
        elif not isinstance(state, (list, tuple)) or len(state) != 2 * L:
            raise ValueError(f'state must be a list of {2 * L} states ordered [fwd_0, bwd_0, '
                             f'fwd_1, bwd_1, ...], as returned by forward(), or None')
        out, new_state = x, []
        for i in range(L):
            if i > 0:
                out = F.dropout(out, self.dropout, self.training)
            out_f, s_f = Recurrent.unroll(self.forward_cells[i], out, state[2 * i], *args,
                                          **kwargs)  # [B, T, *, H_fwd]
            out_b, s_b = Recurrent.unroll(self.backward_cells[i], out, state[2 * i + 1],
                                          *args, reverse=True, **kwargs)  # [B, T, *, H_bwd]
            out = torch.cat([out_f, out_b], dim=-1)  # [B, T, *, H_fwd + H_bwd]
            new_state += [s_f, s_b]
        return out, new_state

    @classmethod
    def from_torch(cls, module: nn.Module) -> 'Bidirectional':
        r"""Builds a :class:`Bidirectional` holding a copy of the weights (and the dropout)
        of a :class:`torch.nn.RNN`, :class:`~torch.nn.GRU` or :class:`~torch.nn.LSTM` built
        with :obj:`bidirectional=True`. The copy is batch-first whatever
        :obj:`module.batch_first` is."""
        cell_cls = TORCH_CELLS.get(type(module))
        if cell_cls is None:
            raise ValueError(f'from_torch expects a torch.nn.RNN, GRU or LSTM, got '
                             f'{type(module).__name__}')
        if not module.bidirectional:
            raise ValueError('the module is not bidirectional; use Recurrent.from_torch')
        L = module.num_layers
        bi = cls([cell_cls.from_torch(module, layer=i) for i in range(L)],
                 [cell_cls.from_torch(module, layer=i, reverse=True) for i in range(L)],
                 dropout=module.dropout)
        for i in range(L):  # __init__ reset the cells: copy again
            bi.forward_cells[i].load_state_dict(
                cell_cls.from_torch(module, layer=i).state_dict())
            bi.backward_cells[i].load_state_dict(
                cell_cls.from_torch(module, layer=i, reverse=True).state_dict())
        return bi

    def __repr__(self) -> str:
        fwd = ', '.join(repr(c) for c in self.forward_cells)
        bwd = ', '.join(repr(c) for c in self.backward_cells)
        extra = f', dropout={self.dropout}' if self.dropout > 0 else ''
        return f'{self.__class__.__name__}([{fwd}], [{bwd}]{extra})'
