import math

import pytest
import torch

from pyg_ext.data.metrics import masked_mae, masked_mape, masked_rmse
from pyg_ext.forecast.horizon_metrics import HorizonMetrics


def test_pooled_over_batches_equals_metrics_on_the_whole():
    pred, target = torch.randn(10, 4, 5, 2), torch.randn(10, 4, 5, 2)
    target[0, 1, 2, 0] = 0.0  # skipped by MAPE only
    target[3, 2, 1, 1] = float('nan')  # skipped by all
    mask = torch.rand(10, 4, 5, 2) > 0.2
    metrics = HorizonMetrics(4)
    for part in torch.arange(10).split(3):
        metrics.update(pred[part], target[part], mask[part])
    out = metrics.compute()
    for name, ref in (('mae', masked_mae), ('rmse', masked_rmse), ('mape', masked_mape)):
        per_step, overall = ref(pred, target, mask)
        torch.testing.assert_close(out['per_step'][name].float(), per_step)
        torch.testing.assert_close(out['overall'][name].float(), overall)


def test_hand_computed_case():
    # One node, one feature; 2 windows, horizon 2. Targets [[10, 20], [5, 0]], all 12.
    target = torch.tensor([[10., 20.], [5., 0.]]).view(2, 2, 1, 1)
    pred = torch.full_like(target, 12.)
    mask = torch.tensor([[True, True], [True, False]]).view(2, 2, 1, 1)
    metrics = HorizonMetrics(2)
    metrics.update(pred, target, mask)
    out = metrics.compute()
    assert out['per_step']['mae'].tolist() == pytest.approx([(2 + 7) / 2, 8])
    assert out['per_step']['rmse'].tolist() == pytest.approx([math.sqrt((4 + 49) / 2), 8])
    assert out['per_step']['mape'].tolist() == pytest.approx([(0.2 + 7 / 5) / 2, 0.4])
    assert float(out['overall']['mae']) == pytest.approx((2 + 7 + 8) / 3)
    assert repr(metrics) == 'HorizonMetrics(horizon=2)'


def test_empty_step_is_nan_and_bad_shapes_raise():
    metrics = HorizonMetrics(2)
    metrics.update(torch.ones(1, 2, 1, 1), torch.ones(1, 2, 1, 1),
                   torch.tensor([True, False]).view(1, 2, 1, 1))
    assert math.isnan(float(metrics.compute()['per_step']['mae'][1]))
    with pytest.raises(ValueError, match=r'\[B, T_out=2, N, F\]'):
        metrics.update(torch.ones(1, 3, 1, 1), torch.ones(1, 3, 1, 1))
