"""Time of the ogbl-ddi encoders (2 layers, hidden 256, dropout 0.5, on learnable node
embeddings) per training batch, forward and backward: pyg_ext's `--model gcn` / `--model sage`
(NodeGNN with CachedGCNConv / CachedSAGEConv) against the encoders of OGB's official example
(examples/linkproppred/ddi/gnn.py: PyG GCNConv(cached=True) / SAGEConv), side by side in one
process on the real ogbl-ddi training graph.

The official encoders take the example's `adj_t`; torch-sparse (SparseTensor) is not
installed here, so it is a torch.sparse CSR matrix, which both PyG convs also accept. The link
predictor, loss and optimizer step are the same for both and left out. The models alternate,
after one warm-up pass each (which builds the caches); medians are reported.

    python benchmarks/speed/ogb_ddi_encoder.py --root DATA --reps 5 --threads 1
"""
import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from _common import cpu_name
from torch_geometric.nn import GCNConv, SAGEConv
from torch_geometric.utils import to_torch_csr_tensor

from pyg_ext.ogb.datasets import load_dataset
from pyg_ext.ogb.registry import LINK_MODELS, build_model

HIDDEN, NUM_LAYERS, DROPOUT = 256, 2, 0.5


class OfficialEncoder(torch.nn.Module):
    """The GCN / SAGE of OGB's ddi example: convs with ReLU and dropout between them."""
    def __init__(self, conv):
        super().__init__()
        self.convs = torch.nn.ModuleList([conv(HIDDEN, HIDDEN) for _ in range(NUM_LAYERS)])

    def forward(self, x, adj_t):
        for conv in self.convs[:-1]:
            x = F.dropout(F.relu(conv(x, adj_t)), p=DROPOUT, training=self.training)
        return self.convs[-1](x, adj_t)


def forward_backward(model, emb, adj_t) -> float:
    start = time.perf_counter()
    emb.grad = None
    model.zero_grad()
    model(emb, adj_t).square().mean().backward()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--root', required=True, help='folder holding ogbl_ddi/')
    parser.add_argument('--reps', type=int, default=5, help='timed passes per model')
    parser.add_argument('--threads', type=int, default=None, help='torch.set_num_threads')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    load = ' '.join(f'{v:.1f}' for v in os.getloadavg())
    print('command:', ' '.join([sys.executable] + sys.argv))
    print(f'machine: {cpu_name()}; torch {torch.__version__}, {torch.get_num_threads()} '
          f'threads; load average {load}')

    data = load_dataset('ogbl-ddi', args.root)[0]
    n = int(data.num_nodes)
    adj_t = to_torch_csr_tensor(data.edge_index.flip(0), size=(n, n))  # as the runner's
    print(f'graph: ogbl-ddi training graph, {n} nodes, {data.edge_index.size(1)} directed '
          f'edges')
    torch.manual_seed(0)
    emb = torch.nn.Parameter(torch.empty(n, HIDDEN))
    torch.nn.init.xavier_uniform_(emb)
    hparams = argparse.Namespace(hidden=HIDDEN, num_layers=NUM_LAYERS, dropout=DROPOUT,
                                 full_batch=True)
    info = {'num_features': HIDDEN, 'num_nodes': n}
    models = {
        'official GCN (GCNConv cached, adj_t CSR)': OfficialEncoder(
            lambda i, o: GCNConv(i, o, cached=True)),
        'pyg_ext gcn (CachedGCNConv)': build_model(LINK_MODELS, 'gcn', info, hparams)[0],
        'official SAGE (SAGEConv, adj_t CSR)': OfficialEncoder(SAGEConv),
        'pyg_ext sage (CachedSAGEConv)': build_model(LINK_MODELS, 'sage', info, hparams)[0],
    }
    times = {name: [] for name in models}
    for rep in range(args.reps + 1):  # rep 0 warms up (builds the cached matrices)
        for name, model in models.items():
            seconds = forward_backward(model, emb, adj_t)
            if rep > 0:
                times[name].append(seconds)
    print(f'encoder forward + backward per training batch, median of {args.reps} (all, s):')
    medians = {}
    for name, values in times.items():
        medians[name] = statistics.median(values)
        print(f'  {name:42s} {medians[name]:7.3f} s   '
              f"[{', '.join(f'{v:.3f}' for v in values)}]")
    names = list(medians)
    for official, ours in ((names[0], names[1]), (names[2], names[3])):
        print(f'speed-up of {ours.split(" (")[0]} over the {official.split(" (")[0]}: '
              f'{medians[official] / medians[ours]:.2f}x')


if __name__ == '__main__':
    main()
