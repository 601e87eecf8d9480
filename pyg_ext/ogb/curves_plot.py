r"""A PNG of an OGB benchmark's learning curves, drawn from its results JSON: the validation
and test score of every run at every evaluated epoch, the training loss, the epoch each run
selects (its best validation score), and the mean ± std over runs beside an optional
reference such as the leaderboard's.

Ten runs' curves as lists of numbers are hard to read; on ogbl-ddi, for instance, the test
score at the selected epoch can sit far from the test scores around it, which a plot shows
at a glance.

    pyg-ext ogb-plot runs/ogb/ogbl-ddi/gcn/results.json --out ddi_gcn.png \
        --reference 0.3707 0.0507
"""
import argparse
import json
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple, Union

from pyg_ext.ogb.logger import Logger
from pyg_ext.utils.agg_figure import agg_figure

PathLike = Union[str, Path]


def _run_label(run: int, seeds: Dict[int, int], finished: Sequence[int]) -> str:
    label = f'run {run}' if run not in seeds else f'seed {seeds[run]}'
    return label if run in finished else f'{label} (unfinished)'


def draw_results(results: Dict[str, Any], reference: Optional[Tuple[float, float]] = None,
                 reference_label: str = 'leaderboard'):
    r"""The figure of :func:`plot_results` (a matplotlib ``Figure``), not yet saved."""
    logger = Logger('')
    logger.load_state_dict(results['logger'])
    runs = sorted(logger.curves)
    if not runs:
        raise ValueError('the results hold no evaluated epoch; nothing to plot')
    seeds = {row['run']: row['seed'] for row in results.get('runs', []) if 'seed' in row}
    with_loss = any('loss' in row for run in runs for row in logger.curves[run])
    fig, axes = agg_figure(1, 3 if with_loss else 2, 5.0, 3.6)
    ax_valid, ax_test = axes[0, 0], axes[0, 1]
    metric = logger.metric
    for i, run in enumerate(runs):
        curve = logger.curves[run]
        color = f'C{i % 10}'
        epochs = [row['epoch'] for row in curve]
        label = _run_label(run, seeds, logger.finished)
        ax_valid.plot(epochs, [row['valid'] for row in curve], color=color, linewidth=1.0,
                      label=label)
        ax_test.plot(epochs, [row['test'] for row in curve], color=color, linewidth=1.0,
                     label=f'_{label}')  # runs named once, in the validation legend
        if with_loss:
            axes[0, 2].plot(epochs, [row.get('loss', float('nan')) for row in curve],
                            color=color, linewidth=1.0, label=f'_{label}')
        if run in logger.finished:
            best = logger.best(run)
            ax_valid.plot([best['epoch']], [best['valid']], 'o', color=color)
            ax_test.plot([best['epoch']], [best['test']], 'o', color=color)
    summary = logger.summary()
    if summary['runs']:
        mean, std = summary['test']['mean'], summary['test']['std']
        text = (f"{summary['test_text']} ({summary['runs']} runs)" if std is not None
                else f'{mean:.4f} (1 run)')
        ax_test.axhline(mean, color='black', linestyle='--', linewidth=1.2,
                        label=f'selected: {text}')
        if std is not None:
            ax_test.axhspan(mean - std, mean + std, color='black', alpha=0.08)
    if reference is not None:
        ref_mean, ref_std = reference
        ax_test.axhline(ref_mean, color='tab:red', linestyle=':', linewidth=1.5,
                        label=f'{reference_label}: {ref_mean:.4f} ± {ref_std:.4f}')
        ax_test.axhspan(ref_mean - ref_std, ref_mean + ref_std, color='tab:red', alpha=0.08)
    ax_valid.set_title(f'validation {metric} (dot: selected epoch)')
    ax_test.set_title(f'test {metric} (dot: at the selected epoch)')
    panels = [(ax_valid, metric), (ax_test, metric)]
    if with_loss:
        axes[0, 2].set_title('training loss')
        panels.append((axes[0, 2], 'loss'))
    for ax, ylabel in panels:
        ax.set_xlabel('epoch')
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    ax_valid.legend(fontsize='small')
    if summary['runs'] or reference is not None:
        ax_test.legend(fontsize='small')
    config = results.get('config', {})
    title = ' '.join(str(config[k]) for k in ('dataset', 'model') if k in config)
    if title:
        fig.suptitle(title)
        fig.subplots_adjust(top=1 - 0.75 / 3.6)  # room for it above the panel titles
    return fig


def plot_results(results: Dict[str, Any], path: PathLike,
                 reference: Optional[Tuple[float, float]] = None,
                 reference_label: str = 'leaderboard') -> Path:
    r"""Draw a benchmark's learning curves to a PNG: validation score, test score and (when
    recorded) training loss per evaluated epoch, one line per run, a dot at each run's
    selected epoch, and on the test panel the mean ± std of the selected test scores (dashed
    line and grey band) beside ``reference`` (dotted red line and band).

    Args:
        results (dict): what :class:`~pyg_ext.ogb.runner.Runner` writes to ``results.json``
            (or ``pyg-ext ogb-merge`` to its output).
        path (str or Path): The PNG to write.
        reference (tuple, optional): ``(mean, std)`` to draw beside ours, e.g. the
            leaderboard's test score. (default: :obj:`None`)
        reference_label (str, optional): Its legend label. (default: ``'leaderboard'``)
    """
    fig = draw_results(results, reference, reference_label)
    path = Path(path)
    fig.savefig(path, dpi=100, format='png')
    return path


HELP = ('draw the learning curves of an OGB benchmark (its results.json, or a merged one) to '
        'a PNG')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('results', help='results.json of a benchmark (or of pyg-ext ogb-merge)')
    parser.add_argument('--out', required=True, help='the PNG to write')
    parser.add_argument('--reference', type=float, nargs=2, metavar=('MEAN', 'STD'),
                        help="a test score to draw beside ours, e.g. the leaderboard's")
    parser.add_argument('--reference-label', default='leaderboard',
                        help="its legend label (default: 'leaderboard')")


def run(args: argparse.Namespace) -> int:
    with open(args.results) as f:
        results = json.load(f)
    reference = tuple(args.reference) if args.reference else None
    path = plot_results(results, args.out, reference, args.reference_label)
    print(f'learning curves of {args.results} drawn to {path}')
    return 0
