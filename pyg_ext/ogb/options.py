r"""Command-line options shared by the OGB scripts and ``pyg-ext ogb``.

Hyperparameters left unset take the official example's value for the dataset (each task
module's ``DEFAULTS``), so a plain ``pyg-ext ogb ogbl-ddi --model gcn`` reproduces the
leaderboard protocol, and any option overrides it.
"""
import argparse
import os.path as osp
from typing import Any, Dict

import torch

from pyg_ext.malloc import SYSTEM_MALLOC_HELP

#: Options that do not change the results, left out of a run's config (and so of the check
#: that a resumed benchmark has the same settings).
RUNTIME_OPTIONS = ('root', 'meta_dict', 'runs', 'device', 'out', 'resume', 'progress',
                   'plots', 'num_workers', 'threads', 'system_malloc', 'command')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('dataset', help="OGB name, e.g. ogbg-molhiv, ogbn-arxiv, ogbl-ddi")
    parser.add_argument('--model', default=None,
                        help='a name from the task\'s registry (see pyg_ext/ogb/registry.py)')
    parser.add_argument('--root', default='data',
                        help='folder holding the datasets (ogbg_molhiv/, ...) (default: data)')
    parser.add_argument('--meta-dict', default=None,
                        help='meta_dict.pt written by ogb.io.DatasetSaver for a custom dataset')
    parser.add_argument('--runs', type=int, default=None, help='runs (seeds seed..seed+runs-1)')
    parser.add_argument('--epochs', type=int, default=None)
    parser.add_argument('--eval-steps', type=int, default=None, help='evaluate every N epochs')
    parser.add_argument('--num-layers', type=int, default=None)
    parser.add_argument('--hidden', type=int, default=None, help='hidden / embedding size')
    parser.add_argument('--dropout', type=float, default=None)
    parser.add_argument('--lr', type=float, default=None)
    parser.add_argument('--batch-size', type=int, default=None)
    parser.add_argument('--num-neighbors', type=int, nargs='+', default=None,
                        help='neighbours sampled per layer (node tasks with mini-batches)')
    parser.add_argument('--eval-train', action='store_true',
                        help='also score the training set at each evaluation (slower)')
    parser.add_argument('--device', default=None, help='cpu, cuda, cuda:1 (default: cuda if '
                        'available, else cpu)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default=None,
                        help='results and checkpoints folder (default: runs/ogb/DATASET/MODEL)')
    parser.add_argument('--no-resume', dest='resume', action='store_false',
                        help='start afresh instead of resuming from --out')
    parser.add_argument('--no-progress', dest='progress', action='store_false',
                        help='no progress bar')
    parser.add_argument('--no-plots', dest='plots', action='store_false',
                        help='do not draw curves.png (learning curves) beside results.json')
    parser.add_argument('--num-workers', type=int, default=0, help='data loader workers')
    parser.add_argument('--threads', type=int, default=None, help='torch.set_num_threads')
    parser.add_argument('--system-malloc', action='store_true', help=SYSTEM_MALLOC_HELP)


def resolve(args: argparse.Namespace, defaults: Dict[str, Any]) -> argparse.Namespace:
    r"""Fill every option left unset with ``defaults`` (the official values)."""
    for key, value in defaults.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    if args.device is None:
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if args.out is None:
        args.out = osp.join('runs', 'ogb', args.dataset, args.model)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    return args


def config_of(args: argparse.Namespace) -> Dict[str, Any]:
    r"""The settings that define a benchmark's results (everything but runtime options)."""
    return {key: value for key, value in sorted(vars(args).items())
            if key not in RUNTIME_OPTIONS and not callable(value)}


def load_meta_dict(path: Any) -> Any:
    r"""Read a ``meta_dict.pt`` (a dict of strings and numbers: safe with weights_only)."""
    if path is None or isinstance(path, dict):
        return path
    return torch.load(path, weights_only=True)
