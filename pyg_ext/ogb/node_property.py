r"""Node property prediction (``ogbn-*``), following OGB's ``examples/nodeproppred``:
full-batch training on a symmetric ``adj_t`` (ogbn-arxiv), or mini-batches from PyG's
:class:`~torch_geometric.loader.NeighborLoader` (ogbn-products). Under ``torchrun`` the
mini-batch mode trains with :class:`~torch.nn.parallel.DistributedDataParallel`: every rank
samples the neighbourhoods of its own shard of the training seeds, rank 0 evaluates.

Dimensions: N nodes, C classes, S seed nodes of a mini-batch.
"""
import argparse
from typing import Any, Dict, List

import torch
import torch.distributed as dist
import torch.nn.functional as F
import torch_geometric.typing
from torch import Tensor
from torch_geometric.loader import NeighborLoader
from torch_geometric.utils import to_torch_csr_tensor, to_undirected

from pyg_ext import distributed
from pyg_ext.ogb.datasets import load_dataset, load_split, make_evaluator
from pyg_ext.ogb.logger import Logger
from pyg_ext.ogb.options import load_meta_dict, resolve
from pyg_ext.ogb.registry import NODE_MODELS, build_model
from pyg_ext.ogb.runner import Runner
from pyg_ext.ogb.torch_neighbor_sampler import TorchNeighborSampler

#: ogbn-arxiv: OGB's ``arxiv/gnn.py``; ogbn-products: PyG's ``ogbn_products_sage.py``
#: (neighbour sampling 15-10-5); both with the leaderboard's 10 runs.
DEFAULTS: Dict[str, Dict[str, Any]] = {
    'ogbn-arxiv': dict(model='gcn', num_layers=3, hidden=256, dropout=0.5, lr=0.01,
                       epochs=500, runs=10, eval_steps=1, batch_norm=True),
    'ogbn-products': dict(model='sage', num_layers=3, hidden=256, dropout=0.5, lr=0.003,
                          epochs=20, runs=10, eval_steps=1, batch_norm=False,
                          batch_size=1024, num_neighbors=[15, 10, 5]),
}


def shard_seeds(seeds: Tensor, rank: int, world_size: int, seed: int) -> Tensor:
    r"""Rank ``rank``'s shard of the training ``seeds`` for one epoch: one permutation drawn
    from ``seed`` (the same on every rank), padded by wrapping around so that every rank gets
    ``ceil(S / world_size)`` seeds (DDP needs as many steps on every rank), then every
    ``world_size``-th seed from ``rank`` on."""
    seeds = seeds[torch.randperm(seeds.numel(), generator=torch.Generator().manual_seed(seed))]
    pad = (-seeds.numel()) % world_size
    seeds = torch.cat([seeds, seeds[:pad]])  # [world_size * ceil(S / world_size)]
    return seeds[rank::world_size]


