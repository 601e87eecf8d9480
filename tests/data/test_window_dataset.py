import pytest
import torch
from torch.utils.data import DataLoader

from pyg_ext.data.window_dataset import WindowDataset


@pytest.fixture
def series():
    return torch.arange(20 * 3 * 2, dtype=torch.float32).reshape(20, 3, 2)  # [T, N, F]


def test_windows_are_views_and_correct(series):
    mask = torch.rand(20, 3, 2) > 0.2
    ds = WindowDataset(series, mask=mask, input_steps=4, horizon=3, stride=2)
    assert len(ds) == (20 - 7) // 2 + 1 == 7
    assert repr(ds) == 'WindowDataset(7, input_steps=4, horizon=3, stride=2)'
    for k in range(len(ds)):
        x, y, m = ds[k]
        s = 2 * k
        assert torch.equal(x, series[s:s + 4]) and torch.equal(y, series[s + 4:s + 7])
        assert torch.equal(m, mask[s + 4:s + 7])
        # Views: same storage as the series, nothing copied.
        assert x.untyped_storage().data_ptr() == series.untyped_storage().data_ptr()
        assert y.untyped_storage().data_ptr() == series.untyped_storage().data_ptr()
        assert m.untyped_storage().data_ptr() == mask.untyped_storage().data_ptr()
    # The last window ends exactly at the series end (12 + 7 = 19 <= 20; 14 + 7 > 20).
    assert ds.target_index()[-1].tolist() == [16, 17, 18]
    assert torch.equal(ds[-1][0], ds[6][0])
    with pytest.raises(IndexError, match='out of range for 7 windows'):
        ds[7]


def test_range_borders(series):
    ds = WindowDataset(series, input_steps=2, horizon=2, start=5, end=11)
    assert len(ds) == 3  # starts 5, 6, 7; 7 + 4 = 11 = end
    assert ds.input_index().min() == 5 and ds.target_index().max() == 10
    x, y, m = ds[0]
    assert torch.equal(x, series[5:7]) and m.all() and m.shape == (2, 3, 2)


def test_get_batch_and_loader_agree(series):
    y = series[..., :1]  # forecast feature 0 only: still a view
    ds = WindowDataset(series, y, input_steps=3, horizon=2)
    xb, yb, mb = ds.get_batch([0, 5, 9])
    assert xb.shape == (3, 3, 3, 2) and yb.shape == (3, 2, 3, 1)
    assert torch.equal(xb[1], ds[5][0]) and torch.equal(yb[2], ds[9][1])
    loader_batch = next(iter(DataLoader(ds, batch_size=4)))
    direct = ds.get_batch(torch.arange(4))
    for a, b in zip(loader_batch, direct):
        assert torch.equal(a, b)


def test_bad_input(series):
    with pytest.raises(ValueError, match='input_steps \\+ horizon = 25 steps but the range'):
        WindowDataset(series, input_steps=12, horizon=13)
    with pytest.raises(ValueError, match='must be at least 1'):
        WindowDataset(series, horizon=0)
    with pytest.raises(ValueError, match=r'expected \[T, N, F\]'):
        WindowDataset(series[..., 0])
    with pytest.raises(ValueError, match='same T and N'):
        WindowDataset(series, series[:5])
    with pytest.raises(ValueError, match="bool tensor of the targets' shape"):
        WindowDataset(series, mask=torch.ones(20, 3, 2))
    with pytest.raises(ValueError, match='must lie inside'):
        WindowDataset(series, input_steps=1, horizon=1, start=3, end=30)
