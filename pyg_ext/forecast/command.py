r"""``pyg-ext forecast``: train a traffic forecaster and compare it with the baselines.

Reads top to bottom: arguments; data (loaded, split 70/10/20 in time, inputs standardised
with training statistics); the model and the GRU baseline trained with
:class:`~pyg_ext.forecast.trainer.Trainer` (resuming from ``--out`` when it holds their
checkpoints); the historical averages fitted; every model evaluated on the test split at
horizons 3, 6 and 12; the table printed; ``metrics.json`` and the PNGs written. Under
``torchrun --nproc_per_node=P`` the same command trains with DistributedDataParallel.

Dimensions: T - time steps, N - nodes, F - features, W - windows, T_out - horizon.
"""
import argparse
import math
import sys
from pathlib import Path
from typing import Any, Dict

import torch

from pyg_ext import distributed
from pyg_ext.data.covariates import time_of_day, time_slot
from pyg_ext.data.splits import forecasting_windows
from pyg_ext.data.standard_scaler import StandardScaler
from pyg_ext.data.window_dataset import WindowDataset
from pyg_ext.forecast.datasets import load_dataset
from pyg_ext.forecast.evaluation import evaluate_windows, loss_label
from pyg_ext.forecast.models import (
    build_model,
    model_class,
    parse_model_args,
    training_loss,
)
from pyg_ext.forecast.plots import plot_horizon_errors, plot_learning_curves, plot_predictions
from pyg_ext.forecast.report import (
    beats_baselines,
    format_table,
    horizon_results,
    report_horizons,
    write_metrics,
)
from pyg_ext.forecast.trainer import Trainer
from pyg_ext.nn.models.historical_average import HistoricalAverage

#: The entries of the comparison that ``beats_baselines`` measures every model against.
BASELINES = ('gru_baseline', 'historical_average', 'historical_average_window')


def run(args: argparse.Namespace) -> int:
    try:
        forecast(args)
    except (ValueError, FileNotFoundError) as error:
        print(f'pyg-ext forecast: error: {error}', file=sys.stderr)
        return 2
    return 0


def forecast(args: argparse.Namespace) -> Dict[str, Any]:
    r"""Run ``pyg-ext forecast`` with parsed :obj:`args`; returns the ``metrics.json``
    content (see :mod:`pyg_ext.forecast.report`)."""
    ctx = distributed.setup(args.device)
    try:
        metrics = _forecast(args, ctx)
        distributed.barrier()  # no rank leaves while another still talks to it
        return metrics
    finally:
        distributed.teardown(ctx)


def _prepare(args, series, device):
    if series.is_dynamic:
        raise ValueError(f'{series.name} has a different graph at every step; the forecast '
                         f'models take one static graph')
    if args.input_steps + args.horizon > series.num_steps:
        raise ValueError(f'a window needs --input-steps + --horizon = '
                         f'{args.input_steps + args.horizon} steps but {series.name} has only '
                         f'{series.num_steps}; shorten --input-steps or --horizon')
    tf = args.target_feature
    if tf is not None and not 0 <= tf < series.num_features:
        raise ValueError(f'--target-feature {tf} is not a feature of {series.name}, which has '
                         f'{series.num_features} (indices 0..{series.num_features - 1})')
    features = slice(None) if tf is None else slice(tf, tf + 1)
    time_features = args.time_features
    if time_features == 'auto':
        time_features = 'time_of_day' if series.timestamps is not None else 'none'
    series.to(device)
    (train, val, test), scaler = forecasting_windows(
        series, args.input_steps, args.horizon, tuple(args.split), scaler=StandardScaler(),
        add_time_covariates=time_features == 'calendar', target_features=features)
    if time_features == 'time_of_day':
        if series.timestamps is None:
            raise ValueError(f'{series.name} has no timestamps; use --time-features none')
        x = train.x  # [T, N, F]
        tod = time_of_day(series.timestamps).to(device)  # [T]
        x = torch.cat([x, tod[:, None, None].expand(-1, x.size(1), 1)], dim=-1)  # [T, N, F+1]
        train, val, test = (WindowDataset(x, d.y, d.mask, d.input_steps, d.horizon, d.stride,
                                          d.start, d.end) for d in (train, val, test))
    target_scaler = StandardScaler(scaler.dim)
    target_scaler.mean, target_scaler.std = scaler.mean[..., features], scaler.std[..., features]
    return (train, val, test), target_scaler, features, time_features


