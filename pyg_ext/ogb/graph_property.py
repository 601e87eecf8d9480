r"""Graph property prediction (``ogbg-*``), following OGB's ``examples/graphproppred/mol``:
Adam (lr 1e-3), batches of 32 molecules, BCE with logits on labelled tasks (MSE for
regression), selection of the epoch with the best validation score, ``ogb``'s ``Evaluator``.

Dimensions: B graphs in a batch, T tasks.
"""
import argparse
from typing import Any, Dict

import torch
from torch_geometric.loader import DataLoader

from pyg_ext.ogb.datasets import load_dataset, load_split, make_evaluator
from pyg_ext.ogb.logger import Logger
from pyg_ext.ogb.options import load_meta_dict, resolve
from pyg_ext.ogb.registry import GRAPH_MODELS, build_model
from pyg_ext.ogb.runner import Runner

#: OGB's molecule example (``main_pyg.py``) and its leaderboard protocol (10 runs).
DEFAULTS: Dict[str, Any] = dict(model='gin-virtual', num_layers=5, hidden=300, dropout=0.5,
                                batch_size=32, lr=1e-3, epochs=100, runs=10, eval_steps=1)

LOWER_IS_BETTER = ('rmse', 'mae')


class GraphPropertyTask:
    r"""One model on one ``ogbg`` dataset, driven by :class:`~pyg_ext.ogb.runner.Runner`."""
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.device = torch.device(args.device)
        meta_dict = load_meta_dict(args.meta_dict)
        dataset = load_dataset(args.dataset, args.root, meta_dict)
        split = load_split(dataset)
        self.classification = 'classification' in dataset.task_type
        self.evaluator = make_evaluator(args.dataset, meta_dict)
        self.metric = self.evaluator.eval_metric
        self.loaders = {
            name: DataLoader(dataset[split[name]], batch_size=args.batch_size,
                             shuffle=name == 'train', num_workers=args.num_workers)
            for name in ('train', 'valid', 'test')}
        self.model = build_model(GRAPH_MODELS, args.model, {'num_tasks': dataset.num_tasks},
                                 args).to(self.device)
        self.optimizer = None

    def reset(self, run: int) -> Dict[str, Any]:
        self.model.reset_parameters()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.args.lr)
        return {'model': self.model, 'optimizer': self.optimizer}

    def _forward(self, batch: Any) -> torch.Tensor:
        return self.model(batch.x, batch.edge_index, batch.edge_attr, batch.batch,
                          batch.num_graphs)  # [B, T]

    def train_epoch(self, epoch: int) -> float:
        self.model.train()
        total, count = torch.zeros((), device=self.device), 0
        for batch in self.loaders['train']:
            if batch.num_nodes == 1 or batch.num_graphs == 1:
                continue  # batch norm needs more than one sample (as in the official script)
            batch = batch.to(self.device)
            pred = self._forward(batch)
            labelled = batch.y == batch.y  # NaN marks a missing label
            y, pred = batch.y.to(torch.float32)[labelled], pred.to(torch.float32)[labelled]
            if self.classification:
                loss = torch.nn.functional.binary_cross_entropy_with_logits(pred, y)
            else:
                loss = torch.nn.functional.mse_loss(pred, y)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            total, count = total + loss.detach() * batch.num_graphs, count + batch.num_graphs
        return float(total) / max(count, 1)

    @torch.no_grad()
    def score(self, name: str) -> float:
        self.model.eval()
        y_true, y_pred = [], []
        for batch in self.loaders[name]:
            batch = batch.to(self.device)
            pred = self._forward(batch)
            y_true.append(batch.y.view(pred.shape).cpu())
            y_pred.append(pred.cpu())
        result = self.evaluator.eval({'y_true': torch.cat(y_true), 'y_pred': torch.cat(y_pred)})
        return float(result[self.metric])

    def evaluate(self) -> Dict[str, float]:
        scores = {'valid': self.score('valid'), 'test': self.score('test')}
        if self.args.eval_train:
            scores['train'] = self.score('train')
        return scores


def run(args: argparse.Namespace) -> Dict[str, Any]:
    r"""Benchmark ``args.model`` on ``args.dataset``; returns the results (also written to
    ``args.out/results.json``)."""
    resolve(args, DEFAULTS)
    task = GraphPropertyTask(args)
    logger = Logger(task.metric, higher_is_better=task.metric not in LOWER_IS_BETTER)
    runner = Runner.from_args(args, logger)
    return runner.fit(task)
