r"""A recurrent encoder-decoder with scheduled sampling.

Dimensions: B - batch, T - time (input window), N - nodes (optional), F - features,
H - hidden size. ``*`` stands for the dimensions between time and features (``[N]`` or
nothing).
"""
import math
from typing import List, Optional, Tuple

import torch
from torch import Tensor, nn
from torch_geometric.nn.inits import reset

from pyg_ext.blocks.recurrent import Recurrent, _check_sequence
from pyg_ext.typing import RNNState


def inverse_sigmoid_schedule(step: float, k: float) -> float:
    r"""The inverse-sigmoid decay of the `"Scheduled Sampling for Sequence Prediction with
    Recurrent Neural Networks" <https://arxiv.org/abs/1506.03099>`_ paper (Bengio et al.,
    2015), the probability of feeding the true target at training step :math:`i`:

    .. math::
        \epsilon_i = \frac{k}{k + \exp(i / k)}

    Args:
        step (float): The training step :math:`i` (e.g. the number of batches seen).
        k (float): The decay constant :math:`k \geq 1`; larger is slower.
    """
    if k <= 0:
        raise ValueError(f'k={k} must be positive (DCRNN uses k=2000); larger k decays '
                         f'slower')
    ratio = step / k
    if ratio > 700.0:  # exp overflows; the probability is 0 to double precision
        return 0.0
    return k / (k + math.exp(ratio))


