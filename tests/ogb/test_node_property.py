import argparse
import json
import os
import os.path as osp
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pyg_ext.ogb import node_property
from pyg_ext.ogb.datasets import make_evaluator
from pyg_ext.ogb.options import add_arguments

ROOT = Path(__file__).resolve().parents[2]


def _args(meta_dict, out, *extra):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(['ogbn-arxiv', '--out', str(out), '--no-progress', *extra])
    args.meta_dict = meta_dict
    return args


@pytest.mark.parametrize('model', ['gcn', 'sage', 'attention-additive', 'attention-bilinear',
                                   'attention-dot', 'attention-scaled-dot'])
def test_one_epoch_full_batch(node_fixture, tmp_path, model):
    args = _args(node_fixture, tmp_path, '--model', model, '--epochs', '1', '--runs', '1',
                 '--hidden', '16', '--eval-train')
    results = node_property.run(args)
    assert results['summary']['metric'] == 'acc'
    assert 0.0 <= results['runs'][0]['test'] <= 1.0
    assert json.loads((tmp_path / 'results.json').read_text())['config']['full_batch']


@pytest.mark.parametrize('model', ['gcn', 'attention-scaled-dot'])
def test_one_epoch_neighbor_sampling(node_fixture, tmp_path, model):
    args = _args(node_fixture, tmp_path, '--model', model, '--epochs', '2', '--runs', '1',
                 '--hidden', '16', '--num-neighbors', '4', '3', '--batch-size', '16')
    results = node_property.run(args)
    assert not results['config']['full_batch']
    assert len(results['logger']['curves']['0']) == 2


def test_official_arxiv_defaults(node_fixture, tmp_path):
    args = _args(node_fixture, tmp_path)
    node_property.resolve(args, node_property.DEFAULTS['ogbn-arxiv'])
    assert (args.model, args.num_layers, args.hidden, args.dropout) == ('gcn', 3, 256, 0.5)
    assert (args.lr, args.epochs, args.runs, args.batch_norm) == (0.01, 500, 10, True)
    assert args.num_neighbors is None


def test_shard_seeds_cover_training_set():
    seeds = torch.arange(11)
    shards = [node_property.shard_seeds(seeds, r, 3, seed=5) for r in range(3)]
    assert [s.numel() for s in shards] == [4, 4, 4]  # ceil(11 / 3), padded
    assert set(torch.cat(shards).tolist()) == set(range(11))
    assert torch.cat(shards).unique().numel() == 11  # only the padding repeats
    again = node_property.shard_seeds(seeds, 1, 3, seed=5)
    assert torch.equal(again, shards[1])  # every rank draws the same permutation


def test_evaluator_matches_hand_accuracy():
    evaluator = make_evaluator('ogbn-arxiv')
    y_true = torch.tensor([[0], [1], [2], [3], [1]])
    y_pred = torch.tensor([[0], [2], [2], [3], [0]])
    assert evaluator.eval({'y_true': y_true, 'y_pred': y_pred})['acc'] == pytest.approx(3 / 5)


def test_distributed_two_processes_gloo(node_fixture, fresh, tmp_path):
    meta = fresh(node_fixture)
    meta_path = tmp_path / 'meta_dict.pt'
    torch.save(meta, meta_path)
    out = tmp_path / 'out'
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone',
           '--nproc_per_node', '2', str(ROOT / 'benchmarks' / 'ogb' / 'node_property.py'),
           'ogbn-arxiv', '--meta-dict', str(meta_path), '--model', 'sage', '--epochs', '2',
           '--runs', '1', '--hidden', '16', '--num-neighbors', '4', '3', '--batch-size', '16',
           '--device', 'cpu', '--no-progress', '--out', str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / 'results.json').read_text())
    assert results['summary']['runs'] == 1
    assert len(results['logger']['curves']['0']) == 2
    assert proc.stdout.count('ogbn-arxiv sage: test') == 1  # rank 0 only, after the group ends
    assert osp.exists(out / 'checkpoints' / 'run00.pt')
