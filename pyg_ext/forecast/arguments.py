r"""The arguments of ``pyg-ext forecast``. This module imports nothing heavy (no torch), so
that the ``pyg-ext`` command line starts fast; the names below are checked against the
registries of :mod:`pyg_ext.forecast.datasets` and :mod:`pyg_ext.forecast.models` by the
tests."""
import argparse

from pyg_ext.malloc import SYSTEM_MALLOC_HELP

HELP = 'train a traffic forecaster (default: built-in Los-loop) and compare with baselines'

#: The model trained when ``--model`` is not given, and the default number of epochs. STGCN
#: is the fastest of the strong models (on built-in Los-loop it beats the GRU baseline and
#: both historical averages in MAE and MAPE at 15, 30 and 60 minutes after 15 epochs; see
#: the README), 30 to 50 s per epoch on one core of a 2-core Xeon.
DEFAULT_MODEL = 'stgcn'
DEFAULT_EPOCHS = 15

#: The keys of :obj:`pyg_ext.forecast.datasets.DATASETS` and
#: :obj:`pyg_ext.forecast.models.MODELS`.
DATASET_NAMES = ('chickenpox', 'los_loop', 'metr_la', 'pedalme_london', 'pems03', 'pems04',
                 'pems07', 'pems08', 'pems_bay', 'sz_taxi')
MODEL_NAMES = ('a3tgcn', 'agcrn', 'astgcn', 'dcrnn', 'gconv_gru', 'gconv_lstm', 'gman',
               'graph_wave_net', 'gru_baseline', 'historical_average', 'st_transformer',
               'stgcn', 'tgcn')


