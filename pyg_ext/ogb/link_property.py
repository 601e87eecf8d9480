r"""Link property prediction (``ogbl-*``), following OGB's ``examples/linkproppred``: a GNN
encoder over the training graph (learnable node embeddings where the dataset has no
features, as on ogbl-ddi), OGB's :class:`~pyg_ext.ogb.link_predictor.LinkPredictor`,
``-log p(pos) - log(1 - p(neg))`` with one negative per positive, gradient-norm clipping at 1,
and Hits@K from ``ogb``'s ``Evaluator`` on the official negatives.

Dimensions: N nodes, H hidden features, P node pairs.
"""
import argparse
from typing import Any, Dict, Optional

import torch
from torch import Tensor
from torch_geometric.utils import negative_sampling, to_torch_csr_tensor

from pyg_ext.ogb.datasets import load_dataset, load_split, make_evaluator
from pyg_ext.ogb.logger import Logger
from pyg_ext.ogb.options import load_meta_dict, resolve
from pyg_ext.ogb.registry import LINK_MODELS, build_model
from pyg_ext.ogb.runner import Runner

#: The official examples (``ddi/gnn.py``, ``collab/gnn.py``) and the leaderboard's 10 runs.
DEFAULTS: Dict[str, Dict[str, Any]] = {
    'ogbl-ddi': dict(model='gcn', num_layers=2, hidden=256, dropout=0.5, batch_size=64 * 1024,
                     lr=0.005, epochs=200, eval_steps=5, runs=10, negatives='dense'),
    'ogbl-collab': dict(model='gcn', num_layers=3, hidden=256, dropout=0.0,
                        batch_size=64 * 1024, lr=0.001, epochs=200, eval_steps=1, runs=10,
                        negatives='random'),
}


