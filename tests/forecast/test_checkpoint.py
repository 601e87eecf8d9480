import random

import numpy as np
import torch

from pyg_ext.forecast.checkpoint import (
    load_checkpoint,
    rng_state,
    save_checkpoint,
    seed_everything,
    set_rng_state,
)


def _draw():
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_rng_state_round_trip_through_a_checkpoint(tmp_path):
    seed_everything(3)
    first = _draw()
    seed_everything(3)
    assert _draw() == first
    save_checkpoint({'rng': rng_state(), 'x': torch.arange(3)}, tmp_path / 'sub' / 'c.pt')
    expected = _draw()
    _draw()
    state = load_checkpoint(tmp_path / 'sub' / 'c.pt')
    set_rng_state(state['rng'])
    assert _draw() == expected
    assert torch.equal(state['x'], torch.arange(3))
    assert not (tmp_path / 'sub' / 'c.pt.tmp').exists()  # written atomically


def test_missing_checkpoint_is_none(tmp_path):
    assert load_checkpoint(tmp_path / 'none.pt') is None
