import io
import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch

# One intra-op thread: the suite's tensors are tiny, and a second thread only adds
# scheduling overhead (badly so on a loaded 2-core machine).
torch.set_num_threads(1)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / 'shared' / 'data'


@pytest.fixture(autouse=True)
def _fixed_seed():
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield


@pytest.fixture
def shared_data() -> Path:
    """The project's real datasets (``../shared/data``); skips where absent."""
    root = Path(os.environ.get('PYG_EXT_SHARED_DATA', SHARED_DATA))
    if not root.is_dir():
        pytest.skip(f'shared data not found at {root} (set PYG_EXT_SHARED_DATA)')
    return root


@pytest.fixture
def directed_graph():
    """A small asymmetric, weighted, directed graph: (edge_index [2, E], edge_weight [E], N)."""
    edge_index = torch.tensor([
        [0, 0, 1, 2, 2, 3, 4, 5, 5, 6],
        [1, 2, 2, 0, 3, 4, 5, 3, 6, 0],
    ])
    edge_weight = torch.tensor([0.5, 2.0, 1.0, 0.3, 1.5, 0.7, 1.2, 0.4, 2.5, 0.9])
    return edge_index, edge_weight, 7


@pytest.fixture
def sequence():
    """A batch of sequences ``[B=3, T=11, F=5]``."""
    return torch.randn(3, 11, 5)


@pytest.fixture
def spatiotemporal():
    """A spatio-temporal batch ``[B=2, T=6, N=7, F=3]``."""
    return torch.randn(2, 6, 7, 3)


def _saved_bytes(fn, exclude=()):
    """Bytes of the unique storages that autograd saves while running fn(), and its output;
    storages of the tensors in ``exclude`` (e.g. parameters) are not counted."""
    skip = {t.untyped_storage().data_ptr() for t in exclude}
    storages = {}

    def pack(t):
        s = t.untyped_storage()
        if s.data_ptr() not in skip:
            storages[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return sum(storages.values()), out


@pytest.fixture
def saved_bytes():
    """``saved_bytes(fn, exclude=()) -> (bytes, out)``: what autograd keeps for backward."""
    return _saved_bytes


def _reloaded(obj, weights_only: bool = False):
    """``obj`` after a ``torch.save``/``torch.load`` round trip through memory (a module, a
    state dict, or any picklable object); ``weights_only=True`` loads with torch's safe
    loader, as a state dict must."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=weights_only)


@pytest.fixture
def reloaded():
    """``reloaded(obj, weights_only=False)``: ``obj`` saved with ``torch.save`` and loaded
    back."""
    return _reloaded


def _graph_breaks(fn, *args, **kwargs):
    """The number of graph breaks ``torch.compile`` meets in ``fn(*args, **kwargs)``, with
    their reasons for the assertion message."""
    torch._dynamo.reset()
    explanation = torch._dynamo.explain(fn)(*args, **kwargs)
    reasons = [f'{r.reason} at {r.user_stack[-1:] if r.user_stack else "?"}'
               for r in explanation.break_reasons]
    return explanation.graph_break_count, reasons


@pytest.fixture
def graph_breaks():
    """``graph_breaks(fn, *args) -> (count, reasons)``: ``assert graph_breaks(...)[0] == 0``
    or, with the reasons shown on failure, ``count, why = graph_breaks(...); assert count ==
    0, why``."""
    return _graph_breaks
