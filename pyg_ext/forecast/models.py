r"""The models ``pyg-ext forecast --model NAME`` can train, by name.

Every trainable model takes ``x [B, T_in, N, F_in]``, ``edge_index [2, E]`` and
``edge_weight [E]`` and returns ``[B, horizon, N, F_out]``; its constructor accepts the
keywords ``in_channels, out_channels, hidden_channels, horizon, num_nodes``. A class
attribute ``supports_teacher_forcing`` says whether ``forward`` also takes ``targets=`` and
``batches_seen=`` (scheduled sampling, DCRNN).
"""
import ast
import inspect
import math
from typing import Any, Dict, Optional, Sequence, Type

from torch import nn

from pyg_ext.nn.models.a3tgcn import A3TGCN
from pyg_ext.nn.models.agcrn import AGCRN
from pyg_ext.nn.models.astgcn import ASTGCN
from pyg_ext.nn.models.dcrnn import DCRNN
from pyg_ext.nn.models.gconv_gru import GConvGRU
from pyg_ext.nn.models.gconv_lstm import GConvLSTM
from pyg_ext.nn.models.gman import GMAN
from pyg_ext.nn.models.graph_wave_net import GraphWaveNet
from pyg_ext.nn.models.gru_baseline import GRUBaseline
from pyg_ext.nn.models.historical_average import HistoricalAverage
from pyg_ext.nn.models.st_transformer import STTransformer
from pyg_ext.nn.models.stgcn import STGCN
from pyg_ext.nn.models.tgcn import TGCN

#: ``name -> model class``. :class:`HistoricalAverage` has no parameters: it is fitted on
#: the training split rather than trained.
MODELS: Dict[str, Type[nn.Module]] = {
    'a3tgcn': A3TGCN,
    'agcrn': AGCRN,
    'astgcn': ASTGCN,
    'dcrnn': DCRNN,
    'gconv_gru': GConvGRU,
    'gconv_lstm': GConvLSTM,
    'gman': GMAN,
    'graph_wave_net': GraphWaveNet,
    'gru_baseline': GRUBaseline,
    'historical_average': HistoricalAverage,
    'st_transformer': STTransformer,
    'stgcn': STGCN,
    'tgcn': TGCN,
}


#: The training loss each paper used where it is not the masked MAE: STGCN's L2 loss (Yu et
#: al., 2018, Eq. 11) and T-GCN's (Zhao et al., 2019; A3T-GCN trains with T-GCN's code).
PAPER_LOSSES: Dict[str, str] = {'stgcn': 'mse', 'tgcn': 'mse', 'a3tgcn': 'mse'}


def training_loss(name: str, loss: str = 'auto') -> str:
    r"""The loss ``pyg-ext forecast --loss`` trains model :obj:`name` with: :obj:`loss`
    itself, or for :obj:`'auto'` the paper's (:obj:`PAPER_LOSSES`, else :obj:`'mae'`).
    The command's default is :obj:`'mae'` for every model."""
    if loss != 'auto':
        return loss
    return PAPER_LOSSES.get(name.lower().replace('-', '_'), 'mae')


def model_class(name: str) -> Type[nn.Module]:
    r"""The class registered as :obj:`name` (``-`` and ``_`` are the same)."""
    key = name.lower().replace('-', '_')
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; use one of {sorted(MODELS)}")
    return MODELS[key]


def curriculum_decay_steps(total_batches: int, share: float = 0.4) -> float:
    r"""The constant :math:`k` of scheduled sampling's inverse-sigmoid decay
    :math:`\epsilon_i = k / (k + e^{i / k})` for which the probability of feeding the true
    target falls to :math:`1/2` after :obj:`share` of the run's :obj:`total_batches`
    (:math:`k \ln k = \text{share} \cdot \text{total}`). DCRNN's :math:`k = 2000` on
    METR-LA (about 375 batches of 64 per epoch, 100 epochs) is this rule with share 0.4;
    on a short run (Los-loop has 22 batches per epoch) :math:`k = 2000` would feed the true
    targets throughout training, and the decoder would never learn from its own forecasts."""
    target = max(share * total_batches, 1.0)
    lo, hi = 1.0, max(target, 3.0)
    for _ in range(60):  # k ln k is increasing for k >= 1
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mid * math.log(mid) < target else (lo, mid)
    return hi


