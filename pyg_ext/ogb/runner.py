r"""The loop shared by the OGB scripts: runs x epochs, a progress bar, a checkpoint per run
that an interrupted benchmark resumes from, and a results JSON with every run's scores.

A task is any object with three methods:

* ``reset(run) -> dict``: rebuild/reset the model and optimizer for ``run`` and return the
  objects to checkpoint, by name (anything with ``state_dict``/``load_state_dict``);
* ``train_epoch(epoch) -> float``: one epoch of training, returning the mean loss;
* ``evaluate() -> dict``: ``{'valid': float, 'test': float}`` (optionally ``'train'``).
"""
import json
import os
import os.path as osp
import random
from typing import Any, Callable, Dict

import numpy as np
import torch
from torch_geometric import seed_everything
from tqdm import tqdm

from pyg_ext.ogb.curves_plot import plot_results
from pyg_ext.ogb.logger import Logger
from pyg_ext.ogb.options import config_of


def _rng_state() -> Dict[str, Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {'torch': torch.get_rng_state(), 'python': random.getstate(),
             'numpy': (name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached)}
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: Dict[str, Any]) -> None:
    torch.set_rng_state(state['torch'])
    random.setstate(state['python'])
    name, keys, pos, has_gauss, cached = state['numpy']
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def _atomic_write(path: str, write: Callable[[str], None]) -> None:
    tmp = f'{path}.tmp'
    write(tmp)
    os.replace(tmp, path)


