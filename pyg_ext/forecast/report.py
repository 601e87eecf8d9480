r"""The results of a forecasting run: metrics at chosen horizons, the table, ``metrics.json``.

``metrics.json`` (written by ``pyg-ext forecast`` into ``--out``) holds:

- ``dataset``, ``models`` (the models asked for with ``--model``), ``num_nodes``,
  ``num_edges``, ``graph`` (the file name of ``--adjacency`` / ``--edge-list``, ``null`` for
  a dataset's own graph), ``num_steps``,
  ``step_minutes`` (``null`` without timestamps), ``input_steps``, ``horizon``, ``split``
  (train/val/test fractions, chronological), ``windows`` (``train``/``val``/``test``
  counts), ``time_features``, ``target_feature``, ``loss`` (the training loss of every
  trained model, e.g. ``{"stgcn": "masked MSE on the original scale"}``), ``seed``,
  ``world_size``,
  ``device``, ``horizons`` (the steps reported, e.g. ``[3, 6, 12]``);
- ``test``: for every evaluated model (the models, ``gru_baseline``,
  ``historical_average`` = the time-of-day average, ``historical_average_window`` = the
  input-window average), ``horizon_<h>`` for each reported step ``h`` with ``step``,
  ``minutes`` (``null`` without timestamps), ``mae``, ``rmse``, ``mape``, ``overall``
  (all steps pooled) with ``mae``, ``rmse``, ``mape``, and ``per_step`` with ``mae``,
  ``rmse``, ``mape`` each a list over the steps ``1..horizon``. Errors are on the original
  scale with missing targets skipped; ``mape`` is a fraction (x100 for percent);
- ``training``: for every trained model, ``epochs_run``, ``best_epoch``,
  ``best_val_mae``, ``stopped_early``, ``resumed_from``, ``train_seconds``,
  ``num_parameters`` and ``history`` (``train_loss``, ``val_mae``, ``seconds`` per epoch);
- ``beats_baselines``: ``<model> -> horizon_<h> -> {mae, rmse, mape}``, whether the model's
  error is below that of every baseline (``gru_baseline``, ``historical_average``,
  ``historical_average_window``) that was evaluated; empty without baselines;
- ``files``: the PNGs written (``learning_curves``, ``predictions``, ``horizon_errors``).
"""
import json
import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from pyg_ext.forecast.horizon_metrics import HorizonMetrics

METRICS = ('mae', 'rmse', 'mape')


def report_horizons(horizon: int, wanted: Sequence[int] = (3, 6, 12)) -> List[int]:
    r"""The steps to report: those of :obj:`wanted` within :obj:`horizon`, and the horizon."""
    return sorted({h for h in wanted if h <= horizon} | {horizon})


def _clean(value: float) -> Optional[float]:
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def horizon_results(metrics: HorizonMetrics, horizons: Sequence[int],
                    step_minutes: Optional[float]) -> Dict[str, Dict[str, Any]]:
    r"""``{'horizon_<h>': {step, minutes, mae, rmse, mape}, 'overall': {mae, rmse, mape},
    'per_step': {mae, rmse, mape}}``, where each ``per_step`` entry lists the error of every
    forecast step ``1..horizon``."""
    values = metrics.compute()
    out: Dict[str, Dict[str, Any]] = {}
    for h in horizons:
        row: Dict[str, Any] = {'step': h, 'minutes': None if step_minutes is None
                               else h * step_minutes}
        row.update({m: _clean(values['per_step'][m][h - 1]) for m in METRICS})
        out[f'horizon_{h}'] = row
    out['overall'] = {m: _clean(values['overall'][m]) for m in METRICS}
    out['per_step'] = {m: [_clean(v) for v in values['per_step'][m]] for m in METRICS}
    return out


def beats_baselines(test: Dict[str, Dict[str, Any]], model: str, horizons: Sequence[int],
                    baselines: Optional[Sequence[str]] = None) -> Dict[str, Dict[str, bool]]:
    r"""Whether :obj:`model`'s error is below that of every one of :obj:`baselines` (default:
    every other entry of :obj:`test`), per reported horizon and metric."""
    others = [name for name in (test if baselines is None else baselines) if name != model]
    out = {}
    for h in horizons:
        key = f'horizon_{h}'
        out[key] = {m: all(test[model][key][m] is not None and test[o][key][m] is not None
                           and test[model][key][m] < test[o][key][m] for o in others)
                    for m in METRICS}
    return out


def format_table(test: Dict[str, Dict[str, Any]], horizons: Sequence[int],
                 title: str = '') -> str:
    r"""A plain-text table: one row per model, ``MAE / RMSE / MAPE`` at each horizon."""
    def cell(row: Dict[str, Any]) -> str:
        mae, rmse, mape = (row[m] for m in METRICS)
        fmt = '{:.3f}'.format
        return (f"{'n/a' if mae is None else fmt(mae)} / {'n/a' if rmse is None else fmt(rmse)}"
                f" / {'n/a' if mape is None else f'{100 * mape:.2f}%'}")
    first = next(iter(test.values()))
    heads = []
    for h in horizons:
        minutes = first[f'horizon_{h}']['minutes']
        heads.append(f'step {h}' + ('' if minutes is None else f' ({minutes:g} min)'))
    rows = [[name] + [cell(res[f'horizon_{h}']) for h in horizons] for name, res in test.items()]
    header = ['model'] + heads
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    line = lambda r: ' | '.join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    lines = [line(header), '-+-'.join('-' * w for w in widths)] + [line(r) for r in rows]
    if title:
        lines.insert(0, title)
    return '\n'.join(lines)


def write_metrics(results: Dict[str, Any], path: Path) -> Path:
    r"""Write :obj:`results` as indented JSON (``NaN`` written as ``null``)."""
    def sanitize(value):
        if isinstance(value, dict):
            return {k: sanitize(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [sanitize(v) for v in value]
        return _clean(value) if isinstance(value, float) else value
    path = Path(path)
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_text(json.dumps(sanitize(results), indent=2, allow_nan=False) + '\n')
    tmp.replace(path)
    return path
