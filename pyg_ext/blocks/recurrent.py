r"""A stack of recurrent cells unrolled over time.

Dimensions: B - batch, T - time, N - nodes (optional), F - input features, H - hidden size.
``*`` stands for the dimensions between time and features (``[N]`` or nothing).
"""
from typing import Callable, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyg_ext.blocks.gru_cell import GRUCell
from pyg_ext.blocks.lstm_cell import LSTMCell
from pyg_ext.blocks.rnn_cell import RNNCell
from pyg_ext.typing import OptRNNState, RNNState

#: A whole-sequence implementation of one layer, with :meth:`Recurrent.unroll`'s signature.
Scan = Callable[..., Tuple[Tensor, RNNState]]

#: The cell class that reproduces each torch recurrent module.
TORCH_CELLS = {nn.RNN: RNNCell, nn.GRU: GRUCell, nn.LSTM: LSTMCell}


def _hidden(state: RNNState) -> Tensor:
    r"""The output of a cell state: ``h`` itself, or ``h`` of ``(h, c)``."""
    return state[0] if isinstance(state, (tuple, list)) else state


def _check_sequence(x: Tensor) -> None:
    if x.dim() < 3:
        raise ValueError(f"'x' has shape {list(x.shape)}; expected a batch of sequences "
                         f"[B, T, *, F] with time at dimension 1 (for a single sequence "
                         f"use x.unsqueeze(0); for a single time step use step())")


def _check_dropout(dropout: float) -> None:
    if not 0.0 <= dropout <= 1.0:
        raise ValueError(f'dropout={dropout} is not a probability; pass 0 <= dropout <= 1')


def _as_cell_list(cells: Union[nn.Module, Sequence[nn.Module]]) -> List[nn.Module]:
    if isinstance(cells, nn.Module) and not isinstance(cells, nn.ModuleList):
        return [cells]
    cells = list(cells)
    if len(cells) == 0:
        raise ValueError('no cells given; pass a cell or a non-empty list of cells')
    return cells


