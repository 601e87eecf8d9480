r"""The gated recurrent unit cell with injectable gate maps.

Dimensions: B - batch, T - time, N - nodes (optional), F - input features, H - hidden size.
``*`` stands for the leading dimensions of one time step (``[B]`` or ``[B, N]``).
"""
from typing import Optional

import torch
from torch import Tensor, nn
from torch_geometric.nn.inits import reset

from pyg_ext.blocks._torch_rnn import cell_from_torch
from pyg_ext.blocks.gru_gates import gru_gates
from pyg_ext.utils.checks import check_feature_size, check_gate_width


class GRUCell(nn.Module):
    r"""The gated recurrent unit from the `"Learning Phrase Representations using RNN
    Encoder-Decoder for Statistical Machine Translation" <https://arxiv.org/abs/1406.1078>`_
    paper (Cho et al., 2014), with its affine maps injected as modules so that graph
    convolutions can take their place (as in DCRNN, GConvGRU and T-GCN).

    With :obj:`reset_after=True` (the form of :class:`torch.nn.GRUCell` and cuDNN):

    .. math::
        \mathbf{r} &= \sigma(\mathbf{W}_r(\mathbf{x}) + \mathbf{U}_r(\mathbf{h}))

        \mathbf{z} &= \sigma(\mathbf{W}_z(\mathbf{x}) + \mathbf{U}_z(\mathbf{h}))

        \mathbf{n} &= \tanh(\mathbf{W}_n(\mathbf{x}) + \mathbf{r} \odot
        \mathbf{U}_n(\mathbf{h}))

        \mathbf{h}' &= (1 - \mathbf{z}) \odot \mathbf{n} + \mathbf{z} \odot \mathbf{h}

    where :math:`[\mathbf{W}_r, \mathbf{W}_z, \mathbf{W}_n]` is :obj:`input_map` (fused,
    :math:`F \to 3H`) and :math:`[\mathbf{U}_r, \mathbf{U}_z, \mathbf{U}_n]` is
    :obj:`hidden_map` (fused, :math:`H \to 3H`). With :obj:`reset_after=False` (the form of
    Cho et al., used by DCRNN, GConvGRU and T-GCN) the reset gate acts before the map:

    .. math::
        \mathbf{n} = \tanh(\mathbf{W}_n(\mathbf{x}) + \mathbf{C}(\mathbf{r} \odot
        \mathbf{h}))

    where :obj:`hidden_map` maps :math:`H \to 2H` (:math:`\mathbf{U}_r, \mathbf{U}_z`) and
    :math:`\mathbf{C}` is :obj:`candidate_map` (:math:`H \to H`). Gate order is torch's
    :math:`(r, z, n)`; with the default :class:`torch.nn.Linear` maps and
    :obj:`reset_after=True` the cell equals :class:`torch.nn.GRUCell`.

    Every gate map is called as ``gate_map(x, *args, **kwargs)`` with the extra arguments
    given to the cell (e.g. ``edge_index, edge_weight`` for graph convolutions).
    :meth:`input_projection` holds the part that depends only on :math:`\mathbf{x}` and
    takes a whole sequence ``[B, T, *, F]`` in one call; :meth:`step` is the recurrent part.
    With :obj:`reset_after=True` the pointwise part after the two maps is
    :func:`~pyg_ext.blocks.gru_gates.gru_gates`, one autograd function that keeps :math:`4H`
    numbers per row for the backward pass (torch's :class:`torch.nn.GRUCell` keeps
    :math:`6H` on CPU); with :obj:`reset_after=False` it is plain autograd ops that keep
    :math:`2H` (:math:`\mathbf{r}, \mathbf{z}`) and :math:`\mathbf{n}` besides what
    :obj:`candidate_map` keeps.

    Args:
        input_size (int): Number of input features :math:`F`.
        hidden_size (int): Number of hidden features :math:`H`.
        bias (bool, optional): If set to :obj:`False`, the default linear maps have no bias.
            (default: :obj:`True`)
        input_map (torch.nn.Module, optional): Fused map :math:`F \to 3H`.
            (default: :obj:`None`, a :class:`torch.nn.Linear`)
        hidden_map (torch.nn.Module, optional): Fused map :math:`H \to 3H`
            (:obj:`reset_after=True`) or :math:`H \to 2H` (:obj:`reset_after=False`).
            (default: :obj:`None`, a :class:`torch.nn.Linear`)
        candidate_map (torch.nn.Module, optional): Map :math:`H \to H` applied to
            :math:`\mathbf{r} \odot \mathbf{h}`; only with :obj:`reset_after=False`.
            (default: :obj:`None`, a :class:`torch.nn.Linear` when needed)
        reset_after (bool, optional): Apply the reset gate after the hidden map (torch) or
            before it (Cho et al.). (default: :obj:`True`)
        gate_bias (float, optional): The starting bias of the reset and update gates
            (the first :math:`2H` entries of :obj:`input_map`'s bias), filled in by
            :meth:`reset_parameters`; DCRNN's and T-GCN's code start them at 1.
            (default: :obj:`0.`, the maps' own initialisation)

    Shapes:
        - **input:** input :math:`(*, F)`, state :math:`(*, H)` or :obj:`None` (zeros),
          where :math:`*` is e.g. :math:`(B)` or :math:`(B, N)`
        - **output:** new state :math:`(*, H)`
        - :meth:`input_projection`: :math:`(\ldots, F) \to (\ldots, 3H)`
    """
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 input_map: Optional[nn.Module] = None,
                 hidden_map: Optional[nn.Module] = None,
                 candidate_map: Optional[nn.Module] = None, reset_after: bool = True,
                 gate_bias: float = 0.0):
        super().__init__()
        if reset_after and candidate_map is not None:
            raise ValueError('candidate_map is only used with reset_after=False; build the '
                             'cell with reset_after=False or drop candidate_map (with '
                             'reset_after=True the candidate part is the last third of '
                             'hidden_map)')
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.reset_after = reset_after
        self.gate_bias = gate_bias
        H = hidden_size
        self.input_map = input_map if input_map is not None else nn.Linear(
            input_size, 3 * H, bias=bias)
        if gate_bias != 0.0 and not (isinstance(getattr(self.input_map, 'bias', None), Tensor)
                                     and self.input_map.bias.shape == (3 * H, )):
            raise ValueError(f'gate_bias={gate_bias} needs an input_map with a bias of shape '
                             f'[3 * hidden_size] = [{3 * H}]; build the map with a bias or '
                             f'leave gate_bias at 0')
        n_hidden = 3 * H if reset_after else 2 * H
        self.hidden_map = hidden_map if hidden_map is not None else nn.Linear(
            H, n_hidden, bias=bias)
        if reset_after:
            self.register_module('candidate_map', None)
        else:
            self.candidate_map = candidate_map if candidate_map is not None else nn.Linear(
                H, H, bias=bias)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets the injected gate maps; the reset and update gate biases then start at
        :obj:`gate_bias` when it is not 0."""
        reset(self.input_map)
        reset(self.hidden_map)
        if self.candidate_map is not None:
            reset(self.candidate_map)
        if self.gate_bias != 0.0:
            with torch.no_grad():  # the input map's bias holds (r, z, n)
                self.input_map.bias[:2 * self.hidden_size].fill_(self.gate_bias)

    def input_projection(self, x: Tensor, *args, **kwargs) -> Tensor:
        r"""The input part :math:`[\mathbf{W}_r, \mathbf{W}_z, \mathbf{W}_n](\mathbf{x})`:
        ``[..., F] -> [..., 3H]``."""
        check_feature_size(x, self.input_size)
        return self.input_map(x, *args, **kwargs)

    def step(self, x_proj: Tensor, state: Optional[Tensor] = None, *args, **kwargs) -> Tensor:
        r"""One recurrent step from ``x_proj [*, 3H]``; returns ``h' [*, H]``."""
        H = self.hidden_size
        check_gate_width(x_proj, 3 * H, "'x_proj'", 'Pass the output of input_projection(x).')
        if state is None:
            state = x_proj.new_zeros(x_proj.shape[:-1] + (H, ))  # [*, H]
        check_gate_width(state, H, "'state'",
                         'Pass a state of shape [*, hidden_size], or None for zeros.')
        gh = self.hidden_map(state, *args, **kwargs)  # [*, 3H] or [*, 2H]
        n_hidden = 3 * H if self.reset_after else 2 * H
        check_gate_width(gh, n_hidden, 'hidden_map(state)',
                         f'With reset_after={self.reset_after}, build hidden_map to map '
                         f'hidden_size -> {n_hidden // H} * hidden_size.')
        if self.reset_after:  # one autograd function that saves 4H per row, not 7H
            return gru_gates(x_proj, gh, state)  # [*, H]
        # split/chunk rather than slicing: a slice's backward zero-fills the full gate width
        x_rz, x_n = x_proj.split([2 * H, H], dim=-1)  # [*, 2H], [*, H]
        r, z = torch.sigmoid(x_rz + gh).chunk(2, dim=-1)  # [*, H] each
        gc = self.candidate_map(r * state, *args, **kwargs)  # [*, H]
        check_gate_width(gc, H, 'candidate_map(r * state)',
                         'Build candidate_map to map hidden_size -> hidden_size.')
        n = torch.tanh(x_n + gc)  # [*, H]
        # lerp keeps n (kept by tanh anyway), state and z, not a new state - n
        return torch.lerp(n, state, z)  # = (1 - z) * n + z * h

    def forward(self, x: Tensor, state: Optional[Tensor] = None, *args, **kwargs) -> Tensor:
        r"""One time step: ``x [*, F]``, ``state [*, H]`` or :obj:`None` -> ``h' [*, H]``."""
        return self.step(self.input_projection(x, *args, **kwargs), state, *args, **kwargs)

    @classmethod
    def from_torch(cls, module: nn.Module, layer: int = 0, reverse: bool = False) -> 'GRUCell':
        r"""Builds a cell (:obj:`reset_after=True`) holding a copy of the weights of a
        :class:`torch.nn.GRUCell`, or of layer :obj:`layer` (direction :obj:`reverse`) of a
        :class:`torch.nn.GRU`."""
        if not isinstance(module, (nn.GRU, nn.GRUCell)):
            raise ValueError(f"GRUCell.from_torch expects a torch.nn.GRU or torch.nn.GRUCell, "
                             f"got {type(module).__name__}; use RNNCell.from_torch or "
                             f"LSTMCell.from_torch for those")
        return cell_from_torch(cls, module, layer, reverse)

    def __repr__(self) -> str:
        extra = '' if self.bias else ', bias=False'
        if not self.reset_after:
            extra += ', reset_after=False'
        if self.gate_bias != 0.0:
            extra += f', gate_bias={self.gate_bias}'
        return f'{self.__class__.__name__}({self.input_size}, {self.hidden_size}{extra})'
