import torch

from pyg_ext.data.metrics import masked_mae
from pyg_ext.data.window_dataset import WindowDataset
from pyg_ext.forecast.evaluation import LOSSES, evaluate_windows, masked_mae_loss, masked_mse_loss


def test_masked_mae_loss():
    pred, target = torch.tensor([1., 5., 9.]), torch.tensor([2., 1., float('nan')])
    mask = torch.tensor([True, False, True])
    assert float(masked_mae_loss(pred, target, mask)) == 1.0
    assert float(masked_mae_loss(pred, target, torch.zeros(3, dtype=torch.bool))) == 0.0


def test_masked_mse_loss():
    pred, target = torch.tensor([1., 5., 9., 0.]), torch.tensor([3., 1., float('nan'), 1.])
    mask = torch.tensor([True, False, True, True])
    assert float(masked_mse_loss(pred, target, mask)) == (4 + 1) / 2
    assert float(masked_mse_loss(pred, target, torch.zeros(4, dtype=torch.bool))) == 0.0
    assert LOSSES == {'mae': masked_mae_loss, 'mse': masked_mse_loss}


def test_evaluate_windows_covers_every_window_once():
    series = torch.randn(30, 3, 1)
    mask = torch.rand(30, 3, 1) > 0.1
    ds = WindowDataset(series, series, mask, input_steps=4, horizon=2, start=5)
    seen = []

    def persistence(windows, x):  # the last input, repeated
        seen.append(windows)
        return x[:, -1:].expand(-1, 2, -1, -1)
    metrics = evaluate_windows(persistence, ds, batch_size=4)
    assert torch.equal(torch.cat(seen), torch.arange(len(ds)))
    x, y, m = ds.get_batch(torch.arange(len(ds)))
    per_step, overall = masked_mae(x[:, -1:].expand(-1, 2, -1, -1), y, m)
    torch.testing.assert_close(metrics.compute()['per_step']['mae'].float(), per_step)
    torch.testing.assert_close(metrics.compute()['overall']['mae'].float(), overall)
