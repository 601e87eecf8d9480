r"""``pyg-ext ogb DATASET --model NAME --root DIR ...``: the OGB benchmarks from the command
line. The dataset's prefix picks the task (``ogbg-`` graph, ``ogbn-`` node, ``ogbl-`` link
property prediction); the options are those of the scripts in ``benchmarks/ogb``."""
import argparse
import importlib

from pyg_ext.ogb import options
from pyg_ext.ogb.datasets import task_of

HELP = 'run an OGB benchmark (ogbg-*, ogbn-*, ogbl-*) with the official protocol'

_MODULES = {'graphproppred': 'pyg_ext.ogb.graph_property',
            'nodeproppred': 'pyg_ext.ogb.node_property',
            'linkproppred': 'pyg_ext.ogb.link_property'}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    module = importlib.import_module(_MODULES[task_of(args.dataset)])
    results = module.run(args)
    if getattr(module, 'is_main_process', lambda: True)():
        summary = results['summary']
        print(f"{args.dataset} {args.model}: test {summary['test_text']} (valid "
              f"{summary['valid_text']}, {summary['metric']}, {summary['runs']} run(s)); "
              f"results in {args.out}/results.json")
    return 0