def add_arguments(p: argparse.ArgumentParser) -> None:
    r"""Add the options of ``pyg-ext forecast`` to :obj:`p`."""
    data = p.add_argument_group('data')
    data.add_argument('--dataset', help=f"one of {', '.join(DATASET_NAMES)} (default: "
                      f"los_loop, shipped with pyg_ext)")
    data.add_argument('--root', help='folder holding the dataset files as published '
                      '(default: the built-in copy for los_loop, else the current folder)')
    data.add_argument('--series', help='your own series file [T, N] or [T, N, F] (.csv, '
                      '.npy, .npz, .h5)')
    data.add_argument('--adjacency',
                      help="its dense [N, N] adjacency (.csv or .npy) or DCRNN's sensor-graph "
                           "pickle (.pkl, sensors matched by id); with --dataset, a graph "
                           "in place of the dataset's own, e.g. --dataset los_loop "
                           "--adjacency adj_mx.pkl (DCRNN's directed METR-LA graph of the "
                           "same sensors)")
    data.add_argument('--edge-list',
                      help="or its 'from,to[,weight]' edge list (.csv), also with --dataset")
    data.add_argument('--zero-is-missing', action='store_true',
                      help='treat zeros of --series as missing values')
    data.add_argument('--target-feature', type=int,
                      help='forecast only this feature index (default: all features)')
    data.add_argument('--time-features', choices=('auto', 'none', 'time_of_day', 'calendar'),
                      default='auto', help='calendar inputs appended to every node: the time '
                      'of day, or time of day and one-hot day of week (default: auto = time '
                      'of day when the data has timestamps)')
    data.add_argument('--split', type=float, nargs=3, default=(0.7, 0.1, 0.2),
                      metavar=('TRAIN', 'VAL', 'TEST'),
                      help='chronological split fractions (default: 0.7 0.1 0.2)')
    model = p.add_argument_group('model and training')
    model.add_argument('--model', default=DEFAULT_MODEL,
                       help=f"one of {', '.join(MODEL_NAMES)}, or several separated by commas, "
                       f"trained one after the other and compared in one table (default: "
                       f"{DEFAULT_MODEL})")
    model.add_argument('--model-args', nargs='+', default=[], metavar='KEY=VALUE',
                       help="further constructor arguments of the --model models (not of "
                       "the added baseline), values as Python literals, e.g. K=3 or STGCN's "
                       "authors' options graph_residual=True node_affine=True "
                       "gated_shortcut=True")
    model.add_argument('--horizon', type=int, default=12,
                       help='steps to forecast (default: 12)')
    model.add_argument('--input-steps', type=int, default=12,
                       help='steps read by the model (default: 12)')
    model.add_argument('--hidden', type=int, help="hidden channels (default: the model's "
                       "own default, e.g. 32 for graph_wave_net as in its paper, else 64)")
    model.add_argument('--epochs', type=int, default=DEFAULT_EPOCHS,
                       help=f'maximum epochs (default: {DEFAULT_EPOCHS})')
    model.add_argument('--batch-size', type=int, default=64,
                       help='windows per batch and process (default: 64)')
    model.add_argument('--lr', type=float, default=0.01, help="Adam's learning rate "
                       "(default: 0.01)")
    model.add_argument('--lr-milestones', type=int, nargs='+', default=[], metavar='EPOCH',
                       help='multiply the learning rate by --lr-decay after each of these '
                       'epochs, e.g. DCRNN\'s 20 30 40 50 (default: a constant rate)')
    model.add_argument('--lr-decay', type=float, default=0.1,
                       help='the factor applied at each --lr-milestones epoch (default: 0.1)')
    model.add_argument('--loss', choices=('mae', 'mse', 'mae+mse', 'auto'), default='mae',
                       help="training loss, masked and on the original scale: mae, mse, "
                       "mae+mse (the MAE plus --mse-weight times the squared error), or "
                       "auto = each paper's (mse for stgcn, tgcn and a3tgcn, whose papers "
                       "train with an L2 loss; mae for the others) (default: mae, which "
                       "gave the better STGCN on Los-loop in 15 epochs)")
    # evaluation.DEFAULT_MSE_WEIGHT, written out: this module must not import torch
    model.add_argument('--mse-weight', type=float, default=0.05,
                       help="weight w of the squared error in --loss mae+mse: an error of "
                       "1/(2w) units counts twice what it does under the MAE (default: 0.05)")
    model.add_argument('--weight-decay', type=float, default=0.0,
                       help="Adam's weight decay (default: 0)")
    model.add_argument('--max-grad-norm', type=float, default=5.0,
                       help='gradient clipping norm (default: 5)')
    model.add_argument('--patience', type=int, default=5, help='epochs without validation '
                       'improvement before stopping (default: 5)')
    model.add_argument('--cl-decay-steps', type=float, help="scheduled sampling's decay "
                       "constant k for models that decode their own forecasts (DCRNN) "
                       "(default: the k whose feeding probability falls to 1/2 after 40%% of "
                       "the run's batches, as DCRNN's k = 2000 on METR-LA)")
    model.add_argument('--seed', type=int, default=0, help='seed (default: 0)')
    model.add_argument('--no-baselines', dest='baselines', action='store_false',
                       help='skip the GRU baseline and the historical averages')
    run = p.add_argument_group('run')
    run.add_argument('--device', default='auto',
                     help='cpu, cuda, cuda:1, ... (default: auto = cuda if available)')
    run.add_argument('--out', default='forecast_run',
                     help='output folder (default: forecast_run)')
    run.add_argument('--resume', action=argparse.BooleanOptionalAction, default=True,
                     help='continue from the checkpoints in --out when it holds some '
                     '(default: on)')
    run.add_argument('--no-progress', dest='progress', action='store_false',
                     help='no progress bars')
    run.add_argument('--no-plots', dest='plots', action='store_false',
                     help='write no PNG figures')
    run.add_argument('--system-malloc', action='store_true', help=SYSTEM_MALLOC_HELP)


def run(args: argparse.Namespace) -> int:
    r"""Run ``pyg-ext forecast`` (imports torch and the models only now)."""
    from pyg_ext.forecast.command import run as run_forecast
    return run_forecast(args)
