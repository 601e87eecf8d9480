"""The ``pyg-ext`` command line.

Each subcommand lives in its own module and registers itself in ``COMMANDS``: a name maps
to ``(add_arguments, run)``. The program (:func:`console_main`: the ``pyg-ext`` script and
``python -m pyg_ext.cli``) first keeps freed memory for reuse
(:func:`~pyg_ext.malloc.keep_freed_memory`) for the commands that train, unless given
``--system-malloc``; :func:`main`, called from Python, leaves the process alone.
"""
import argparse
import sys
from typing import Callable, Dict, List, Optional, Tuple

import pyg_ext
from pyg_ext.catalogue import format_catalogue
from pyg_ext.forecast import arguments as forecast_arguments
from pyg_ext.malloc import apply_malloc_option
from pyg_ext.ogb import command as ogb_command
from pyg_ext.ogb import curves_plot as ogb_plot
from pyg_ext.ogb import merge_results as ogb_merge


def _add_catalogue(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--markdown', action='store_true',
                        help='print the table in Markdown (as in the README)')


def _run_catalogue(args: argparse.Namespace) -> int:
    print(format_catalogue(markdown=args.markdown))
    return 0


COMMANDS: Dict[str, Tuple[str, Callable, Callable]] = {
    'catalogue': ('print the module catalogue: module, paper, where it lives',
                  _add_catalogue, _run_catalogue),
    'forecast': (forecast_arguments.HELP, forecast_arguments.add_arguments,
                 forecast_arguments.run),
    'ogb': (ogb_command.HELP, ogb_command.add_arguments, ogb_command.run),
    'ogb-merge': (ogb_merge.HELP, ogb_merge.add_arguments, ogb_merge.run),
    'ogb-plot': (ogb_plot.HELP, ogb_plot.add_arguments, ogb_plot.run),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='pyg-ext',
        description='pyg_ext: sequence and attention building blocks for PyTorch Geometric.')
    parser.add_argument('--version', action='version', version=f'pyg-ext {pyg_ext.__version__}')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Optional[List[str]] = None, process: bool = False) -> int:
    r"""Run the command of ``argv`` (default: the command line's arguments). With
    :obj:`process=True` (the program itself) a command with ``--system-malloc`` among its
    options first calls :func:`~pyg_ext.malloc.keep_freed_memory` unless it is given.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if process:
        apply_malloc_option(args)
    return COMMANDS[args.command][2](args)


def console_main() -> int:
    r"""The ``pyg-ext`` program."""
    return main(process=True)


if __name__ == '__main__':  # pragma: no cover
    sys.exit(console_main())
