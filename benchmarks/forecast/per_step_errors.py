"""Test MAE and RMSE of every forecast step of finished `pyg-ext forecast` runs.

Runs made before `metrics.json` held `test.<model>.per_step` still have their checkpoints:
this rebuilds each run's test windows from the settings stored in its checkpoint (dataset,
windows, split, time features), loads the weights of the best validation epoch and
evaluates them as the command does. One row per checkpoint:

    python benchmarks/forecast/per_step_errors.py runs/dcrnn_lr1e3_gb_s4 runs/gru75_s4
    python benchmarks/forecast/per_step_errors.py runs/dcrnn_metrla_s4 \\
        --adjacency ../shared/data/traffic/metr_la_pems_bay_graph/adj_mx.pkl

A run on another graph (`--adjacency` / `--edge-list` with a named dataset) needs the same
file again. Runs on `--series` files are not supported (their checkpoints name the file's
stem, not its path).
"""
import argparse
import sys
from pathlib import Path

import torch

from pyg_ext.forecast.command import _prepare
from pyg_ext.forecast.datasets import load_dataset
from pyg_ext.forecast.evaluation import evaluate_windows
from pyg_ext.forecast.models import build_model


def per_step(checkpoint: Path, root, adjacency, edge_list, batch_size: int):
    r"""``(config, {'mae': [T_out], 'rmse': [T_out]})`` of one checkpoint's best weights."""
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
    model = build_model(config['model'], train.x.size(-1), train.y.size(-1), config['hidden'],
                        config['horizon'], series.num_nodes, config['input_steps'],
                        total_batches=1, cl_decay_steps=config.get('cl_decay_steps') or 1,
                        model_args=config.get('model_args', {}),
                        target_channels=None if config['target_feature'] is None
                        else [config['target_feature']])
    model.load_state_dict(state['best_state'])
    model.eval()

    def predict(windows, x):
        with torch.no_grad():
            out = model(x, series.edge_index, series.edge_weight)  # [B, T_out, N, F_out]
        return scaler.inverse_transform(out)
    values = evaluate_windows(predict, test, batch_size).compute()['per_step']
    return config, {m: values[m].tolist() for m in ('mae', 'rmse')}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('runs', nargs='+', help='--out folders of pyg-ext forecast runs')
    parser.add_argument('--root', help="the dataset's folder, as for pyg-ext forecast")
    parser.add_argument('--adjacency', help='the graph file the runs were trained on')
    parser.add_argument('--edge-list', help='or the edge list they were trained on')
    parser.add_argument('--batch-size', type=int, default=64)
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"$ python {' '.join(sys.argv)}\n# torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; test error of each forecast step 1..horizon")
    for run in args.runs:
        checkpoints = sorted(Path(run).glob('checkpoint_*.pt'))
        if not checkpoints:
            raise SystemExit(f"{run} holds no checkpoint_<model>.pt")
        for checkpoint in checkpoints:
            config, errors = per_step(checkpoint, args.root, args.adjacency, args.edge_list,
                                      args.batch_size)
            label = f"{Path(run).name}/{config['model']} (seed {config['seed']})"
            for metric, values in errors.items():
                print(f"{label:44s} {metric:4s} " + ' '.join(f'{v:.3f}' for v in values))


if __name__ == '__main__':
    main()
