import pickle

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from pyg_ext.ogb.datasets import load_dataset, load_split
from pyg_ext.ogb.safe_load import ogb_safe_globals, ogb_safe_globals_list


class Payload:
    """An arbitrary class: weights_only loading must refuse it."""
    def __init__(self):
        self.value = 42


def _refused(path):
    with pytest.raises(pickle.UnpicklingError, match='Weights only load failed'):
        torch.load(path)


def test_plain_torch_load_still_refuses_after_our_loader(graph_fixture, fresh, tmp_path):
    dataset = load_dataset('ogbg-molhiv', meta_dict=fresh(graph_fixture))  # writes + loads
    assert len(dataset) == 40 and load_split(dataset)['train'].dtype == torch.long
    torch.save(Payload(), tmp_path / 'payload.pt')
    _refused(tmp_path / 'payload.pt')
    # Even the classes our context allow-lists are refused again outside it:
    torch.save({'a': np.arange(3)}, tmp_path / 'numpy.pt')
    _refused(tmp_path / 'numpy.pt')
    data = Data(x=torch.ones(2, 1), edge_index=torch.tensor([[0], [1]]))
    torch.save(data.to_dict() | {'storage': data._store}, tmp_path / 'storage.pt')
    _refused(tmp_path / 'storage.pt')


def test_context_allows_exactly_the_listed_globals(tmp_path):
    torch.save({'edge': np.arange(6).reshape(3, 2)}, tmp_path / 'split.pt')
    torch.save(Payload(), tmp_path / 'payload.pt')
    with ogb_safe_globals():
        split = torch.load(tmp_path / 'split.pt')
        assert np.array_equal(split['edge'], np.arange(6).reshape(3, 2))
        _refused(tmp_path / 'payload.pt')  # anything else is still refused inside
    _refused(tmp_path / 'split.pt')


def test_context_keeps_globals_added_by_the_user(tmp_path):
    before = torch.serialization.get_safe_globals()
    torch.serialization.add_safe_globals([np.ndarray])
    try:
        with ogb_safe_globals():
            pass
        assert np.ndarray in torch.serialization.get_safe_globals()  # not removed by us
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(before)


def test_allow_list_names():
    names = {f'{g[1]}' if isinstance(g, tuple) else f'{g.__module__}.{g.__qualname__}'
             for g in ogb_safe_globals_list()}
    assert 'torch_geometric.data.data.DataEdgeAttr' in names
    assert 'numpy.core.multiarray._reconstruct' in names
    assert not any(name.startswith(('builtins', 'os', 'subprocess')) for name in names)
