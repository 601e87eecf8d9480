import math

import pytest
import torch

from pyg_ext.data.metrics import accuracy, masked_mae, masked_mape, masked_rmse


@pytest.fixture
def case():
    # [B=1, T_out=2, N=3, F=1]; step 0: target 0 is "missing" (null), step 1: one masked entry.
    target = torch.tensor([[0., 2., 4.], [1., 5., 10.]]).reshape(1, 2, 3, 1)
    pred = torch.tensor([[9., 3., 2.], [2., 1., 10.]]).reshape(1, 2, 3, 1)
    mask = torch.tensor([[True, True, True], [True, False, True]]).reshape(1, 2, 3, 1)
    return pred, target, mask


def test_by_hand(case):
    pred, target, mask = case
    step, mean = masked_mae(pred, target, mask, null_value=0.)
    # Valid: step 0 -> (3 vs 2), (2 vs 4); step 1 -> (2 vs 1), (10 vs 10).
    assert step.tolist() == [1.5, 0.5] and mean.item() == 1.0
    step, mean = masked_rmse(pred, target, mask, null_value=0.)
    assert torch.allclose(step, torch.tensor([math.sqrt(2.5), math.sqrt(0.5)]))
    assert torch.allclose(mean, torch.tensor(math.sqrt(6 / 4)))  # pooled, not mean of steps
    step, mean = masked_mape(pred, target, mask)  # zero targets skipped even without null
    assert torch.allclose(step, torch.tensor([(0.5 + 0.5) / 2, (1. + 0.) / 2]))
    assert torch.allclose(mean, torch.tensor(2. / 4))
    step, mean = accuracy(pred, target, mask, null_value=0.)
    assert torch.allclose(step, torch.tensor([1 - math.sqrt(5 / 20), 1 - math.sqrt(1 / 101)]))
    assert torch.allclose(mean, torch.tensor(1 - math.sqrt(6 / 121)))


def test_without_mask_matches_torch():
    pred, target = torch.randn(4, 3, 5, 2), torch.randn(4, 3, 5, 2)
    step, mean = masked_mae(pred, target)
    assert torch.allclose(step, (pred - target).abs().mean((0, 2, 3)))
    assert torch.allclose(mean, torch.nn.functional.l1_loss(pred, target))
    step, mean = masked_rmse(pred, target)
    assert torch.allclose(mean, torch.nn.functional.mse_loss(pred, target).sqrt())
    # Horizon on another axis: [T_out, N, F] with time_dim=0.
    step0, _ = masked_mae(pred[0], target[0], time_dim=0)
    assert torch.allclose(step0, (pred[0] - target[0]).abs().mean((1, 2)))
    step, mean = accuracy(pred, target)
    ref = 1 - torch.linalg.norm(target - pred) / torch.linalg.norm(target)
    assert torch.allclose(mean, ref)


def test_nan_targets_ignored_and_empty_steps(case):
    pred, target, mask = case
    target = target.clone()
    target[0, 1, 1, 0] = float('nan')  # the masked entry is NaN: still ignored, no NaN leak
    pred = pred.clone()
    pred[0, 1, 1, 0] = float('nan')
    assert masked_mae(pred, target, mask, null_value=0.)[1].item() == 1.0
    empty = torch.zeros_like(mask)
    step, mean = masked_mae(pred, target, empty)
    assert torch.isnan(step).all() and torch.isnan(mean)
    # Gradients reach the prediction (usable as a training loss).
    p = pred.nan_to_num().requires_grad_()
    masked_mae(p, target, mask, null_value=0.)[1].backward()
    assert p.grad[0, 0, 0, 0] == 0 and p.grad[0, 0, 1, 0] == 0.25


def test_errors(case):
    pred, target, mask = case
    with pytest.raises(ValueError, match='they must match'):
        masked_mae(pred, target[..., :2, :])
    with pytest.raises(ValueError, match='does not broadcast'):
        masked_rmse(pred, target, torch.ones(5, dtype=torch.bool))
