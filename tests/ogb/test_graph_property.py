import argparse
import json

import pytest
import torch

from pyg_ext.ogb import graph_property
from pyg_ext.ogb.options import add_arguments


def _args(meta_dict, out, *extra):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([meta_dict['name'], '--out', str(out), '--no-progress', *extra])
    args.meta_dict = {k: v for k, v in meta_dict.items() if k != 'name'}
    return args


@pytest.fixture
def molhiv(graph_fixture):
    return dict(graph_fixture, name='ogbg-molhiv')


@pytest.mark.parametrize('model', ['gin', 'gin-virtual', 'gcn', 'gcn-virtual', 'ggnn',
                                   'graph-transformer', 'graph-transformer-virtual',
                                   'attention-additive', 'attention-bilinear', 'attention-dot',
                                   'attention-scaled-dot'])
def test_one_epoch(molhiv, tmp_path, model):
    args = _args(molhiv, tmp_path, '--model', model, '--epochs', '1', '--runs', '1',
                 '--hidden', '16', '--num-layers', '2')
    results = graph_property.run(args)
    assert results['summary']['metric'] == 'rocauc'
    assert len(results['runs']) == 1
    assert 0.0 <= results['runs'][0]['test'] <= 1.0
    saved = json.loads((tmp_path / 'results.json').read_text())
    assert saved['runs'] == results['runs']
    assert saved['config']['model'] == model
    assert (tmp_path / 'checkpoints' / 'run00.pt').exists()


def test_regression_selects_lowest_rmse(regression_fixture, tmp_path):
    meta = dict(regression_fixture, name='ogbg-molesol')
    args = _args(meta, tmp_path, '--model', 'gin', '--epochs', '3', '--runs', '1',
                 '--hidden', '16', '--num-layers', '2')
    results = graph_property.run(args)
    curve = results['logger']['curves']['0']
    assert results['summary']['metric'] == 'rmse'
    assert results['runs'][0]['valid'] == min(row['valid'] for row in curve)


def test_official_defaults(molhiv, tmp_path):
    args = _args(molhiv, tmp_path)
    graph_property.resolve(args, graph_property.DEFAULTS)
    assert (args.model, args.num_layers, args.hidden, args.dropout) == ('gin-virtual', 5, 300,
                                                                        0.5)
    assert (args.batch_size, args.lr, args.epochs, args.runs) == (32, 1e-3, 100, 10)


def test_unknown_model(molhiv, tmp_path):
    args = _args(molhiv, tmp_path, '--model', 'nope')
    with pytest.raises(ValueError, match="unknown --model 'nope'; choose one of"):
        graph_property.run(args)


def test_evaluator_matches_hand_rocauc(molhiv, tmp_path):
    from pyg_ext.ogb.datasets import make_evaluator
    evaluator = make_evaluator('ogbg-molhiv')
    y_true = torch.tensor([[0], [0], [1], [1], [0], [1]])
    y_pred = torch.tensor([[0.1], [0.4], [0.35], [0.8], [0.7], [0.9]])
    # ROC-AUC = P(score of a positive > score of a negative) over the 9 pairs:
    # positives 0.35, 0.8, 0.9 against negatives 0.1, 0.4, 0.7 -> 1 + 3 + 3 = 7 wins.
    auc = evaluator.eval({'y_true': y_true, 'y_pred': y_pred})['rocauc']
    assert auc == pytest.approx(7 / 9)


def test_evaluator_matches_hand_rmse():
    from pyg_ext.ogb.datasets import make_evaluator
    evaluator = make_evaluator('ogbg-molesol')
    y_true = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    y_pred = torch.tensor([[1.5], [2.0], [2.0], [6.0]])
    rmse = ((0.25 + 0 + 1 + 4) / 4) ** 0.5
    assert evaluator.eval({'y_true': y_true, 'y_pred': y_pred})['rmse'] == pytest.approx(rmse)
