"""Test MAE and RMSE of every forecast step of finished `pyg-ext forecast` runs.

Runs made before `metrics.json` held `test.<model>.per_step` still have their checkpoints:
this rebuilds each run's test windows from the settings stored in its checkpoint (dataset,
windows, split, time features), loads the weights of the best validation epoch and
evaluates them as the command does. One row per checkpoint:

    python benchmarks/forecast/per_step_errors.py runs/dcrnn_lr1e3_gb_s4 runs/gru75_s4
    python benchmarks/forecast/per_step_errors.py runs/dcrnn_metrla_s1 \\
        --adjacency ../shared/data/traffic/metr_la_pems_bay_graph/adj_mx.pkl

`--first-step-by-level 40 55` adds the first step's mean signed error and MAE grouped by
the last observed value (below 40, 40 to 55, above 55). A run on another graph
(`--adjacency` / `--edge-list` with a named dataset) needs the same file again. Runs on
`--series` files are not supported (their checkpoints name the file's stem, not its path).
"""
import argparse
import math
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, List, Sequence, Tuple

import torch

from pyg_ext.forecast.command import _prepare
from pyg_ext.forecast.datasets import load_dataset
from pyg_ext.forecast.evaluation import evaluate_windows
from pyg_ext.forecast.models import build_model


def load_run(checkpoint: Path, root, adjacency, edge_list) -> SimpleNamespace:
    r"""A checkpoint's best weights with the run's test windows: ``config``, ``test``
    (:class:`~pyg_ext.data.WindowDataset`), ``predict(windows, x)`` (original-scale
    forecasts ``[B, T_out, N, F_out]``), ``scaler`` (of the forecast features) and
    ``channels`` (their input channels)."""
    state = torch.load(checkpoint, map_location='cpu', weights_only=False)
    config = state['config']
    graph = adjacency or edge_list
    if config.get('graph') != (None if graph is None else Path(graph).name):
        raise SystemExit(f"{checkpoint} was trained on the graph {config.get('graph')!r} "
                         f"(None: the dataset's own); pass that file with --adjacency or "
                         f"--edge-list, or leave both out")
    series = load_dataset(config['dataset'], root, adjacency=adjacency, edge_list=edge_list)
    args = argparse.Namespace(**{k: config[k] for k in ('input_steps', 'horizon', 'split',
                                                         'target_feature', 'time_features')})
    (train, _, test), scaler, _, _ = _prepare(args, series, torch.device('cpu'))
    tf = config['target_feature']
    channels = list(range(train.y.size(-1))) if tf is None else [tf]
    model = build_model(config['model'], train.x.size(-1), train.y.size(-1), config['hidden'],
                        config['horizon'], series.num_nodes, config['input_steps'],
                        total_batches=1, cl_decay_steps=config.get('cl_decay_steps') or 1,
                        model_args=config.get('model_args', {}),
                        target_channels=None if tf is None else channels)
    model.load_state_dict(state['best_state'])
    model.eval()

    def predict(windows, x):
        with torch.no_grad():
            out = model(x, series.edge_index, series.edge_weight)  # [B, T_out, N, F_out]
        return scaler.inverse_transform(out)
    return SimpleNamespace(config=config, test=test, predict=predict, scaler=scaler,
                           channels=channels)


def per_step(run: SimpleNamespace, batch_size: int) -> Dict[str, List[float]]:
    r"""``{'mae': [T_out], 'rmse': [T_out]}``: the test error of each forecast step."""
    values = evaluate_windows(run.predict, run.test, batch_size).compute()['per_step']
    return {m: values[m].tolist() for m in ('mae', 'rmse')}


def first_step_by_level(run: SimpleNamespace, edges: Sequence[float], batch_size: int
                        ) -> List[Tuple[float, float, int, float, float]]:
    r"""The first forecast step's errors grouped by the last observed value (e.g. speeds
    below 40 mph: congestion): ``(low, high, count, mean signed error, MAE)`` per group
    ``[low, high)`` between the :obj:`edges` (and below the first, above the last)."""
    bounds = [-math.inf, *edges, math.inf]
    sums = torch.zeros(len(bounds) - 1, 3, dtype=torch.float64)  # count, error, |error|
    for windows in torch.arange(len(run.test)).split(batch_size):
        x, y, mask = run.test.get_batch(windows)
        error = (run.predict(windows, x) - y)[:, 0]  # [B, N, F_out]
        last = run.scaler.inverse_transform(x[:, -1, :, run.channels])  # [B, N, F_out]
        for i, (low, high) in enumerate(zip(bounds[:-1], bounds[1:])):
            keep = mask[:, 0] & (last >= low) & (last < high)
            e = error[keep].double()
            sums[i] += torch.stack([e.new_tensor(e.numel()), e.sum(), e.abs().sum()])
    return [(low, high, int(n), float(err / n) if n else math.nan,
             float(abs_err / n) if n else math.nan)
            for (low, high), (n, err, abs_err) in zip(zip(bounds[:-1], bounds[1:]), sums)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('runs', nargs='+', help='--out folders of pyg-ext forecast runs')
    parser.add_argument('--root', help="the dataset's folder, as for pyg-ext forecast")
    parser.add_argument('--adjacency', help='the graph file the runs were trained on')
    parser.add_argument('--edge-list', help='or the edge list they were trained on')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--first-step-by-level', type=float, nargs='+', metavar='EDGE',
                        help="also the first step's mean signed error and MAE grouped by the "
                             "last observed value, e.g. 40 55 (congested, slowing, free flow)")
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"$ python {' '.join(sys.argv)}\n# torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; test error of each forecast step 1..horizon")
    for run in args.runs:
        checkpoints = sorted(Path(run).glob('checkpoint_*.pt'))
        if not checkpoints:
            raise SystemExit(f"{run} holds no checkpoint_<model>.pt")
        for checkpoint in checkpoints:
            loaded = load_run(checkpoint, args.root, args.adjacency, args.edge_list)
            config = loaded.config
            label = f"{Path(run).name}/{config['model']} (seed {config['seed']})"
            for metric, values in per_step(loaded, args.batch_size).items():
                print(f"{label:44s} {metric:4s} " + ' '.join(f'{v:.3f}' for v in values))
            if args.first_step_by_level:
                groups = first_step_by_level(loaded, args.first_step_by_level,
                                             args.batch_size)
                print(f"{label:44s} step 1 by last value: " + ' | '.join(
                    f'[{low:g}, {high:g}) n={n} bias {bias:+.3f} MAE {mae:.3f}'
                    for low, high, n, bias, mae in groups))


if __name__ == '__main__':
    main()
