import pytest
import torch

from pyg_ext.data.covariates import time_slot
from pyg_ext.data.metrics import accuracy, masked_rmse
from pyg_ext.data.splits import forecasting_windows
from pyg_ext.data.tgcn_datasets import load_los_loop
from pyg_ext.data.window_dataset import WindowDataset
from pyg_ext.nn.models.historical_average import HistoricalAverage


@pytest.fixture
def data():
    t, n, f, slots = 48, 3, 2, 4
    series = torch.randn(t, n, f)
    mask = torch.rand(t, n, f) > 0.3
    mask[:, 2, 1] = False  # node 2, feature 1 never observed
    mask[torch.arange(t) % slots == 3, 1, 0] = False  # slot 3 never observed at node 1
    slot = torch.arange(t) % slots
    return series, mask, slot, slots


def test_slot_mode_matches_dense_reference(data):
    series, mask, slot, slots = data
    model = HistoricalAverage(horizon=2, mode='slot', num_slots=slots).fit(series, mask, slot)
    assert repr(model) == "HistoricalAverage(horizon=2, mode='slot', num_slots=4)"
    # Reference by hand: per slot, node and feature, the mean of the observed values.
    for n in range(3):
        for f in range(2):
            obs = mask[:, n, f]
            node_mean = series[obs, n, f].mean() if obs.any() else torch.tensor(float('nan'))
            torch.testing.assert_close(model.mean[0, n, f], node_mean, equal_nan=True)
            for s in range(slots):
                sel = obs & (slot == s)
                ref = series[sel, n, f].mean() if sel.any() else node_mean
                torch.testing.assert_close(model.table[s, n, f], ref, equal_nan=True)
    target_slot = torch.tensor([[0, 1], [3, 0]])  # [B, T_out]
    out = model(torch.randn(2, 5, 3, 2), target_slot)
    assert out.shape == (2, 2, 3, 2)
    torch.testing.assert_close(out[1, 0], model.table[3], equal_nan=True)
    torch.testing.assert_close(out[0, 1], model.table[1], equal_nan=True)


def test_train_and_window_modes(data):
    series, mask, _, _ = data
    model = HistoricalAverage(3).fit(series, mask)
    out = model(torch.randn(4, 5, 3, 2))
    assert out.shape == (4, 3, 3, 2)
    torch.testing.assert_close(out[2, 1], model.mean[0], equal_nan=True)
    window = HistoricalAverage(3, mode='window')
    x = torch.tensor([1., 2., 6.]).reshape(1, 3, 1, 1)
    x_mask = torch.tensor([True, True, False]).reshape(1, 3, 1, 1)
    assert window(x).flatten().tolist() == [3., 3., 3.]
    assert window(x, x_mask=x_mask).flatten().tolist() == [1.5, 1.5, 1.5]
    empty = torch.zeros_like(x_mask)
    assert torch.isnan(window(x, x_mask=empty)).all()  # unfitted: nothing to fall back on
    window.fit(torch.full((5, 1, 1), 7.))
    assert window(x, x_mask=empty).flatten().tolist() == [7., 7., 7.]


def test_fit_sees_only_what_it_is_given(data):
    series, mask, slot, slots = data
    train = slice(0, 32)
    a = HistoricalAverage(1, 'slot', slots).fit(series[train], mask[train], slot[train])
    series[32:] = 1e6  # the later (test) part changes
    b = HistoricalAverage(1, 'slot', slots).fit(series[train], mask[train], slot[train])
    assert torch.equal(a.table.nan_to_num(), b.table.nan_to_num())


def test_save_load_and_compile(tmp_path, data, graph_breaks):
    series, mask, slot, slots = data
    model = HistoricalAverage(2, 'slot', slots).fit(series, mask, slot)
    torch.save(model, tmp_path / 'ha.pt')
    loaded = torch.load(tmp_path / 'ha.pt', weights_only=False)
    target_slot = torch.tensor([[1, 2]])
    x = torch.randn(1, 4, 3, 2)
    torch.testing.assert_close(loaded(x, target_slot), model(x, target_slot), equal_nan=True)
    fresh = HistoricalAverage(2, 'slot', slots)
    fresh.load_state_dict(model.state_dict())
    torch.testing.assert_close(fresh.table, model.table, equal_nan=True)
    count, why = graph_breaks(model, x, target_slot)
    assert count == 0, why


def test_errors(data):
    series, mask, slot, slots = data
    with pytest.raises(ValueError, match='needs num_slots'):
        HistoricalAverage(2, 'slot')
    with pytest.raises(ValueError, match='unknown mode'):
        HistoricalAverage(2, 'median')
    with pytest.raises(ValueError, match='not fitted'):
        HistoricalAverage(2)(torch.randn(1, 3, 3, 2))
    model = HistoricalAverage(2, 'slot', slots)
    with pytest.raises(ValueError, match='slot of every training step'):
        model.fit(series, mask)
    model.fit(series, mask, slot)
    with pytest.raises(ValueError, match=r'\[B, T_out\] = \[1, 2\]'):
        model(torch.randn(1, 3, 3, 2), torch.tensor([0, 1]))


def test_los_loop_matches_tgcn_published_ha():
    # T-GCN (Table II): HA on Los-loop, 15-minute horizon (3 steps), 80/20 split:
    # RMSE 7.4427, accuracy 0.8733. Its HA is the mean of the 12 input steps.
    series = load_los_loop()
    (train, test), _ = forecasting_windows(series, input_steps=12, horizon=3,
                                           fractions=(0.8, 0.2))
    x, y, m = test.get_batch(torch.arange(len(test)))
    pred = HistoricalAverage(3, mode='window')(x)
    assert abs(masked_rmse(pred, y, m)[1].item() - 7.4427) < 0.05
    assert abs(accuracy(pred, y, m)[1].item() - 0.8733) < 0.002
    # The seasonal (time-of-day) HA, fitted on the training block only.
    slots = time_slot(series.timestamps, 288)
    end = train.end
    ha = HistoricalAverage(3, 'slot', 288).fit(series.series[:end], series.mask[:end],
                                               slots[:end])
    pred = ha(x, slots[test.target_index()])
    assert isinstance(test, WindowDataset) and torch.isfinite(pred).all()
    assert masked_rmse(pred, y, m)[1] < 12