#: The hidden size of models whose constructor has no default for ``hidden_channels``.
DEFAULT_HIDDEN = 64


#: The keywords :func:`build_model` sets itself; ``--model-args`` cannot override them.
SHARED_KEYWORDS = ('in_channels', 'out_channels', 'hidden_channels', 'horizon', 'num_nodes',
                   'input_steps', 'cl_decay_steps', 'target_channels')


def parse_model_args(items: Sequence[str]) -> Dict[str, Any]:
    r"""``['K=3', 'graph_residual=True', 'normalization=rw']`` as a dict; values are Python
    literals (numbers, booleans, None, tuples...), anything else a string."""
    out: Dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition('=')
        if not sep or not key.strip().isidentifier():
            raise ValueError(f"--model-args takes KEY=VALUE pairs (e.g. K=3); got {item!r}")
        try:
            out[key.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key.strip()] = value
    return out


def build_model(name: str, in_channels: int, out_channels: int,
                hidden_channels: Optional[int], horizon: int, num_nodes: int, input_steps: int,
                total_batches: Optional[int] = None,
                cl_decay_steps: Optional[float] = None,
                model_args: Optional[Dict[str, Any]] = None,
                target_channels: Optional[Sequence[int]] = None) -> nn.Module:
    r"""Build the trainable model :obj:`name` with the shared keywords; with
    ``hidden_channels=None`` the model's own default (e.g. 32 for GraphWaveNet, as in its
    paper), or :obj:`DEFAULT_HIDDEN` when it has none. A constructor that also names
    ``input_steps`` (models whose readout depends on :math:`T_{in}`) gets it; one
    that names ``cl_decay_steps`` (scheduled sampling, DCRNN) gets :obj:`cl_decay_steps`, or
    :func:`curriculum_decay_steps` of :obj:`total_batches` (the batches the run will train
    on), or keeps its own default when neither is given; one that names
    ``target_channels`` (DCRNN) gets :obj:`target_channels`, the input channels of the
    forecast features, when given. :obj:`model_args` are further
    keyword arguments of the constructor (``--model-args``, e.g. ``K=3`` or STGCN's
    ``graph_residual=True``)."""
    cls = model_class(name)
    if cls is HistoricalAverage:
        raise ValueError("historical_average is fitted, not trained; it is evaluated beside "
                         "every model (or alone with --model historical_average)")
    params = inspect.signature(cls).parameters
    model_args = dict(model_args or {})
    for key in model_args:
        if key in SHARED_KEYWORDS or key not in params:
            own = sorted(k for k in params if k not in SHARED_KEYWORDS)
            raise ValueError(f"--model-args: {cls.__name__} ({name}) takes no argument {key!r}"
                             f"{' here' if key in SHARED_KEYWORDS else ''}; its own "
                             f"arguments: {', '.join(own) or 'none'}")
    if hidden_channels is None:
        default = params['hidden_channels'].default
        hidden_channels = DEFAULT_HIDDEN if default is inspect.Parameter.empty else default
    kwargs = dict(in_channels=in_channels, out_channels=out_channels,
                  hidden_channels=hidden_channels, horizon=horizon, num_nodes=num_nodes)
    if 'input_steps' in params:
        kwargs['input_steps'] = input_steps
    if 'cl_decay_steps' in params:
        if cl_decay_steps is None and total_batches is not None:
            cl_decay_steps = curriculum_decay_steps(total_batches)
        if cl_decay_steps is not None:
            kwargs['cl_decay_steps'] = cl_decay_steps
    if 'target_channels' in params and target_channels is not None:
        kwargs['target_channels'] = list(target_channels)
    return cls(**kwargs, **model_args)