class Recurrent(nn.Module):
    r"""A stack of recurrent cells (:class:`~pyg_ext.blocks.RNNCell`,
    :class:`~pyg_ext.blocks.GRUCell`, :class:`~pyg_ext.blocks.LSTMCell`, or graph cells
    built from them) unrolled over time. Layer :math:`l` reads the outputs of layer
    :math:`l - 1`:

    .. math::
        \mathbf{s}^{(l)}_t = \mathrm{cell}^{(l)}\left(\mathbf{h}^{(l-1)}_t,
        \mathbf{s}^{(l)}_{t-1}\right), \qquad \mathbf{h}^{(0)}_t = \mathbf{x}_t

    where :math:`\mathbf{h}` is the state itself (RNN, GRU) or its first part (LSTM's
    :math:`(\mathbf{h}, \mathbf{c})`). For each layer the whole input sequence goes through
    the cell's :meth:`input_projection` in one call; only the hidden part loops over time.
    With :obj:`reverse=True` every layer runs from the last time step to the first (outputs
    stay aligned with the inputs). Dropout is applied to the outputs of every layer but the
    last, in training, as in :class:`torch.nn.GRU`. Extra ``*args, **kwargs`` of
    :meth:`forward` and :meth:`step` go to every gate map (e.g. ``edge_index``).

    With linear cells this equals a unidirectional, :obj:`batch_first=True`
    :class:`torch.nn.RNN` / :class:`~torch.nn.GRU` / :class:`~torch.nn.LSTM`; see
    :meth:`from_torch`. Sequences of different lengths (packed sequences) are not supported.

    Args:
        cells (torch.nn.Module or list): A cell, or a list of cells (layer order), where each
            cell's :obj:`input_size` equals the previous cell's :obj:`hidden_size`. The cells
            are reset on construction (as PyG's :class:`~torch_geometric.nn.models.GAE`);
            load trained weights afterwards.
        dropout (float, optional): Dropout probability between layers. (default: :obj:`0.`)
        reverse (bool, optional): If set to :obj:`True`, runs backwards in time.
            (default: :obj:`False`)
        scan (callable, optional): Runs one layer over the whole sequence in place of
            :meth:`unroll`, with the same signature and result: ``scan(cell, x, state,
            *args, reverse=reverse, **kwargs) -> (output, state)``; for cells with a
            whole-sequence implementation, e.g. AGCRN's fused recurrence
            (:func:`~pyg_ext.nn.recurrent.node_adaptive_gru_unroll`). Dropout between
            layers and the state handling stay here. (default: :obj:`None`, :meth:`unroll`)

    Shapes:
        - **input:** input :math:`(B, T, *, F)`, state: a list with one state per layer
          (:math:`(B, *, H_l)`, or a pair of those for LSTM cells) or :obj:`None` (zeros)
        - **output:** output :math:`(B, T, *, H_{last})`, final state: a list with one state
          per layer
    """
    def __init__(self, cells: Union[nn.Module, Sequence[nn.Module]], dropout: float = 0.0,
                 reverse: bool = False, scan: Optional[Scan] = None):
        super().__init__()
        _check_dropout(dropout)
        cells = _as_cell_list(cells)
        for i in range(1, len(cells)):
            prev = getattr(cells[i - 1], 'hidden_size', None)
            size = getattr(cells[i], 'input_size', None)
            if prev is not None and size is not None and prev != size:
                raise ValueError(f'cell {i} has input_size={size} but cell {i - 1} has '
                                 f'hidden_size={prev}; build cell {i} with '
                                 f'input_size={prev}')
        self.cells = nn.ModuleList(cells)
        self.dropout = dropout
        self.reverse = reverse
        self.scan = scan
        self.reset_parameters()

    @property
    def num_layers(self) -> int:
        return len(self.cells)

    def reset_parameters(self):
        r"""Resets every cell."""
        for cell in self.cells:
            cell.reset_parameters()

    @staticmethod
    def unroll(cell: nn.Module, x: Tensor, state: OptRNNState = None, *args,
               reverse: bool = False, **kwargs) -> Tuple[Tensor, RNNState]:
        r"""Runs one cell over a sequence ``x [B, T, *, F]``: one :meth:`input_projection`
        call, then one :meth:`step` per time step. Returns ``(output [B, T, *, H], state)``.
        """
        _check_sequence(x)
        T = x.size(1)
        if T == 0:
            raise ValueError("'x' has no time steps (T = 0); pass at least one step")
        x_proj = cell.input_projection(x, *args, **kwargs)  # [B, T, *, G * H]
        # unbind, not x_proj[:, t]: each slice's backward would zero-fill a whole-sequence
        # gradient, whereas unbind's backward stacks the step gradients once.
        steps = x_proj.unbind(1)  # T x [B, *, G * H]
        outs: List[Tensor] = []
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            state = cell.step(steps[t], state, *args, **kwargs)
            outs.append(_hidden(state))  # [B, *, H]
        if reverse:
            outs.reverse()
        return torch.stack(outs, dim=1), state  # [B, T, *, H]

    def _check_state(self, state: Optional[Sequence[OptRNNState]]) -> List[OptRNNState]:
        if state is None:
            return [None] * len(self.cells)
        if not isinstance(state, (list, tuple)) or len(state) != len(self.cells):
            raise ValueError(f'state must be a list with one state per layer '
                             f'({len(self.cells)}), as returned by forward(), or None')
        return list(state)

    def forward(self, x: Tensor, state: Optional[Sequence[OptRNNState]] = None,
                *args, **kwargs) -> Tuple[Tensor, List[RNNState]]:
        r"""Runs the stack over ``x [B, T, *, F]``; returns ``(output [B, T, *, H_last],
        state)`` with one final state per layer."""
        state = self._check_state(state)
        scan = self.unroll if self.scan is None else self.scan
        out, new_state = x, []
        for i, cell in enumerate(self.cells):
            if i > 0:
                out = F.dropout(out, self.dropout, self.training)
            out, s = scan(cell, out, state[i], *args, reverse=self.reverse, **kwargs)
            new_state.append(s)
        return out, new_state

    def step(self, x: Tensor, state: Optional[Sequence[OptRNNState]] = None,
             *args, **kwargs) -> Tuple[Tensor, List[RNNState]]:
        r"""One time step through all layers: ``x [B, *, F]`` -> ``(out [B, *, H_last],
        state)``. Used by decoders that feed their own outputs back."""
        state = self._check_state(state)
        out, new_state = x, []
        for i, cell in enumerate(self.cells):
            if i > 0:
                out = F.dropout(out, self.dropout, self.training)
            s = cell(out, state[i], *args, **kwargs)
            out = _hidden(s)
            new_state.append(s)
        return out, new_state

    @classmethod
    def from_torch(cls, module: nn.Module) -> 'Recurrent':
        r"""Builds a :class:`Recurrent` holding a copy of the weights (and the dropout) of a
        unidirectional :class:`torch.nn.RNN`, :class:`~torch.nn.GRU` or
        :class:`~torch.nn.LSTM`. The copy is batch-first whatever :obj:`module.batch_first`
        is."""
        cell_cls = TORCH_CELLS.get(type(module))
        if cell_cls is None:
            raise ValueError(f'from_torch expects a torch.nn.RNN, GRU or LSTM, got '
                             f'{type(module).__name__}')
        if module.bidirectional:
            raise ValueError('the module is bidirectional; use Bidirectional.from_torch')
        L = module.num_layers
        rec = cls([cell_cls.from_torch(module, layer=i) for i in range(L)],
                  dropout=module.dropout)
        for i, cell in enumerate(rec.cells):  # __init__ reset the cells: copy again
            cell.load_state_dict(cell_cls.from_torch(module, layer=i).state_dict())
        return rec

    def __repr__(self) -> str:
        cells = ', '.join(repr(c) for c in self.cells)
        extra = f', dropout={self.dropout}' if self.dropout > 0 else ''
        extra += ', reverse=True' if self.reverse else ''
        extra += f', scan={getattr(self.scan, "__name__", self.scan)}' if self.scan else ''
        return f'{self.__class__.__name__}([{cells}]{extra})'
