import argparse
import json

import pytest
import torch
from matplotlib.image import imread

from pyg_ext.ogb import graph_property, link_property, node_property
from pyg_ext.ogb.logger import Logger
from pyg_ext.ogb.options import add_arguments
from pyg_ext.ogb.runner import Runner


def _args(name, meta_dict, out, *extra):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([name, '--out', str(out), '--no-progress', *extra])
    args.meta_dict = meta_dict
    return args


class _Interrupt(Exception):
    pass


def _interrupt_at(monkeypatch, cls, run, epoch):
    original = cls.train_epoch

    def train_epoch(self, e):
        if getattr(self, '_run', None) == run and e == epoch:
            raise _Interrupt
        return original(self, e)

    original_reset = cls.reset

    def reset(self, r):
        self._run = r
        return original_reset(self, r)

    monkeypatch.setattr(cls, 'train_epoch', train_epoch)
    monkeypatch.setattr(cls, 'reset', reset)


CASES = {
    'graph': (graph_property, graph_property.GraphPropertyTask, 'ogbg-molhiv', 'graph_fixture',
              ['--model', 'gin-virtual', '--hidden', '16', '--num-layers', '2']),
    'link': (link_property, link_property.LinkPropertyTask, 'ogbl-ddi', 'link_fixture',
             ['--model', 'sage', '--hidden', '16', '--batch-size', '64', '--eval-steps', '1']),
    'node': (node_property, node_property.NodePropertyTask, 'ogbn-arxiv', 'node_fixture',
             ['--model', 'sage', '--hidden', '16', '--num-neighbors', '4', '3',
              '--batch-size', '16']),
}


@pytest.mark.parametrize('case', sorted(CASES))
def test_resume_after_interruption_equals_uninterrupted(case, request, tmp_path, monkeypatch):
    module, cls, name, fixture, extra = CASES[case]
    meta = request.getfixturevalue(fixture)
    common = ['--runs', '2', '--epochs', '3', *extra]

    full = module.run(_args(name, meta, tmp_path / 'full', *common))

    with monkeypatch.context() as patch:
        _interrupt_at(patch, cls, run=1, epoch=2)  # dies in the middle of the second run
        with pytest.raises(_Interrupt):
            module.run(_args(name, meta, tmp_path / 'resumed', *common))
    partial = json.loads((tmp_path / 'resumed' / 'results.json').read_text())
    assert [r['run'] for r in partial['runs']] == [0]  # run 0 finished, run 1 did not

    resumed = module.run(_args(name, meta, tmp_path / 'resumed', *common))
    assert resumed['runs'] == full['runs']
    assert resumed['logger']['curves'] == full['logger']['curves']
    assert resumed['summary'] == full['summary']


def test_resume_refuses_other_settings(graph_fixture, tmp_path):
    common = ['--runs', '1', '--epochs', '1', '--hidden', '8', '--num-layers', '2']
    graph_property.run(_args('ogbg-molhiv', graph_fixture, tmp_path, *common))
    changed = _args('ogbg-molhiv', graph_fixture, tmp_path, *common[:-1], '3')
    with pytest.raises(ValueError, match=r"differ in \['num_layers'\]\); pass another --out"):
        graph_property.run(changed)


class _Toy:
    """A deterministic task: a linear model fitted by SGD to a fixed target."""
    def __init__(self):
        self.model = torch.nn.Linear(3, 1)
        self.x, self.y = torch.randn(16, 3), torch.randn(16, 1)

    def reset(self, run):
        self.model.reset_parameters()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        return {'model': self.model, 'optimizer': self.optimizer}

    def train_epoch(self, epoch):
        self.optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(self.model(self.x), self.y)
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())

    def evaluate(self):
        with torch.no_grad():
            err = float(torch.nn.functional.mse_loss(self.model(self.x), self.y))
        return {'valid': err, 'test': 2 * err}


def test_runner_eval_steps_and_selection(tmp_path):
    logger = Logger('mse', higher_is_better=False)
    runner = Runner(str(tmp_path), {'toy': 1}, logger, runs=2, epochs=7, eval_steps=3,
                    progress=False)
    results = runner.fit(_Toy())
    curve = results['logger']['curves']['0']
    assert [row['epoch'] for row in curve] == [3, 6, 7]  # every 3 epochs and the last
    best = min(curve, key=lambda row: row['valid'])
    assert results['runs'][0]['epoch'] == best['epoch']
    assert results['runs'][0]['seed'] == 0 and results['runs'][1]['seed'] == 1


def test_runner_checks_arguments(tmp_path):
    with pytest.raises(ValueError, match='must be >= 1'):
        Runner(str(tmp_path), {}, Logger('acc'), runs=0)


def test_runner_draws_the_curves_unless_told_not_to(tmp_path):
    results = Runner(str(tmp_path / 'a'), {'toy': 1}, Logger('mse', higher_is_better=False),
                     runs=2, epochs=2, progress=False).fit(_Toy())
    image = imread(tmp_path / 'a' / 'curves.png')  # validation, test and loss panels
    assert image.shape == (360, 1500, 4)
    assert not (tmp_path / 'a' / 'curves.png.tmp').exists()
    Runner(str(tmp_path / 'b'), {'toy': 1}, Logger('mse', higher_is_better=False), runs=2,
           epochs=2, progress=False, plots=False).fit(_Toy())
    assert (tmp_path / 'b' / 'results.json').exists()
    assert not (tmp_path / 'b' / 'curves.png').exists()
    assert results['config'] == {'toy': 1}


def test_no_plots_option_is_a_runtime_option(graph_fixture, tmp_path):
    common = ['--runs', '1', '--epochs', '1', '--hidden', '8', '--num-layers', '2']
    graph_property.run(_args('ogbg-molhiv', graph_fixture, tmp_path, *common, '--no-plots'))
    assert not (tmp_path / 'curves.png').exists()
    # the same benchmark with plots on: nothing left to train, the curves are drawn
    results = graph_property.run(_args('ogbg-molhiv', graph_fixture, tmp_path, *common))
    assert 'plots' not in results['config'] and results['summary']['runs'] == 1
    assert imread(tmp_path / 'curves.png').shape == (360, 1500, 4)
