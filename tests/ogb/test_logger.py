import math

import pytest

from pyg_ext.ogb.logger import Logger, format_mean_std


def test_selects_first_best_validation_and_summarises():
    logger = Logger('hits@20')
    for run, curve in enumerate([[(0.5, 0.4), (0.7, 0.6), (0.7, 0.9)],
                                 [(0.2, 0.3), (0.6, 0.5), (0.1, 0.8)]]):
        for epoch, (valid, test) in enumerate(curve, 1):
            logger.add_result(run, epoch, valid, test, loss=1.0)
        logger.finish_run(run)
    assert logger.best(0)['epoch'] == 2  # ties keep the first epoch
    s = logger.summary()
    assert s['test']['mean'] == pytest.approx(0.55)
    assert s['test']['std'] == pytest.approx(math.sqrt(((0.6 - 0.55) ** 2 +
                                                        (0.5 - 0.55) ** 2) / 1))  # n - 1
    assert s['test_text'] == '0.5500 ± 0.0707'
    assert logger.format(0).startswith('Run 00: best valid hits@20 0.7000 at epoch 2')


def test_lower_is_better_and_state_round_trip():
    logger = Logger('rmse', higher_is_better=False)
    logger.add_result(0, 1, 2.0, 2.5)
    logger.add_result(0, 2, 1.0, 1.5)
    logger.finish_run(0)
    assert logger.best(0)['test'] == 1.5
    assert logger.summary()['test_text'] == '1.5000 ± n/a'
    other = Logger('acc')
    other.load_state_dict(logger.state_dict())
    assert other.summary() == logger.summary()
    assert repr(other) == "Logger('rmse', higher_is_better=False)"


def test_errors_and_format():
    with pytest.raises(ValueError, match='has no evaluated epoch yet'):
        Logger('acc').best(0)
    assert format_mean_std({'mean': None, 'std': None}) == 'n/a'