class Runner:
    r"""Trains a task for ``runs`` x ``epochs``, seeding run ``r`` with ``seed + r``,
    evaluating every ``eval_steps`` epochs (and after the last), checkpointing every epoch,
    and writing ``results.json`` and ``curves.png``
    (:func:`~pyg_ext.ogb.curves_plot.plot_results`) after each run. Started again on the
    same ``out_dir`` with the same ``config`` it skips finished runs and resumes the
    unfinished one from its last epoch, RNG states included, so the result equals that of an
    uninterrupted run.

    Args:
        out_dir (str): where ``results.json`` and ``checkpoints/run{r}.pt`` go.
        config (dict): the settings that define the benchmark (dataset, model,
            hyperparameters); resuming with different ones is refused.
        logger (Logger): records the curves and selects the best validation epoch.
        runs (int): number of runs. (default: ``10``)
        epochs (int): epochs per run. (default: ``100``)
        seed (int): run ``r`` is seeded with ``seed + r``. (default: ``0``)
        eval_steps (int): evaluate every that many epochs. (default: ``1``)
        progress (bool): show a tqdm progress bar. (default: :obj:`True`)
        plots (bool): draw ``curves.png`` beside ``results.json``. (default: :obj:`True`)
        resume (bool): resume from ``out_dir``; :obj:`False` starts afresh.
            (default: :obj:`True`)
        is_main (bool): whether this process writes files and prints (rank 0 under
            ``torchrun``). (default: :obj:`True`)
    """
    def __init__(self, out_dir: str, config: Dict[str, Any], logger: Logger, runs: int = 10,
                 epochs: int = 100, seed: int = 0, eval_steps: int = 1, progress: bool = True,
                 resume: bool = True, is_main: bool = True, plots: bool = True):
        if runs < 1 or epochs < 1 or eval_steps < 1:
            raise ValueError(f'runs, epochs and eval_steps must be >= 1; got runs={runs}, '
                             f'epochs={epochs}, eval_steps={eval_steps}')
        self.out_dir, self.config, self.logger = out_dir, dict(config), logger
        self.runs, self.epochs, self.seed, self.eval_steps = runs, epochs, seed, eval_steps
        self.progress, self.resume, self.is_main = progress, resume, is_main
        self.plots = plots
        self.results_path = osp.join(out_dir, 'results.json')
        self.curves_path = osp.join(out_dir, 'curves.png')
        self.checkpoint_dir = osp.join(out_dir, 'checkpoints')
        if is_main:
            os.makedirs(self.checkpoint_dir, exist_ok=True)
        if resume and osp.exists(self.results_path):
            self._load_results()

    @classmethod
    def from_args(cls, args: Any, logger: Logger, is_main: bool = True) -> 'Runner':
        r"""The runner of a script's parsed options (:mod:`pyg_ext.ogb.options`)."""
        return cls(args.out, config_of(args), logger, runs=args.runs, epochs=args.epochs,
                   seed=args.seed, eval_steps=args.eval_steps, progress=args.progress,
                   resume=args.resume, is_main=is_main, plots=args.plots)

    def checkpoint_path(self, run: int) -> str:
        return osp.join(self.checkpoint_dir, f'run{run:02d}.pt')

    def _load_results(self) -> None:
        with open(self.results_path) as f:
            saved = json.load(f)
        if saved['config'] != json.loads(json.dumps(self.config)):
            diff = sorted(k for k in set(saved['config']) | set(self.config)
                          if saved['config'].get(k) != self.config.get(k))
            raise ValueError(f"'{self.out_dir}' holds results of different settings "
                             f"(they differ in {diff}); pass another --out folder, or "
                             f"--no-resume to overwrite them")
        self.logger.load_state_dict(saved['logger'])

    def results(self) -> Dict[str, Any]:
        runs = [{'run': run, 'seed': self.seed + run, **self.logger.best(run)}
                for run in sorted(self.logger.finished)]
        return {'config': self.config, 'summary': self.logger.summary(), 'runs': runs,
                'logger': self.logger.state_dict()}

    def _save_results(self) -> None:
        results = self.results()

        def write(path: str) -> None:
            with open(path, 'w') as f:
                json.dump(results, f, indent=1)
        _atomic_write(self.results_path, write)
        self._draw_curves(results)

    def _draw_curves(self, results: Dict[str, Any]) -> None:
        if self.plots and self.logger.curves:
            _atomic_write(self.curves_path, lambda path: plot_results(results, path))

    def _save_checkpoint(self, run: int, epoch: int, objects: Dict[str, Any]) -> None:
        state = {'run': run, 'epoch': epoch, 'rng': _rng_state(),
                 'curve': self.logger.curves.get(run, []),
                 'objects': {name: obj.state_dict() for name, obj in objects.items()}}
        _atomic_write(self.checkpoint_path(run), lambda path: torch.save(state, path))

    def _restore(self, run: int, objects: Dict[str, Any]) -> int:
        path = self.checkpoint_path(run)
        if not (self.resume and osp.exists(path)):
            return 0
        state = torch.load(path, map_location='cpu', weights_only=True)
        for name, obj in objects.items():
            obj.load_state_dict(state['objects'][name])
        _set_rng_state(state['rng'])
        self.logger.curves[run] = [dict(row) for row in state['curve']]
        return state['epoch']

    def fit(self, task: Any) -> Dict[str, Any]:
        r"""Run every unfinished run of ``task``; returns :meth:`results`."""
        trained = False
        for run in range(self.runs):
            if run in self.logger.finished:
                continue
            trained = True
            seed_everything(self.seed + run)
            self.logger.curves.pop(run, None)
            objects = task.reset(run)
            start = self._restore(run, objects)
            bar = tqdm(range(start + 1, self.epochs + 1), desc=f'run {run:02d}',
                       initial=start, total=self.epochs, dynamic_ncols=True,
                       disable=not (self.progress and self.is_main))
            for epoch in bar:
                loss = task.train_epoch(epoch)
                if epoch % self.eval_steps == 0 or epoch == self.epochs:
                    scores = task.evaluate()
                    self.logger.add_result(run, epoch, loss=loss, **scores)
                    bar.set_postfix(loss=f'{loss:.4f}', valid=f"{scores['valid']:.4f}",
                                    test=f"{scores['test']:.4f}")
                if self.is_main:
                    self._save_checkpoint(run, epoch, objects)
            bar.close()
            self.logger.finish_run(run)
            if self.is_main:
                self._save_results()
                tqdm.write(self.logger.format(run))
        results = self.results()
        if self.is_main:
            if not trained:  # every run had finished before: draw what a past call wrote
                self._draw_curves(results)
            tqdm.write(self.logger.format())
        return results
