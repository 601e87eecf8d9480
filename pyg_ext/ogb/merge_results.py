r"""``pyg-ext ogb-merge``: merge the ``results.json`` files of benchmarks that ran the same
settings with different seeds (e.g. one process per core, ``--seed 1 --runs 1`` and
``--seed 2 --runs 1``) into one file with the leaderboard's mean ± std over all their runs.
A merged file can itself be merged with the results of further seeds.

    pyg-ext ogb-merge runs/seed0/results.json runs/seed1/results.json --out merged.json
"""
import argparse
import json
from typing import Any, Dict, List, Sequence

from pyg_ext.ogb.logger import Logger


def merge_results(results: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    r"""One results dict (the format :class:`~pyg_ext.ogb.runner.Runner` writes) holding
    every finished run of ``results``, renumbered from 0 in the order given, each with its
    own seed; the config is the common one, with ``seed`` replaced by ``seeds`` (one per
    merged run). Refuses results of different settings, of another metric, or with a seed
    twice."""
    if not results:
        raise ValueError('no results given; pass the results.json of at least one benchmark')
    configs = [{k: v for k, v in r['config'].items() if k not in ('seed', 'seeds')}
               for r in results]
    for i, config in enumerate(configs[1:], 1):
        if config != configs[0]:
            diff = sorted(k for k in set(config) | set(configs[0])
                          if config.get(k) != configs[0].get(k))
            raise ValueError(f'results 0 and {i} have different settings (they differ in '
                             f'{diff}); only runs of the same benchmark can be merged')
    merged, seeds = None, []
    for i, result in enumerate(results):
        logger = Logger('')
        logger.load_state_dict(result['logger'])
        if merged is None:
            merged = Logger(logger.metric, logger.higher_is_better)
        elif (logger.metric, logger.higher_is_better) != (merged.metric,
                                                          merged.higher_is_better):
            raise ValueError(f'result {i} reports {logger.metric!r}, result 0 '
                             f'{merged.metric!r}')
        seed_of = {row['run']: row['seed'] for row in result['runs']}
        for run in sorted(logger.finished):
            seed = seed_of.get(run, result['config'].get('seed', 0) + run)
            if seed in seeds:
                raise ValueError(f'seed {seed} appears twice (result {i}); each run of a '
                                 f'merged benchmark needs its own seed')
            new = len(seeds)
            seeds.append(seed)
            merged.curves[new] = [dict(row) for row in logger.curves[run]]
            merged.finish_run(new)
    config = dict(configs[0], seeds=seeds)
    runs: List[Dict[str, Any]] = [{'run': run, 'seed': seeds[run], **merged.best(run)}
                                  for run in sorted(merged.finished)]
    return {'config': config, 'summary': merged.summary(), 'runs': runs,
            'logger': merged.state_dict()}


HELP = ('merge the results.json of OGB benchmarks of the same settings run with different '
        'seeds into one (mean ± std over all runs)')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('results', nargs='+', help='results.json files of the same settings')
    parser.add_argument('--out', required=True, help='where to write the merged JSON')


def run(args: argparse.Namespace) -> int:
    results = []
    for path in args.results:
        with open(path) as f:
            results.append(json.load(f))
    merged = merge_results(results)
    with open(args.out, 'w') as f:
        json.dump(merged, f, indent=1)
    s = merged['summary']
    print(f"{s['metric']} over {s['runs']} run(s) (seeds {merged['config']['seeds']}): "
          f"valid {s['valid_text']}, test {s['test_text']}; written to {args.out}")
    return 0
