import argparse
import json

import pytest
import torch

from pyg_ext.ogb import link_property
from pyg_ext.ogb.datasets import make_evaluator
from pyg_ext.ogb.options import add_arguments


def _args(name, meta_dict, out, *extra):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([name, '--out', str(out), '--no-progress', *extra])
    args.meta_dict = meta_dict
    return args


@pytest.mark.parametrize('model', ['gcn', 'sage', 'attention-dot', 'gcn-bilinear', 'gcn-mlp',
                                   'gcn-inner', 'sage-bilinear', 'sage-mlp', 'sage-inner'])
def test_one_epoch_ddi(link_fixture, tmp_path, model):
    args = _args('ogbl-ddi', link_fixture, tmp_path, '--model', model, '--epochs', '1',
                 '--runs', '1', '--hidden', '16', '--batch-size', '64', '--eval-train')
    results = link_property.run(args)
    assert results['summary']['metric'] == 'hits@20'
    run = results['runs'][0]
    assert 0.0 <= run['test'] <= 1.0 and 0.0 <= run['train'] <= 1.0
    assert json.loads((tmp_path / 'results.json').read_text())['runs'] == results['runs']
    state = torch.load(tmp_path / 'checkpoints' / 'run00.pt', weights_only=True)
    assert set(state['objects']) == {'encoder', 'decoder', 'embedding', 'optimizer'}


@pytest.mark.parametrize('model', ['gcn', 'attention-dot', 'sage-bilinear'])
def test_one_epoch_collab_features(collab_fixture, tmp_path, model):
    # collab's adj_t carries edge weights: the attention layer (no edge_dim) ignores them.
    args = _args('ogbl-collab', collab_fixture, tmp_path, '--model', model, '--epochs', '1',
                 '--runs', '1', '--hidden', '16', '--batch-size', '64')
    results = link_property.run(args)
    assert results['summary']['metric'] == 'hits@50'
    state = torch.load(tmp_path / 'checkpoints' / 'run00.pt', weights_only=True)
    assert 'embedding' not in state['objects']


def test_official_ddi_defaults(link_fixture, tmp_path):
    args = _args('ogbl-ddi', link_fixture, tmp_path)
    link_property.resolve(args, link_property.DEFAULTS['ogbl-ddi'])
    assert (args.num_layers, args.hidden, args.dropout, args.lr) == (2, 256, 0.5, 0.005)
    assert (args.batch_size, args.epochs, args.runs) == (64 * 1024, 200, 10)


def test_evaluator_matches_hand_hits():
    evaluator = make_evaluator('ogbl-ddi')  # Hits@20
    neg = torch.arange(100, dtype=torch.float) / 100  # the 20th best negative scores 0.80
    pos = torch.tensor([0.95, 0.81, 0.80, 0.5, 0.99])
    # A positive counts as a hit if it scores above the 20th-best negative: 3 of 5.
    assert evaluator.eval({'y_pred_pos': pos, 'y_pred_neg': neg})['hits@20'] == 3 / 5
