r"""Training a spatio-temporal forecaster: masked MAE or MSE, Adam, clipping, early stopping,
resume.

Dimensions: B - batch, W - windows, T_in - input steps, T_out - horizon, N - nodes,
F_in / F_out - input / target features, E - edges.
"""
import copy
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence, Union

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data.distributed import DistributedSampler
from tqdm.auto import tqdm

from pyg_ext import distributed
from pyg_ext.data.window_dataset import WindowDataset
from pyg_ext.forecast.checkpoint import (
    load_checkpoint,
    rng_state,
    save_checkpoint,
    seed_everything,
    set_rng_state,
)
from pyg_ext.forecast.evaluation import (
    DEFAULT_MSE_WEIGHT,
    LOSSES,
    evaluate_windows,
    masked_mae_mse_loss,
)
from pyg_ext.forecast.horizon_metrics import HorizonMetrics
from pyg_ext.typing import OptTensor


class Trainer:
    r"""Trains :obj:`model` to forecast the windows of :obj:`train`, selecting the epoch with
    the best validation MAE, as DCRNN (Li et al., ICLR 2018) does.

    **Loss.** The masked MAE (or, with ``loss='mse'``, the masked mean squared error, or with
    ``loss='mae+mse'`` the MAE plus :obj:`mse_weight` times the squared error) on
    the *original* scale: the model reads scaled inputs and outputs scaled values, which go
    through ``scaler.inverse_transform`` before the loss, so the loss, the validation MAE and
    the learning curves are in the data's units (e.g. mph) and missing targets (``mask =
    False``) never count. For a per-feature standardisation the MAE is the scaled-unit MAE
    times :math:`\sigma`. The epoch is selected by validation MAE whatever the loss. Models with
    ``supports_teacher_forcing`` also get the scaled targets and the number of batches seen
    (scheduled sampling).

    **Optimisation.** Adam, its learning rate multiplied by :obj:`lr_decay` after each epoch
    in :obj:`lr_milestones` (DCRNN: 0.1 at epochs 20, 30, 40 and 50; none by default);
    gradients clipped to norm :obj:`max_grad_norm`; windows shuffled
    each epoch by a :class:`~torch.utils.data.distributed.DistributedSampler` seeded with
    ``seed + epoch``, so the order does not depend on how the run was interrupted.
    Training stops after :obj:`epochs` epochs, or once the validation MAE has not improved
    for :obj:`patience` epochs; the best epoch's weights are then loaded.

    **Checkpoints.** After every epoch the checkpoint (:meth:`state_dict`) is written
    atomically to :obj:`checkpoint`; :meth:`fit` with ``resume=True`` continues from it, with
    the model, the optimizer, the learning-rate schedule, the early-stopping state, the
    history and every RNG restored,
    so a resumed run ends exactly where an uninterrupted one would. A fresh run seeds every
    generator with :obj:`seed` and calls ``model.reset_parameters()``.

    **Distributed.** Under ``torchrun`` the model is wrapped in
    :class:`~torch.nn.parallel.DistributedDataParallel`; each process trains on its share of
    every epoch's windows (:obj:`batch_size` per process) and the validation sums are
    all-reduced. Only process 0 logs and writes checkpoints.

    Args:
        model (torch.nn.Module): The forecaster.
        train (WindowDataset): Training windows (scaled inputs, original-scale targets).
        val (WindowDataset): Validation windows.
        edge_index (torch.Tensor): The graph :math:`(2, E)`.
        edge_weight (torch.Tensor, optional): Edge weights :math:`(E)`.
        scaler (torch.nn.Module): The targets' scaler (``transform`` / ``inverse_transform``).
        epochs (int, optional): Maximum number of epochs. (default: :obj:`100`)
        batch_size (int, optional): Windows per batch and process. (default: :obj:`64`)
        lr (float, optional): Adam's learning rate. (default: :obj:`0.01`)
        lr_milestones (sequence of int, optional): Epochs after which the learning rate is
            multiplied by :obj:`lr_decay`. (default: :obj:`()`, a constant rate)
        lr_decay (float, optional): The factor applied at each milestone.
            (default: :obj:`0.1`)
        loss (str, optional): :obj:`'mae'`, :obj:`'mse'` or :obj:`'mae+mse'` (masked,
            original scale). (default: :obj:`'mae'`)
        mse_weight (float, optional): The weight :math:`w` of the squared error in
            :obj:`'mae+mse'` (see :func:`masked_mae_mse_loss`). (default: :obj:`0.05`)
        weight_decay (float, optional): Adam's weight decay. (default: :obj:`0.`)
        max_grad_norm (float, optional): Gradient clipping norm; :obj:`None` to disable.
            (default: :obj:`5.0`)
        patience (int, optional): Epochs without validation improvement before stopping.
            (default: :obj:`10`)
        seed (int, optional): Seed of a fresh run. (default: :obj:`0`)
        checkpoint (str or Path, optional): Checkpoint file. (default: :obj:`None`, none)
        config (dict, optional): What defines the run; a checkpoint written with another
            config is refused on resume. (default: :obj:`None`)
        name (str, optional): Name in logs and progress bars. (default: :obj:`'model'`)
        progress (bool, optional): Show tqdm progress bars. (default: :obj:`True`)
        log (callable, optional): Receives one line per epoch (process 0 only).
            (default: :func:`tqdm.write`)
    """

    def __init__(self, model: nn.Module, train: WindowDataset, val: WindowDataset,
                 edge_index: Tensor, edge_weight: OptTensor, scaler: nn.Module, *,
                 epochs: int = 100, batch_size: int = 64, lr: float = 0.01,
                 lr_milestones: Sequence[int] = (), lr_decay: float = 0.1,
                 loss: str = 'mae', mse_weight: float = DEFAULT_MSE_WEIGHT,
                 weight_decay: float = 0.0,
                 max_grad_norm: Optional[float] = 5.0,
                 patience: int = 10, seed: int = 0,
                 checkpoint: Optional[Union[str, Path]] = None,
                 config: Optional[Dict[str, Any]] = None, name: str = 'model',
                 progress: bool = True, log: Callable[[str], None] = tqdm.write):
        if epochs < 0 or batch_size < 1 or patience < 1:
            raise ValueError(f'need epochs >= 0, batch_size >= 1 and patience >= 1; got '
                             f'{epochs}, {batch_size} and {patience}')
        milestones = list(lr_milestones)
        if any(m < 1 for m in milestones) or any(
                b <= a for a, b in zip(milestones, milestones[1:])):
            raise ValueError(f'lr_milestones (--lr-milestones) must be increasing epochs >= 1; got '
                             f'{list(lr_milestones)}')
        if not 0.0 < lr_decay <= 1.0:
            raise ValueError(f'lr_decay (--lr-decay) must lie in (0, 1]; got {lr_decay}')
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; use one of {sorted(LOSSES)}")
        if not mse_weight >= 0.0:
            raise ValueError(f'mse_weight (--mse-weight) must be >= 0; got {mse_weight}')
        self.loss_name, self.loss_fn = loss, LOSSES[loss]
        if loss == 'mae+mse':
            self.loss_fn = partial(masked_mae_mse_loss, mse_weight=mse_weight)
        self.device = train.y.device
        self.module = model.to(self.device)
        self.train, self.val = train, val
        self.edge_index = edge_index.to(self.device)
        self.edge_weight = None if edge_weight is None else edge_weight.to(self.device)
        self.scaler = scaler
        self.epochs, self.batch_size, self.patience = epochs, batch_size, patience
        self.max_grad_norm, self.seed = max_grad_norm, seed
        self.checkpoint = None if checkpoint is None else Path(checkpoint)
        self.config = dict(config or {})
        self.name, self.progress, self.log = name, progress, log
        self.rank, self.world_size = distributed.rank_and_world_size()
        self.teacher_forcing = bool(getattr(model, 'supports_teacher_forcing', False))
        self.optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(
            self.optimizer, milestones, gamma=lr_decay)
        self.sampler = DistributedSampler(train, num_replicas=self.world_size, rank=self.rank,
                                          shuffle=True, seed=seed)
        self._fresh_state()
        self.net = self.module
        if self.world_size > 1:
            self.net = DistributedDataParallel(
                self.module, device_ids=[self.device.index] if self.device.type == 'cuda'
                else None, find_unused_parameters=self._has_unused_parameters())

    def _fresh_state(self):
        self.epoch, self.batches_seen, self.bad_epochs = 0, 0, 0
        self.best_val, self.best_epoch, self.best_state = float('inf'), 0, None
        self.stopped_early = False
        self.history: Dict[str, list] = {'train_loss': [], 'val_mae': [], 'lr': [],
                                         'seconds': []}

    def _forward(self, net: nn.Module, x: Tensor, y: Optional[Tensor] = None,
                 mask: Optional[Tensor] = None) -> Tensor:
        kwargs = {}
        if self.teacher_forcing and y is not None:
            kwargs = dict(targets=self.scaler.transform(y, mask), batches_seen=self.batches_seen)
        out = net(x, self.edge_index, self.edge_weight, **kwargs)  # [B, T_out, N, F_out]
        return self.scaler.inverse_transform(out)

    def _has_unused_parameters(self) -> bool:
        r"""Whether one training step leaves a parameter without gradient (DDP must know)."""
        with torch.random.fork_rng(devices=[self.device] if self.device.type == 'cuda'
                                   else []):
            self.module.train()
            x, y, mask = self.train.get_batch(torch.arange(min(2, len(self.train))))
            self.loss_fn(self._forward(self.module, x, y, mask), y, mask).backward()
        unused = any(p.grad is None for p in self.module.parameters() if p.requires_grad)
        self.module.zero_grad(set_to_none=True)
        return unused

    def predict(self, windows: Tensor, x: Tensor) -> Tensor:
        r"""Original-scale forecasts ``[B, T_out, N, F_out]`` from the scaled inputs ``x``
        ``[B, T_in, N, F_in]`` (``windows`` is unused: the signature of :obj:`Predict`)."""
        self.module.eval()
        with torch.no_grad():
            return self._forward(self.module, x)

    def evaluate(self, dataset: WindowDataset) -> HorizonMetrics:
        r"""The model's :class:`HorizonMetrics` on every window of :obj:`dataset`."""
        return evaluate_windows(self.predict, dataset, self.batch_size)

    def train_epoch(self) -> float:
        r"""One pass over the training windows; returns the epoch's mean training loss."""
        self.sampler.set_epoch(self.epoch)
        batches = torch.tensor(list(iter(self.sampler)), dtype=torch.long).split(self.batch_size)
        self.net.train()
        total = torch.zeros(2, dtype=torch.float64, device=self.device)  # [sum, count]
        bar = tqdm(batches, desc=f'{self.name} {self.epoch + 1}/{self.epochs}', unit='batch',
                   leave=False, disable=not (self.progress and self.rank == 0))
        for i, windows in enumerate(bar):
            x, y, mask = self.train.get_batch(windows)
            loss = self.loss_fn(self._forward(self.net, x, y, mask), y, mask)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.max_grad_norm is not None:
                nn.utils.clip_grad_norm_(self.module.parameters(), self.max_grad_norm)
            self.optimizer.step()
            self.batches_seen += 1
            count = (mask & torch.isfinite(y)).sum()
            total += torch.stack([loss.detach() * count, count]).to(total.dtype)
            if i % 25 == 24:  # an occasional host sync for the bar only
                mean = float(total[0] / total[1].clamp(min=1))
                bar.set_postfix({self.loss_name: f'{mean:.4f}'})
        distributed.all_reduce_sum_(total)
        return float(total[0] / total[1].clamp(min=1))

    def state_dict(self) -> Dict[str, Any]:
        r"""The checkpoint: ``config``, ``epoch`` (epochs done), ``model``, ``optimizer``,
        ``scheduler`` (the learning-rate schedule),
        ``best_state`` (weights of the best epoch), ``best_val``, ``best_epoch``,
        ``bad_epochs``, ``stopped_early``, ``batches_seen``, ``history`` (``train_loss``,
        ``val_mae``, ``lr`` (the learning rate it trained with), ``seconds`` per epoch) and
        ``rng`` (every generator's state)."""
        return {'config': self.config, 'epoch': self.epoch, 'model': self.module.state_dict(),
                'optimizer': self.optimizer.state_dict(),
                'scheduler': self.scheduler.state_dict(), 'best_state': self.best_state,
                'best_val': self.best_val, 'best_epoch': self.best_epoch,
                'bad_epochs': self.bad_epochs, 'stopped_early': self.stopped_early,
                'batches_seen': self.batches_seen, 'history': self.history,
                'rng': rng_state()}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        if state.get('config') != self.config:
            raise ValueError(
                f"the checkpoint '{self.checkpoint}' was written by another run "
                f"({state.get('config')}, not {self.config}); pass --no-resume to start "
                f"afresh there, or choose another --out")
        self.module.load_state_dict(state['model'])
        self.optimizer.load_state_dict(state['optimizer'])
        self.scheduler.load_state_dict(state['scheduler'])
        for key in ('epoch', 'best_state', 'best_val', 'best_epoch', 'bad_epochs',
                    'stopped_early', 'batches_seen', 'history'):
            setattr(self, key, state[key])
        set_rng_state(state['rng'])

    def fit(self, resume: bool = True) -> Dict[str, Any]:
        r"""Train (or resume) until :obj:`epochs` or early stopping, then load the best
        weights. Returns ``epochs_run``, ``best_epoch``, ``best_val_mae``, ``stopped_early``,
        ``resumed_from`` (epochs found in the checkpoint) and ``history``."""
        state = load_checkpoint(self.checkpoint, self.device) if (
            resume and self.checkpoint is not None) else None
        if state is not None:
            self.load_state_dict(state)
            if self.rank == 0:
                self.log(f"{self.name}: resumed from '{self.checkpoint}' after {self.epoch} "
                         f"epoch(s)")
        else:
            self._fresh_state()
            seed_everything(self.seed)
            self.module.reset_parameters()
        resumed_from = self.epoch
        while self.epoch < self.epochs and not self.stopped_early:
            start = time.perf_counter()
            lr = self.optimizer.param_groups[0]['lr']
            train_loss = self.train_epoch()
            self.scheduler.step()
            val_mae = float(self.evaluate(self.val).compute()['overall']['mae'])
            self.epoch += 1
            improved = val_mae < self.best_val
            if improved:
                self.best_val, self.best_epoch, self.bad_epochs = val_mae, self.epoch, 0
                self.best_state = copy.deepcopy(self.module.state_dict())
            else:
                self.bad_epochs += 1
                self.stopped_early = self.bad_epochs >= self.patience
            for key, value in (('train_loss', train_loss), ('val_mae', val_mae), ('lr', lr),
                               ('seconds', time.perf_counter() - start)):
                self.history[key].append(value)
            if self.rank == 0:
                if self.checkpoint is not None:
                    save_checkpoint(self.state_dict(), self.checkpoint)
                self.log(f'{self.name} epoch {self.epoch:3d}/{self.epochs}  train '
                         f'{self.loss_name.upper()} '
                         f'{train_loss:.4f}  val MAE {val_mae:.4f}'
                         f"{'  *' if improved else ''}  ({self.history['seconds'][-1]:.1f} s)")
            distributed.barrier()
        if self.stopped_early and self.rank == 0:
            self.log(f'{self.name}: early stop after {self.epoch} epochs (no validation '
                     f'improvement in {self.patience}); best epoch {self.best_epoch}')
        if self.best_state is not None:
            self.module.load_state_dict(self.best_state)
        return {'epochs_run': self.epoch, 'best_epoch': self.best_epoch,
                'best_val_mae': self.best_val, 'stopped_early': self.stopped_early,
                'resumed_from': resumed_from, 'history': self.history}

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.name}, epochs={self.epochs}, '
                f'batch_size={self.batch_size}, patience={self.patience})')
