import argparse
import json

import pytest

from pyg_ext.cli import main
from pyg_ext.ogb import link_property
from pyg_ext.ogb.merge_results import merge_results
from pyg_ext.ogb.options import add_arguments

EXTRA = ['--model', 'sage', '--hidden', '16', '--batch-size', '64', '--eval-steps', '1',
         '--epochs', '2']


def _run(meta_dict, out, *extra):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(['ogbl-ddi', '--out', str(out), '--no-progress', *EXTRA, *extra])
    args.meta_dict = meta_dict
    return link_property.run(args)


def test_separate_seeds_merged_equal_one_benchmark_of_all_runs(link_fixture, tmp_path,
                                                                capsys):
    # --seed 0 --runs 2 in one process against --seed 0 and --seed 1 in two processes
    together = _run(link_fixture, tmp_path / 'together', '--runs', '2')
    parts = [_run(link_fixture, tmp_path / f'seed{s}', '--runs', '1', '--seed', str(s))
             for s in (0, 1)]
    paths = [str(tmp_path / f'seed{s}' / 'results.json') for s in (0, 1)]
    assert main(['ogb-merge', *paths, '--out', str(tmp_path / 'merged.json')]) == 0
    assert 'over 2 run(s) (seeds [0, 1])' in capsys.readouterr().out
    with open(tmp_path / 'merged.json') as f:
        merged = json.load(f)
    assert merged == json.loads(json.dumps(merge_results(parts)))
    assert merged['summary'] == together['summary']
    assert merged['runs'] == together['runs']
    assert merged['logger'] == together['logger']
    config = dict(together['config'])
    config.pop('seed')
    assert merged['config'] == dict(config, seeds=[0, 1])
    assert merged['summary']['runs'] == 2 and merged['summary']['test']['std'] is not None


def test_refuses_other_settings_and_repeated_seeds(link_fixture, tmp_path):
    a = _run(link_fixture, tmp_path / 'a', '--runs', '1')
    b = _run(link_fixture, tmp_path / 'b', '--runs', '1', '--lr', '0.5')
    with pytest.raises(ValueError, match=r"differ in \['lr'\]"):
        merge_results([a, b])
    with pytest.raises(ValueError, match='seed 0 appears twice'):
        merge_results([a, a])
    with pytest.raises(ValueError, match='at least one'):
        merge_results([])


def test_a_merged_file_merges_with_further_seeds(link_fixture, tmp_path):
    parts = [_run(link_fixture, tmp_path / f'seed{s}', '--runs', '1', '--seed', str(s))
             for s in (0, 1, 2)]
    first_two = json.loads(json.dumps(merge_results(parts[:2])))  # as read back from disk
    again = merge_results([first_two, parts[2]])
    assert again == merge_results(parts)
    assert again['config']['seeds'] == [0, 1, 2]
    with pytest.raises(ValueError, match='seed 1 appears twice'):
        merge_results([first_two, parts[1]])
