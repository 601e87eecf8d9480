"""Epoch time of full-batch GCN training on an ogbn-arxiv-sized random graph: pyg_ext's OGB
node-property GCN (`pyg-ext ogb ogbn-arxiv --model gcn`) against the model of OGB's official
example (examples/nodeproppred/arxiv/gnn.py), side by side in one process.

Both: 3 layers, hidden 256, batch norm, dropout 0.5, Adam, one full-batch step per epoch
(forward, NLL loss on the training nodes, backward, step) on 169,343 nodes, 1,166,243 random
edges made symmetric as the example's `adj_t.to_symmetric()`, 128 random features, 40 classes.
The official model is PyG's GCNConv(cached=True) on `adj_t`; torch-sparse (SparseTensor) is
not installed here, so its `adj_t` is a torch.sparse CSR matrix, which GCNConv also accepts.
Ours is NodeGNN with CachedGCNConv (same function; see its docstring). The epochs of the two
models alternate, after one warm-up epoch each (which builds the caches), and the medians
are reported.

    python benchmarks/speed/ogb_gcn.py --reps 5 --threads 2
"""
import argparse
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from _common import cpu_name
from torch_geometric.nn import GCNConv
from torch_geometric.utils import to_torch_csr_tensor, to_undirected

from pyg_ext.ogb.registry import NODE_MODELS, build_model

NUM_NODES, NUM_EDGES, NUM_FEATURES, NUM_CLASSES, NUM_TRAIN = 169_343, 1_166_243, 128, 40, 90_941


class OfficialGCN(torch.nn.Module):
    """The GCN of OGB's examples/nodeproppred/arxiv/gnn.py (PyG GCNConv, cached=True)."""
    def __init__(self, in_channels, hidden_channels, out_channels, num_layers, dropout):
        super().__init__()
        self.convs = torch.nn.ModuleList([GCNConv(in_channels, hidden_channels, cached=True)])
        self.bns = torch.nn.ModuleList([torch.nn.BatchNorm1d(hidden_channels)])
        for _ in range(num_layers - 2):
            self.convs.append(GCNConv(hidden_channels, hidden_channels, cached=True))
            self.bns.append(torch.nn.BatchNorm1d(hidden_channels))
        self.convs.append(GCNConv(hidden_channels, out_channels, cached=True))
        self.dropout = dropout

    def forward(self, x, adj_t):
        for i, conv in enumerate(self.convs[:-1]):
            x = F.dropout(F.relu(self.bns[i](conv(x, adj_t))), p=self.dropout,
                          training=self.training)
        return self.convs[-1](x, adj_t).log_softmax(dim=-1)


def machine() -> str:
    load = os.getloadavg() if hasattr(os, 'getloadavg') else ('n/a',)
    return (f'{cpu_name()}; {os.cpu_count()} logical CPUs; torch {torch.__version__}, '
            f'{torch.get_num_threads()} threads; Python {platform.python_version()}; '
            f'load average {load[0]:.1f}')


def epoch(model, optimizer, x, adj_t, y, train_idx) -> float:
    start = time.perf_counter()
    model.train()
    optimizer.zero_grad()
    out = model(x, adj_t)[train_idx]
    F.nll_loss(out.log_softmax(dim=-1), y[train_idx]).backward()
    optimizer.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--reps', type=int, default=5, help='timed epochs per model')
    parser.add_argument('--threads', type=int, default=None, help='torch.set_num_threads')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print('command:', ' '.join([sys.executable] + sys.argv))
    print('machine:', machine())

    torch.manual_seed(args.seed)
    edge_index = torch.randint(0, NUM_NODES, (2, NUM_EDGES))
    edge_index = to_undirected(edge_index, num_nodes=NUM_NODES)  # adj_t.to_symmetric()
    adj_t = to_torch_csr_tensor(edge_index, size=(NUM_NODES, NUM_NODES))
    x = torch.randn(NUM_NODES, NUM_FEATURES)
    y = torch.randint(0, NUM_CLASSES, (NUM_NODES,))
    train_idx = torch.randperm(NUM_NODES)[:NUM_TRAIN]
    print(f'graph: {NUM_NODES} nodes, {NUM_EDGES} random edges ({edge_index.size(1)} '
          f'directed after symmetrisation), {NUM_FEATURES} features')

    hparams = argparse.Namespace(hidden=256, num_layers=3, dropout=0.5, batch_norm=True,
                                 full_batch=True)
    info = {'num_features': NUM_FEATURES, 'num_classes': NUM_CLASSES}
    models = {
        'official (GCNConv cached, adj_t CSR)': OfficialGCN(NUM_FEATURES, 256, NUM_CLASSES, 3,
                                                            0.5),
        'pyg_ext (NodeGNN + CachedGCNConv)': build_model(NODE_MODELS, 'gcn', info, hparams),
    }
    optimizers = {name: torch.optim.Adam(m.parameters(), lr=0.01) for name, m in models.items()}
    times = {name: [] for name in models}
    for rep in range(args.reps + 1):  # rep 0 warms up (builds the cached adjacencies)
        for name, model in models.items():
            seconds = epoch(model, optimizers[name], x, adj_t, y, train_idx)
            if rep > 0:
                times[name].append(seconds)
    print(f'epoch time, median of {args.reps} (all runs in seconds):')
    for name, values in times.items():
        print(f'  {name:40s} {statistics.median(values):8.3f} s   '
              f"[{', '.join(f'{v:.3f}' for v in values)}]")
    official, ours = (statistics.median(v) for v in times.values())
    print(f'speed-up of pyg_ext over the official model: {official / ours:.2f}x')


if __name__ == '__main__':
    main()