class NodePropertyTask:
    r"""One model on one ``ogbn`` dataset, driven by :class:`~pyg_ext.ogb.runner.Runner`."""
    def __init__(self, args: argparse.Namespace, rank: int = 0, world_size: int = 1):
        self.args, self.rank, self.world_size = args, rank, world_size
        self.device = torch.device(args.device)
        meta_dict = load_meta_dict(args.meta_dict)
        if rank > 0:
            distributed.barrier()  # rank 0 processes the dataset first; the others read it
        dataset = load_dataset(args.dataset, args.root, meta_dict)
        if rank == 0:
            distributed.barrier()
        self.data, self.split = dataset[0], load_split(dataset)
        self.data.num_nodes = int(self.data.num_nodes)
        self.evaluator = make_evaluator(args.dataset, meta_dict)
        self.metric = self.evaluator.eval_metric
        n = self.data.num_nodes
        # The official `adj_t.to_symmetric()`, as a torch CSR matrix (torch-sparse is optional).
        self.edge_index = to_undirected(self.data.edge_index, num_nodes=n)
        self.adj_t = to_torch_csr_tensor(self.edge_index, size=(n, n)).to(self.device)
        self.x = self.data.x.to(torch.float).to(self.device)
        self.y = self.data.y.view(-1).to(self.device)  # [N]
        info = {'num_features': self.x.size(-1), 'num_nodes': n,
                'num_classes': int(dataset.num_classes)}
        self.model = build_model(NODE_MODELS, args.model, info, args).to(self.device)
        self.train_model: torch.nn.Module = self.model
        if world_size > 1:
            if args.full_batch:
                raise ValueError('distributed training shards mini-batches of seeds; pass '
                                 '--num-neighbors (e.g. 15 10 5) to use neighbour sampling')
            ids = [self.device.index] if self.device.type == 'cuda' else None
            self.train_model = torch.nn.parallel.DistributedDataParallel(self.model,
                                                                         device_ids=ids)
        if not args.full_batch:
            self.data.edge_index = self.edge_index
            self.sampler = None
            if not (torch_geometric.typing.WITH_PYG_LIB or
                    torch_geometric.typing.WITH_TORCH_SPARSE):
                self.sampler = TorchNeighborSampler(self.data, args.num_neighbors)
        self.optimizer, self.run = None, 0

    def reset(self, run: int) -> Dict[str, Any]:
        self.run = run
        self.model.reset_parameters()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.args.lr)
        return {'model': self.model, 'optimizer': self.optimizer}

    def _shard(self, epoch: int) -> Tensor:
        seed = self.args.seed * 1_000_003 + self.run * 10_007 + epoch
        return shard_seeds(self.split['train'], self.rank, self.world_size, seed)

    def _loader(self, seeds: Tensor) -> NeighborLoader:
        return NeighborLoader(self.data, self.args.num_neighbors, input_nodes=seeds,
                              batch_size=self.args.batch_size, shuffle=False,
                              neighbor_sampler=self.sampler,
                              num_workers=self.args.num_workers)

    def train_epoch(self, epoch: int) -> float:
        self.train_model.train()
        if self.args.full_batch:
            train_idx = self.split['train'].to(self.device)
            self.optimizer.zero_grad()
            out = self.train_model(self.x, self.adj_t)[train_idx]  # [S, C]
            loss = F.nll_loss(out.log_softmax(dim=-1), self.y[train_idx])
            loss.backward()
            self.optimizer.step()
            return float(loss.detach())
        total = torch.zeros(2, device=self.device)  # loss sum, seed count
        for batch in self._loader(self._shard(epoch)):
            batch = batch.to(self.device)
            self.optimizer.zero_grad()
            out = self.train_model(batch.x.to(torch.float), batch.edge_index)
            out = out[:batch.batch_size]  # [S, C]
            y = batch.y.view(-1)[:batch.batch_size]
            loss = F.nll_loss(out.log_softmax(dim=-1), y)
            loss.backward()
            self.optimizer.step()
            total += torch.stack([loss.detach() * batch.batch_size,
                                  total.new_tensor(float(batch.batch_size))])
        distributed.all_reduce_sum_(total)
        return float(total[0] / total[1].clamp(min=1))

    @torch.no_grad()
    def _scores(self) -> List[float]:
        self.model.eval()
        pred = self.model(self.x, self.adj_t).argmax(dim=-1, keepdim=True)  # [N, 1]
        y = self.y.view(-1, 1)
        return [float(self.evaluator.eval({'y_true': y[idx], 'y_pred': pred[idx]})[
            self.metric]) for idx in (self.split['valid'], self.split['test'],
                                      self.split['train'])]

    def evaluate(self) -> Dict[str, float]:
        # Full-neighbourhood inference on the whole graph (rank 0), as the examples' `test`.
        scores = [self._scores() if self.rank == 0 else None]
        if self.world_size > 1:
            dist.broadcast_object_list(scores, src=0)
        valid, test, train = scores[0]
        result = {'valid': valid, 'test': test}
        if self.args.eval_train:
            result['train'] = train
        return result


def run(args: argparse.Namespace) -> Dict[str, Any]:
    r"""Benchmark ``args.model`` on ``args.dataset`` (under ``torchrun``: distributed);
    returns the results (also written to ``args.out/results.json`` by rank 0)."""
    resolve(args, DEFAULTS.get(args.dataset, DEFAULTS['ogbn-arxiv']))
    args.full_batch = args.num_neighbors is None
    ctx = distributed.setup(args.device)
    args.device = str(ctx.device)  # cuda:LOCAL_RANK for each process on a GPU machine
    try:
        results = _fit(args, ctx.rank, ctx.world_size)
        distributed.barrier()  # no rank leaves while another still talks to it
        return results
    finally:
        distributed.teardown(ctx)  # _fit's frame, and the DDP model with it, is gone


def _fit(args: argparse.Namespace, rank: int, world_size: int) -> Dict[str, Any]:
    task = NodePropertyTask(args, rank, world_size)
    logger = Logger(task.metric, higher_is_better=True)
    runner = Runner.from_args(args, logger, is_main=rank == 0)
    return runner.fit(task)
