import numpy as np
import pytest
import torch

from pyg_ext.data.covariates import day_of_week, time_covariates, time_of_day, time_slot


def seconds(*stamps):
    return torch.from_numpy(np.array(stamps, dtype='datetime64[s]').astype(np.int64))


def test_calendar_by_hand():
    # 2012-03-01 was a Thursday; 2012-03-05 a Monday; 1969-12-31 a Wednesday.
    ts = seconds('2012-03-01T06:00', '2012-03-05T23:55', '1969-12-31T12:00')
    assert torch.allclose(time_of_day(ts), torch.tensor([0.25, 287 / 288, 0.5]))
    assert day_of_week(ts).tolist() == [3, 0, 2]
    assert time_slot(ts, 288).tolist() == [72, 287, 144]
    assert time_slot(ts, 288, weekly=True).tolist() == [3 * 288 + 72, 287, 2 * 288 + 144]
    assert time_slot(ts, 96).tolist() == [24, 95, 48]
    cov = time_covariates(ts)
    assert cov.shape == (3, 8) and cov[1, 1:].tolist() == [1, 0, 0, 0, 0, 0, 0]
    assert time_covariates(ts, day_of_week_feature=False).shape == (3, 1)


def test_agrees_with_pandas():
    import pandas as pd
    index = pd.date_range('2012-03-01', periods=3000, freq='5min')
    ts = torch.from_numpy(index.values.astype('datetime64[s]').astype(np.int64))
    assert day_of_week(ts).tolist() == list(index.day_of_week)
    ref = (index.hour * 3600 + index.minute * 60) / 86400
    assert torch.allclose(time_of_day(ts), torch.tensor(ref, dtype=torch.float32))


def test_errors():
    with pytest.raises(ValueError, match='must divide the 86400 seconds'):
        time_slot(torch.arange(3), 7)
    with pytest.raises(ValueError, match='integer seconds'):
        time_of_day(torch.rand(3))
    with pytest.raises(ValueError, match='at least one'):
        time_covariates(torch.arange(3), False, False)