class Seq2Seq(nn.Module):
    r"""The recurrent encoder-decoder of the `"Sequence to Sequence Learning with Neural
    Networks" <https://arxiv.org/abs/1409.3215>`_ paper (Sutskever et al., 2014), decoded as
    in DCRNN (`Li et al., 2018 <https://arxiv.org/abs/1707.01926>`_) with the scheduled
    sampling of `Bengio et al. (2015) <https://arxiv.org/abs/1506.03099>`_.

    The encoder reads :math:`\mathbf{x}_{1..T}`; its final state starts the decoder, which is
    stepped :obj:`horizon` times from a zero "GO" input, each output going through
    :obj:`readout`:

    .. math::
        \mathbf{s}_0 &= \mathrm{encoder}(\mathbf{x}_{1..T}), \qquad \mathbf{u}_0 = \mathbf{0}

        (\mathbf{o}_t, \mathbf{s}_{t+1}) &= \mathrm{decoder.step}(\mathbf{u}_t, \mathbf{s}_t),
        \qquad \hat{\mathbf{y}}_t = \mathrm{readout}(\mathbf{o}_t)

        \mathbf{u}_{t+1} &= \begin{cases} \mathbf{y}_t & \text{with probability }
        \epsilon_i \text{ (training with targets)} \\ \hat{\mathbf{y}}_t &
        \text{otherwise} \end{cases}

    where :math:`\epsilon_i` is :func:`inverse_sigmoid_schedule` at :math:`i =`
    :obj:`batches_seen`, :math:`k =` :obj:`cl_decay_steps`, and the coin is flipped once per
    step for the whole batch (on the device, so no host sync). With
    :obj:`use_curriculum=False`, training with targets always feeds the true targets
    (:math:`\epsilon = 1`, plain teacher forcing); to train free-running, pass no targets.
    In evaluation mode the targets are never used.

    Extra ``*args, **kwargs`` of :meth:`forward` go to every gate map of the encoder and of
    the decoder (e.g. ``edge_index, edge_weight``).

    Args:
        encoder (Recurrent): The encoder stack.
        decoder (Recurrent): The decoder stack, with as many layers and the same hidden sizes
            as :obj:`encoder`; its first cell reads :math:`F_{out}` features.
        readout (torch.nn.Module): Map from the decoder's output :math:`H` to
            :math:`F_{out}`.
        horizon (int): Number of decoded steps.
        cl_decay_steps (float, optional): The constant :math:`k` of the schedule.
            (default: :obj:`2000`)
        use_curriculum (bool, optional): If set to :obj:`False`, training with targets is
            plain teacher forcing. (default: :obj:`True`)

    Shapes:
        - **input:** input :math:`(B, T, *, F_{in})`, targets :math:`(B, horizon, *,
          F_{out})` or :obj:`None`, batches_seen: :obj:`int` (needed in training with
          targets and :obj:`use_curriculum=True`)
        - **output:** prediction :math:`(B, horizon, *, F_{out})`, the decoder's final
          state (a list with one state per layer)
    """
    def __init__(self, encoder: Recurrent, decoder: Recurrent, readout: nn.Module,
                 horizon: int, cl_decay_steps: float = 2000, use_curriculum: bool = True):
        super().__init__()
        if horizon < 1:
            raise ValueError(f'horizon={horizon}; pass the number of steps to predict (>= 1)')
        if cl_decay_steps <= 0:
            raise ValueError(f'cl_decay_steps={cl_decay_steps} must be positive')
        enc_h = [getattr(c, 'hidden_size', None) for c in encoder.cells]
        dec_h = [getattr(c, 'hidden_size', None) for c in decoder.cells]
        if enc_h != dec_h:
            raise ValueError(f'the decoder starts from the encoder\'s final state, so their '
                             f'layers must match: encoder hidden sizes {enc_h}, decoder hidden '
                             f'sizes {dec_h}; build both stacks with the same layers')
        if getattr(decoder, 'reverse', False):
            raise ValueError('the decoder runs forwards in time; build it with reverse=False')
        self.encoder = encoder
        self.decoder = decoder
        self.readout = readout
        self.horizon = horizon
        self.cl_decay_steps = cl_decay_steps
        self.use_curriculum = use_curriculum
        self.out_channels = decoder.cells[0].input_size
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets the encoder, the decoder and the readout."""
        self.encoder.reset_parameters()
        self.decoder.reset_parameters()
        reset(self.readout)

    def teacher_forcing_probability(self, batches_seen: Optional[int]) -> float:
        r"""The probability :math:`\epsilon_i` of feeding the true target in training."""
        if not self.use_curriculum:
            return 1.0
        if batches_seen is None:
            raise ValueError('use_curriculum=True needs batches_seen (the number of training '
                             'batches seen so far) to set the teacher-forcing probability; '
                             'pass batches_seen=..., or build with use_curriculum=False for '
                             'plain teacher forcing')
        return inverse_sigmoid_schedule(batches_seen, self.cl_decay_steps)

    def forward(self, x: Tensor, *args, targets: Optional[Tensor] = None,
                batches_seen: Optional[int] = None, go: Optional[Tensor] = None,
                **kwargs) -> Tuple[Tensor, List[RNNState]]:
        r"""Encodes ``x [B, T, *, F_in]`` and decodes :obj:`horizon` steps; returns
        ``(prediction [B, horizon, *, F_out], decoder state)``. :obj:`go`
        ``[B, *, F_out]`` replaces the zero "GO" input of the first decoder step (e.g. the
        last observed values, :math:`\mathbf{u}_0 = \mathbf{y}_0`)."""
        _check_sequence(x)
        shape = x.shape[:1] + x.shape[2:-1] + (self.out_channels, )  # [B, *, F_out]
        if go is None:
            go = x.new_zeros(shape)
        elif go.shape != shape:
            raise ValueError(f"'go' has shape {list(go.shape)}; expected [B, *, F_out] = "
                             f"{list(shape)}")
        use_targets = self.training and targets is not None
        if use_targets:
            expected = (x.size(0), self.horizon) + tuple(go.shape[1:])
            if tuple(targets.shape) != expected:
                raise ValueError(f"'targets' has shape {list(targets.shape)}; expected "
                                 f"[B, horizon, *, F_out] = {list(expected)}")
            eps = self.teacher_forcing_probability(batches_seen)

        _, state = self.encoder(x, None, *args, **kwargs)
        inp, preds = go, []
        for t in range(self.horizon):
            out, state = self.decoder.step(inp, state, *args, **kwargs)  # [B, *, H]
            pred = self.readout(out)  # [B, *, F_out]
            if t == 0 and pred.shape != go.shape:
                raise ValueError(f'readout returns shape {list(pred.shape)}, but the decoder '
                                 f'reads {list(go.shape)} (its first cell has input_size='
                                 f'{self.out_channels}); make readout map to '
                                 f'{self.out_channels} features')
            preds.append(pred)
            inp = pred
            if use_targets and t + 1 < self.horizon:
                if eps >= 1.0:
                    inp = targets[:, t]  # [B, *, F_out]
                elif eps > 0.0:
                    # One coin per step for the whole batch, drawn on the device (no sync).
                    coin = torch.rand((), device=x.device) < eps
                    inp = torch.where(coin, targets[:, t], pred)  # [B, *, F_out]
        return torch.stack(preds, dim=1), state  # [B, horizon, *, F_out]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.encoder}, {self.decoder}, {self.readout}, '
                f'horizon={self.horizon})')
