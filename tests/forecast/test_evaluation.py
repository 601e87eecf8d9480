import pytest
import torch

from pyg_ext.data.metrics import masked_mae
from pyg_ext.data.window_dataset import WindowDataset
from pyg_ext.forecast.evaluation import (
    LOSSES,
    evaluate_windows,
    loss_label,
    masked_mae_loss,
    masked_mae_mse_loss,
    masked_mse_loss,
)


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
    assert LOSSES == {'mae': masked_mae_loss, 'mse': masked_mse_loss,
                      'mae+mse': masked_mae_mse_loss}


def test_masked_mae_mse_loss_by_hand():
    pred, target = torch.tensor([1., 5., 9., 0.]), torch.tensor([3., 1., float('nan'), 1.])
    mask = torch.tensor([True, False, True, True])
    # observed, finite errors: -2 and -1
    expected = ((2 + 0.1 * 4) + (1 + 0.1 * 1)) / 2
    assert float(masked_mae_mse_loss(pred, target, mask, mse_weight=0.1)) == \
        pytest.approx(expected)
    assert float(masked_mae_mse_loss(pred, target, mask, mse_weight=0.0)) == \
        float(masked_mae_loss(pred, target, mask))
    assert float(masked_mae_mse_loss(pred, target, torch.zeros(4, dtype=torch.bool))) == 0.0
    # the gradient per error e is sign(e) + 2 w e: an error of 1 / (2 w) weighs double
    p = pred.clone().requires_grad_()
    masked_mae_mse_loss(p, target, mask, mse_weight=0.25).backward()
    assert p.grad.tolist() == pytest.approx([(-1 + 2 * 0.25 * -2) / 2, 0, 0,
                                             (-1 + 2 * 0.25 * -1) / 2])
    assert loss_label('mae+mse', 0.05) == 'MAE + 0.05 x MSE'
    assert loss_label('mae') == 'MAE' and loss_label('mse') == 'MSE'


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
