r"""Checkpoints that an interrupted run resumes from: atomic writes and the RNG states.

A checkpoint is a ``dict`` saved with :func:`torch.save`; see
:meth:`~pyg_ext.forecast.trainer.Trainer.state_dict` for the keys the trainer writes.
"""
import os
import random
from pathlib import Path
from typing import Any, Dict, Optional, Union

import numpy as np
import torch

PathLike = Union[str, Path]


def seed_everything(seed: int) -> None:
    r"""Seed Python's, NumPy's and torch's generators (every CUDA device included)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> Dict[str, Any]:
    r"""The state of every generator a training run draws from (Python, NumPy, torch CPU and
    every CUDA device), to store in a checkpoint."""
    state = {'python': random.getstate(), 'numpy': np.random.get_state(),
             'torch': torch.get_rng_state()}
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    r"""Restore the generators saved by :func:`rng_state`."""
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'].cpu())
    if 'cuda' in state and torch.cuda.is_available():
        cuda = state['cuda'][:torch.cuda.device_count()]
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda])


def save_checkpoint(state: Dict[str, Any], path: PathLike) -> None:
    r"""Write ``state`` to ``path`` atomically: to a temporary file first, then renamed, so an
    interruption never leaves a truncated checkpoint behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + '.tmp')
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: PathLike, map_location: Any = 'cpu') -> Optional[Dict[str, Any]]:
    r"""The checkpoint at ``path``, or :obj:`None` if there is none. It holds NumPy's RNG state
    and plain Python objects, so it is read with ``weights_only=False``: load only
    checkpoints you wrote yourself."""
    path = Path(path)
    if not path.is_file():
        return None
    return torch.load(path, map_location=map_location, weights_only=False)
