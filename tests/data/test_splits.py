import numpy as np
import pytest
import torch

from pyg_ext.data.min_max_scaler import MinMaxScaler
from pyg_ext.data.spatiotemporal_series import SpatioTemporalSeries
from pyg_ext.data.splits import chronological_split, forecasting_windows
from pyg_ext.data.standard_scaler import StandardScaler


def make_series(t=100, n=4, f=2, timestamps=True):
    x = torch.randn(t, n, f) * 3 + 10
    stamps = (np.datetime64('2012-03-01T23:00') + np.arange(t) * np.timedelta64(5, 'm')
              if timestamps else None)
    return SpatioTemporalSeries(x, torch.tensor([[0, 1], [1, 2]]), timestamps=stamps)


def test_chronological_split():
    assert chronological_split(100) == [(0, 70), (70, 80), (80, 100)]
    assert chronological_split(2016, (0.8, 0.2)) == [(0, 1613), (1613, 2016)]
    with pytest.raises(ValueError, match='sums to 0.9'):
        chronological_split(100, (0.7, 0.2))
    with pytest.raises(ValueError, match='positive shares'):
        chronological_split(100, (1.2, -0.2))
    with pytest.raises(ValueError, match='too short'):
        chronological_split(2, (0.7, 0.1, 0.2))


def test_windows_never_cross_split_borders():
    s = make_series()
    (train, val, test), scaler = forecasting_windows(s, input_steps=5, horizon=3)
    assert scaler is None
    for ds, (lo, hi) in zip((train, val, test), [(0, 70), (70, 80), (80, 100)]):
        steps = torch.cat([ds.input_index().flatten(), ds.target_index().flatten()])
        assert steps.min() == lo and steps.max() == hi - 1  # reaches both borders, no further
    assert (len(train), len(val), len(test)) == (63, 3, 13)
    # No scaler, no covariates: windows are views of the series itself.
    assert train[0][0].untyped_storage().data_ptr() == s.series.untyped_storage().data_ptr()


@pytest.mark.parametrize('scaler_cls', [StandardScaler, MinMaxScaler])
def test_scaler_sees_training_split_only(scaler_cls):
    s = make_series()
    _, scaler = forecasting_windows(s, 5, 3, scaler=scaler_cls())
    stats = [b.clone() for b in scaler.buffers()]
    # Rewrite everything after the training block, including missing values.
    s.series[70:] = torch.randn(30, 4, 2) * 1000 - 500
    s.mask[75:80] = False
    _, again = forecasting_windows(s, 5, 3, scaler=scaler_cls())
    for a, b in zip(stats, again.buffers()):
        assert torch.equal(a, b)
    # ... while a change inside the training block does change them.
    s.series[3, 0, 0] = 1e4
    _, moved = forecasting_windows(s, 5, 3, scaler=scaler_cls())
    assert not all(torch.equal(a, b) for a, b in zip(stats, moved.buffers()))
    # The statistics are the training block's, computed by hand.
    train = s.series[:70]
    if scaler_cls is StandardScaler:
        assert torch.allclose(moved.mean.flatten(), train.mean((0, 1)))
        assert torch.allclose(moved.std.flatten(), train.std((0, 1), unbiased=False))
    else:
        assert torch.equal(moved.min.flatten(), train.amin((0, 1)))


def test_scaled_inputs_covariates_and_targets():
    s = make_series()
    s.mask[2, 1, 0] = False
    (train, val, test), scaler = forecasting_windows(
        s, 4, 2, scaler=StandardScaler(), add_time_covariates=True, target_features=1)
    x, y, m = train[0]
    assert x.shape == (4, 4, 2 + 8) and y.shape == (2, 4, 1) and m.shape == (2, 4, 1)
    assert torch.allclose(x[:2, :, :2], (s.series[:2] - scaler.mean) / scaler.std)
    assert x[2, 1, 0] == 0  # a missing input is the training mean (0 in scaled units)
    assert torch.equal(y, s.series[4:6, :, 1:])  # targets in original units
    # Covariates: 2012-03-01 23:00 is a Thursday, 23/24 of the day.
    assert torch.allclose(x[0, :, 2], torch.full((4,), 23 / 24))
    assert x[0, 0, 3:].tolist() == [0, 0, 0, 1, 0, 0, 0]
    assert x[-1, 0, 3:].tolist() == [0, 0, 0, 1, 0, 0, 0]
    # Windows of each split are views of one shared input tensor.
    assert val[0][0].untyped_storage().data_ptr() == test[0][0].untyped_storage().data_ptr()
    (train, _, _), scaler = forecasting_windows(s, 4, 2, scaler=MinMaxScaler(),
                                                scale_target=True)
    assert torch.allclose(scaler.inverse_transform(train[0][1]), s.series[4:6])


def test_bad_input():
    s = make_series(t=40, timestamps=False)
    with pytest.raises(ValueError, match=r'split 1 \(10% of 40 steps = 4\) is shorter'):
        forecasting_windows(s, 3, 2)
    with pytest.raises(ValueError, match='shorter than one window'):
        forecasting_windows(s, 30, 20, fractions=(1.0,))  # horizon beyond the series
    with pytest.raises(ValueError, match='has no timestamps'):
        forecasting_windows(s, 2, 1, add_time_covariates=True)