def _historical_averages(series, features, train, test, step_seconds):
    r"""``name -> predict(windows, x)`` of the historical averages, fitted on the train block."""
    raw, mask = series.series[..., features], series.mask[..., features]  # [T, N, F_out]
    lo, hi = train.start, train.end
    window = HistoricalAverage(test.horizon, mode='window').fit(raw[lo:hi], mask[lo:hi])
    out = {'historical_average_window': lambda w, x: window(
        raw[test.input_index(w)], x_mask=mask[test.input_index(w)])}
    if series.timestamps is not None and step_seconds and 86400 % step_seconds == 0:
        slots = time_slot(series.timestamps, 86400 // step_seconds).to(raw.device)  # [T]
        ha = HistoricalAverage(test.horizon, mode='slot', num_slots=86400 // step_seconds)
        ha.fit(raw[lo:hi], mask[lo:hi], slots[lo:hi])
        out = {'historical_average': lambda w, x: ha(x, slot=slots[test.target_index(w)]),
               **out}
    return out


def _plot_predictions(series, test, predict, features, horizons, path, stretch):
    windows = torch.arange(min(len(test), stretch))
    pred = predict(windows, test.get_batch(windows)[0])[..., 0]  # [W, T_out, N]
    targets = test.target_index(windows)  # [W, T_out]
    steps = torch.arange(int(targets.min()), int(targets.max()) + 1)
    truth = series.series[..., features][steps, :, 0]  # [L, N]
    truth = torch.where(series.mask[..., features][steps, :, 0], truth, float('nan'))
    sensors = truth.nan_to_num(0).std(0).topk(min(4, series.num_nodes)).indices  # [K]
    names = series.node_ids or [str(i) for i in range(series.num_nodes)]

    def when(idx):
        if series.timestamps is None:
            return idx.numpy()
        return series.timestamps.cpu()[idx].numpy().astype('datetime64[s]')
    forecasts = {f'{h} steps ahead': (when(targets[:, h - 1]),
                                      pred[:, h - 1][:, sensors].cpu().numpy())
                 for h in (horizons[0], horizons[-1])}
    plot_predictions((when(steps), truth[:, sensors].cpu().numpy()), forecasts,
                     [names[int(k)] for k in sensors], path, ylabel=series.name or 'value',
                     xlabel='time step' if series.timestamps is None else 'time')


def _forecast(args: argparse.Namespace, ctx: distributed.Context) -> Dict[str, Any]:
    log = print if ctx.is_main else (lambda *a, **k: None)
    series = load_dataset(args.dataset, args.root, args.series, args.adjacency,
                          args.edge_list, args.zero_is_missing)
    names = [n.strip().lower().replace('-', '_') for n in args.model.split(',') if n.strip()]
    if not names:
        raise ValueError("--model is empty; name a model, e.g. --model stgcn")
    for n in names:
        model_class(n)  # fail early on an unknown name
    model_args = parse_model_args(args.model_args)
    ts = series.timestamps
    step_seconds = int((ts[1:] - ts[:-1]).median()) if ts is not None and len(ts) > 1 else None
    step_minutes = None if step_seconds is None else step_seconds / 60
    (train, val, test), scaler, features, time_features = _prepare(args, series, ctx.device)
    out = Path(args.out)
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
    log(f'{series!r}: {len(train)} / {len(val)} / {len(test)} train / val / test windows, '
        f'{args.input_steps} -> {args.horizon} steps, device {ctx.device}, '
        f'{ctx.world_size} process(es)')

    horizons = report_horizons(args.horizon)
    trained = [n for n in dict.fromkeys(names) if n != 'historical_average']
    if args.baselines and 'gru_baseline' not in trained:
        trained.append('gru_baseline')
    graph_file = args.adjacency or args.edge_list
    graph_name = None if graph_file is None else Path(graph_file).name
    # a named dataset on another graph records it, so a resume on the wrong graph is refused
    # (only then: older checkpoints still resume)
    graph_config = {'graph': graph_name} if graph_name is not None and args.series is None else {}
    config = dict(dataset=series.name, input_steps=args.input_steps, horizon=args.horizon,
                  hidden=args.hidden, batch_size=args.batch_size, lr=args.lr,
                  lr_milestones=list(args.lr_milestones), lr_decay=args.lr_decay,
                  weight_decay=args.weight_decay, seed=args.seed, split=list(args.split),
                  time_features=time_features, target_feature=args.target_feature,
                  world_size=ctx.world_size, cl_decay_steps=args.cl_decay_steps,
                  **graph_config)
    # the input channels of the forecast features (DCRNN's go_input='last' reads them)
    target_channels = None if args.target_feature is None else [args.target_feature]
    batches_per_epoch = math.ceil(math.ceil(len(train) / ctx.world_size) / args.batch_size)
    test_metrics, training, predictors, losses = {}, {}, {}, {}
    for model_name in trained:
        loss = losses[model_name] = training_loss(model_name, args.loss)
        # only a weighted loss records its weight, so older checkpoints still resume
        loss_config = {'mse_weight': args.mse_weight} if loss == 'mae+mse' else {}
        own_args = model_args if model_name in names else {}  # not the added baseline
        model = build_model(model_name, train.x.size(-1), train.y.size(-1), args.hidden,
                            args.horizon, series.num_nodes, args.input_steps,
                            total_batches=args.epochs * batches_per_epoch,
                            cl_decay_steps=args.cl_decay_steps,
                            model_args=own_args, target_channels=target_channels)
        trainer = Trainer(model, train, val, series.edge_index, series.edge_weight, scaler,
                          epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                          lr_milestones=args.lr_milestones, lr_decay=args.lr_decay,
                          loss=loss, mse_weight=args.mse_weight,
                          weight_decay=args.weight_decay,
                          max_grad_norm=args.max_grad_norm,
                          patience=args.patience, seed=args.seed,
                          checkpoint=out / f'checkpoint_{model_name}.pt',
                          config=dict(config, model=model_name, loss=loss,
                                      model_args=own_args, **loss_config), name=model_name,
                          progress=args.progress, log=log)
        summary = trainer.fit(resume=args.resume)
        summary['train_seconds'] = sum(summary['history']['seconds'])
        summary['num_parameters'] = sum(p.numel() for p in model.parameters())
        training[model_name] = summary
        predictors[model_name] = trainer.predict
    if args.baselines or 'historical_average' in names:
        predictors.update(_historical_averages(series, features, train, test, step_seconds))
    for model_name, predict in predictors.items():
        metrics = evaluate_windows(predict, test, args.batch_size)
        test_metrics[model_name] = horizon_results(metrics, horizons, step_minutes)

    results: Dict[str, Any] = dict(
        dataset=series.name, models=names, num_nodes=series.num_nodes,
        num_edges=series.num_edges,
        graph=graph_name,
        num_steps=series.num_steps, step_minutes=step_minutes, input_steps=args.input_steps,
        horizon=args.horizon, split=list(args.split),
        windows=dict(train=len(train), val=len(val), test=len(test)),
        time_features=time_features, target_feature=args.target_feature,
        loss={name: f'masked {loss_label(loss, args.mse_weight)} on the original scale'
              for name, loss in losses.items()}, seed=args.seed, world_size=ctx.world_size,
        device=str(ctx.device), horizons=horizons, test=test_metrics, training=training)
    baselines = [n for n in test_metrics if n in BASELINES]
    results['beats_baselines'] = {n: beats_baselines(test_metrics, n, horizons, baselines)
                                  for n in names if n not in BASELINES and baselines}
    if ctx.is_main:
        log(format_table(test_metrics, horizons, title=f'\nTest on {series.name} (MAE / RMSE '
                         f'/ MAPE, original units, {args.input_steps} steps in):'))
        files = {}
        if training and args.plots:
            files['learning_curves'] = plot_learning_curves(
                {k: v['history'] for k, v in training.items()}, out / 'learning_curves.png',
                losses=losses)
        if args.plots:
            main = names[0] if names[0] in predictors else next(iter(predictors))
            stretch = 86400 // step_seconds if step_seconds else 288
            _plot_predictions(series, test, predictors[main], features, horizons,
                              out / 'predictions.png', stretch)
            files['predictions'] = out / 'predictions.png'
            files['horizon_errors'] = plot_horizon_errors(
                test_metrics, out / 'horizon_errors.png', step_minutes, baselines=BASELINES)
        results['files'] = {k: Path(v).name for k, v in files.items()}
        write_metrics(results, out / 'metrics.json')
        log('wrote ' + ', '.join(str(out / f) for f in
                                 ['metrics.json'] + list(results['files'].values())))
    return results