class LinkPropertyTask:
    r"""One encoder/decoder pair on one ``ogbl`` dataset, driven by
    :class:`~pyg_ext.ogb.runner.Runner`."""
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.device = torch.device(args.device)
        meta_dict = load_meta_dict(args.meta_dict)
        dataset = load_dataset(args.dataset, args.root, meta_dict)
        data, self.split = dataset[0], load_split(dataset)
        self.evaluator = make_evaluator(args.dataset, meta_dict)
        self.metric = self.evaluator.eval_metric
        self.num_nodes = int(data.num_nodes)
        weight = getattr(data, 'edge_weight', None)
        if weight is not None:
            weight = weight.view(-1).to(torch.float)
        # adj_t[i, j] = 1 for an edge j -> i: what the official SparseTensor `adj_t` holds.
        self.edge_index = data.edge_index.to(self.device)
        self.adj_t = to_torch_csr_tensor(data.edge_index.flip(0), weight,
                                         size=(self.num_nodes, self.num_nodes)).to(self.device)
        self.x: Optional[Tensor] = None
        self.embedding: Optional[torch.nn.Embedding] = None
        if data.x is None:
            self.embedding = torch.nn.Embedding(self.num_nodes, args.hidden).to(self.device)
            num_features = args.hidden
        else:
            self.x = data.x.to(torch.float).to(self.device)
            num_features = self.x.size(-1)
        info = {'num_features': num_features, 'num_nodes': self.num_nodes}
        self.encoder, self.decoder = build_model(LINK_MODELS, args.model, info, args)
        self.encoder, self.decoder = self.encoder.to(self.device), self.decoder.to(self.device)
        self.pos_train = self.split['train']['edge'].to(self.device)  # [P, 2]
        # A fixed sample of training edges, as large as the validation set (official).
        generator = torch.Generator().manual_seed(12345)
        idx = torch.randperm(self.pos_train.size(0), generator=generator)
        self.eval_train = self.pos_train[idx[:self.split['valid']['edge'].size(0)].to(
            self.device)]
        self.optimizer = None

    def reset(self, run: int) -> Dict[str, Any]:
        self.encoder.reset_parameters()
        self.decoder.reset_parameters()
        objects: Dict[str, Any] = {'encoder': self.encoder, 'decoder': self.decoder}
        params = list(self.encoder.parameters()) + list(self.decoder.parameters())
        if self.embedding is not None:
            torch.nn.init.xavier_uniform_(self.embedding.weight)
            objects['embedding'] = self.embedding
            params += list(self.embedding.parameters())
        self.optimizer = torch.optim.Adam(params, lr=self.args.lr)
        objects['optimizer'] = self.optimizer
        return objects

    def _x(self) -> Tensor:
        return self.embedding.weight if self.embedding is not None else self.x

    def _negatives(self, count: int) -> Tensor:
        if self.args.negatives == 'dense':  # ddi: pairs that are not training edges
            return negative_sampling(self.edge_index, num_nodes=self.num_nodes,
                                     num_neg_samples=count, method='dense')  # [2, P]
        return torch.randint(0, self.num_nodes, (2, count), device=self.device)  # [2, P]

    def train_epoch(self, epoch: int) -> float:
        self.encoder.train()
        self.decoder.train()
        total, count = torch.zeros((), device=self.device), 0
        perm = torch.randperm(self.pos_train.size(0), device=self.device)
        for batch in perm.split(self.args.batch_size):
            self.optimizer.zero_grad()
            h = self.encoder(self._x(), self.adj_t)  # [N, H]
            edge = self.pos_train[batch].t()  # [2, P]
            pos_out = self.decoder(h[edge[0]], h[edge[1]])  # [P, 1]
            neg = self._negatives(batch.numel())
            neg_out = self.decoder(h[neg[0]], h[neg[1]])  # [P, 1]
            loss = -torch.log(pos_out + 1e-15).mean() - torch.log(1 - neg_out + 1e-15).mean()
            loss.backward()
            if self.embedding is not None:
                torch.nn.utils.clip_grad_norm_(self.embedding.weight, 1.0)
            torch.nn.utils.clip_grad_norm_(self.encoder.parameters(), 1.0)
            decoder_params = list(self.decoder.parameters())
            if decoder_params:  # an inner-product decoder has none
                torch.nn.utils.clip_grad_norm_(decoder_params, 1.0)
            self.optimizer.step()
            total, count = total + loss.detach() * batch.numel(), count + batch.numel()
        return float(total) / max(count, 1)

    def _predict(self, h: Tensor, pairs: Tensor) -> Tensor:
        out = [self.decoder(h[p[:, 0]], h[p[:, 1]]).view(-1)
               for p in pairs.to(self.device).split(self.args.batch_size)]
        return torch.cat(out).cpu()  # [P]

    def _hits(self, pos: Tensor, neg: Tensor) -> float:
        result = self.evaluator.eval({'y_pred_pos': pos, 'y_pred_neg': neg})
        return float(result[self.metric])

    @torch.no_grad()
    def evaluate(self) -> Dict[str, float]:
        self.encoder.eval()
        self.decoder.eval()
        h = self.encoder(self._x(), self.adj_t)  # [N, H]
        valid, test = self.split['valid'], self.split['test']
        neg_valid = self._predict(h, valid['edge_neg'])
        scores = {'valid': self._hits(self._predict(h, valid['edge']), neg_valid),
                  'test': self._hits(self._predict(h, test['edge']),
                                     self._predict(h, test['edge_neg']))}
        if self.args.eval_train:  # official: training sample against validation negatives
            scores['train'] = self._hits(self._predict(h, self.eval_train), neg_valid)
        return scores


def run(args: argparse.Namespace) -> Dict[str, Any]:
    r"""Benchmark ``args.model`` on ``args.dataset``; returns the results (also written to
    ``args.out/results.json``)."""
    resolve(args, DEFAULTS.get(args.dataset, DEFAULTS['ogbl-collab']))
    task = LinkPropertyTask(args)
    logger = Logger(task.metric, higher_is_better=True)
    runner = Runner.from_args(args, logger)
    return runner.fit(task)
