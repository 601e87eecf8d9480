r"""Learning curves per run, model selection on validation, and the leaderboard's summary."""
import math
from typing import Any, Dict, List, Optional


def _mean_std(values: List[float]) -> Dict[str, Optional[float]]:
    # The OGB examples' Logger reports torch.std, the unbiased (n - 1) estimate.
    n = len(values)
    if n == 0:
        return {'mean': None, 'std': None}
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
    return {'mean': mean, 'std': std}


def format_mean_std(stats: Dict[str, Optional[float]]) -> str:
    r"""``'0.3707 ± 0.0507'``, as on the OGB leaderboards (``± n/a`` for a single run)."""
    if stats['mean'] is None:
        return 'n/a'
    std = 'n/a' if stats['std'] is None else f"{stats['std']:.4f}"
    return f"{stats['mean']:.4f} ± {std}"


class Logger:
    r"""Records each run's learning curve and selects, per run, the epoch with the best
    validation score (the first one on ties), as the OGB examples' ``Logger`` does. The
    leaderboard reports the test score at that epoch, as mean ± std over runs.

    Args:
        metric (str): the evaluator's metric key, e.g. ``'rocauc'`` or ``'hits@20'``.
        higher_is_better (bool, optional): :obj:`False` for errors such as ``'rmse'``.
            (default: :obj:`True`)
    """
    def __init__(self, metric: str, higher_is_better: bool = True):
        self.metric = metric
        self.higher_is_better = higher_is_better
        self.curves: Dict[int, List[Dict[str, float]]] = {}
        self.finished: List[int] = []

    def add_result(self, run: int, epoch: int, valid: float, test: float,
                   **extra: float) -> None:
        r"""Record the scores of ``run`` after ``epoch`` (``extra``: e.g. ``loss``, ``train``)."""
        row = {'epoch': epoch, 'valid': float(valid), 'test': float(test)}
        row.update({key: float(value) for key, value in extra.items()})
        self.curves.setdefault(run, []).append(row)

    def finish_run(self, run: int) -> None:
        if run not in self.finished:
            self.finished.append(run)

    def best(self, run: int) -> Dict[str, float]:
        r"""The row of ``run``'s curve with the best validation score."""
        curve = self.curves.get(run, [])
        if not curve:
            raise ValueError(f'run {run} has no evaluated epoch yet; evaluate at least once '
                             f'(is --eval-steps larger than --epochs?)')
        sign = 1.0 if self.higher_is_better else -1.0
        best = curve[0]
        for row in curve[1:]:
            if sign * row['valid'] > sign * best['valid']:
                best = row
        return best

    def summary(self) -> Dict[str, Any]:
        r"""Mean and std over finished runs of the best-validation row's scores."""
        rows = [self.best(run) for run in sorted(self.finished)]
        valid = _mean_std([row['valid'] for row in rows])
        test = _mean_std([row['test'] for row in rows])
        return {'metric': self.metric, 'runs': len(rows), 'valid': valid, 'test': test,
                'valid_text': format_mean_std(valid), 'test_text': format_mean_std(test)}

    def format(self, run: Optional[int] = None) -> str:
        r"""One run's selected scores, or the summary over finished runs."""
        if run is not None:
            best = self.best(run)
            return (f"Run {run:02d}: best valid {self.metric} {best['valid']:.4f} at epoch "
                    f"{best['epoch']}, test {best['test']:.4f}")
        s = self.summary()
        return (f"{self.metric} over {s['runs']} run(s): valid {s['valid_text']}, "
                f"test {s['test_text']}")

    def state_dict(self) -> Dict[str, Any]:
        return {'metric': self.metric, 'higher_is_better': self.higher_is_better,
                'curves': {str(run): curve for run, curve in self.curves.items()},
                'finished': list(self.finished)}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.metric = state['metric']
        self.higher_is_better = state['higher_is_better']
        self.curves = {int(run): [dict(row) for row in curve]
                       for run, curve in state['curves'].items()}
        self.finished = [int(run) for run in state['finished']]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.metric!r}, '
                f'higher_is_better={self.higher_is_better})')
