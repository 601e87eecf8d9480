"""GraphMAE pre-training, then a linear probe, on ogbg-molbace (real data, offline).

ogbg-molbace: 1513 molecules, binary label (inhibits human beta-secretase 1), OGB's scaffold
split 1210/151/152, metric ROC-AUC. Chosen because it is real, ships in OGB's own layout in
`shared/data/ogb/`, is small enough to pre-train on a CPU in a couple of minutes, and has a
standard split and metric. Planetoid/Cora cannot be downloaded here.

1. Read OGB's raw files with `ogb.io.read_csv_graph_raw` (nothing is written, so the shared
   folder can stay read-only; OGB's PyG dataset class would write `processed/` and trips on
   torch >= 2.6's `torch.load` default).
2. Node features: the 9 categorical OGB atom features, one-hot encoded (174 dims).
3. Pre-train GraphMAE (GIN encoder, one GIN layer decoder, scaled cosine error on masked
   atoms) on all molecules, without labels.
4. Mean-pool the frozen encoder's node embeddings per molecule and fit an L2-regularised
   logistic regression on the training molecules (strength chosen on the validation split).
   The same probe on mean-pooled raw one-hot features is the baseline.

Run from the repository root:  PYTHONPATH=. python examples/graphmae_linear_probe.py
"""
import argparse
import os
import os.path as osp
import time

import numpy as np
import pandas as pd
import torch
from ogb.io.read_graph_raw import read_csv_graph_raw
from ogb.utils.features import get_atom_feature_dims
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader
from torch_geometric.nn import GINConv, global_mean_pool
from torch_geometric.nn.models import GIN

from pyg_ext.nn.autoencoder.graph_mae import GraphMAE
from pyg_ext.nn.autoencoder.link_metrics import roc_auc

DEFAULT_ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..', 'shared', 'data',
                        'ogb', 'ogbg_molbace')
SPLITS = ('train', 'valid', 'test')
WEIGHT_DECAYS = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)

parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
parser.add_argument('--root', default=os.environ.get('MOLBACE_ROOT', DEFAULT_ROOT),
                    help='an ogbg_molbace folder in OGB layout (raw/, split/scaffold/)')
parser.add_argument('--epochs', type=int, default=20)
parser.add_argument('--hidden', type=int, default=128)
parser.add_argument('--layers', type=int, default=3)
parser.add_argument('--mask-rate', type=float, default=0.25)
parser.add_argument('--gamma', type=float, default=2.0)
parser.add_argument('--lr', type=float, default=1e-3)
parser.add_argument('--batch-size', type=int, default=64)
parser.add_argument('--seed', type=int, default=0)
args = parser.parse_args()
torch.manual_seed(args.seed)


# 1-2. Data: OGB's raw files -> PyG graphs with one-hot atom features.
def one_hot_atoms(node_feat: np.ndarray) -> torch.Tensor:
    dims = torch.tensor(get_atom_feature_dims())
    offsets = torch.cumsum(dims, 0) - dims  # [9]
    index = torch.from_numpy(node_feat) + offsets  # [N, 9] columns of the one-hot block
    x = torch.zeros(node_feat.shape[0], int(dims.sum()))  # [N, 174]
    return x.scatter_(1, index, 1.0)


graphs = read_csv_graph_raw(osp.join(args.root, 'raw'), add_inverse_edge=True)
labels = pd.read_csv(osp.join(args.root, 'raw', 'graph-label.csv.gz'), header=None).values
dataset = [
    Data(x=one_hot_atoms(g['node_feat']), edge_index=torch.from_numpy(g['edge_index']),
         y=torch.tensor(labels[i], dtype=torch.float), num_nodes=g['num_nodes'])
    for i, g in enumerate(graphs)
]
split = {name: torch.from_numpy(pd.read_csv(
    osp.join(args.root, 'split', 'scaffold', f'{name}.csv.gz'), header=None).values[:, 0].copy())
    for name in SPLITS}
in_channels = dataset[0].num_features
print(f'ogbg-molbace: {len(dataset)} molecules, {in_channels} one-hot atom features, '
      f'split {"/".join(str(len(split[s])) for s in SPLITS)}')

# 3. GraphMAE pre-training on every molecule (no labels are used).
model = GraphMAE(
    encoder=GIN(in_channels, args.hidden, num_layers=args.layers, norm='batch_norm'),
    decoder=GINConv(torch.nn.Linear(args.hidden, in_channels), train_eps=True),
    in_channels=in_channels, hidden_channels=args.hidden, mask_rate=args.mask_rate,
    gamma=args.gamma)
model.reset_parameters()
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True)
start = time.perf_counter()
for epoch in range(1, args.epochs + 1):
    model.train()
    total = 0.0
    for batch in loader:
        optimizer.zero_grad()
        loss = model(batch.x, batch.edge_index)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * batch.num_graphs
    if epoch == 1 or epoch % 5 == 0 or epoch == args.epochs:
        print(f'epoch {epoch:3d}  SCE loss {total / len(dataset):.4f}  '
              f'({time.perf_counter() - start:.0f} s)')


# 4. Linear probes: frozen mean-pooled features -> logistic regression.
@torch.no_grad()
def pooled(embed) -> torch.Tensor:
    out = []
    for batch in DataLoader(dataset, batch_size=256):
        out.append(global_mean_pool(embed(batch), batch.batch))  # [graphs, D]
    return torch.cat(out)


def fit_probe(features: torch.Tensor, y: torch.Tensor, weight_decay: float) -> torch.nn.Linear:
    probe = torch.nn.Linear(features.size(1), 1)
    optimizer = torch.optim.LBFGS(probe.parameters(), max_iter=200, line_search_fn='strong_wolfe')

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            probe(features).squeeze(-1), y) + weight_decay * probe.weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return probe


def auc(probe, features, y) -> float:
    with torch.no_grad():
        score = probe(features).squeeze(-1)
    return float(roc_auc(score[y == 1], score[y == 0]))


def linear_probe(features: torch.Tensor) -> dict:
    y = torch.stack([d.y[0] for d in dataset])
    mean = features[split['train']].mean(0)
    std = features[split['train']].std(0).clamp(min=1e-6)
    features = (features - mean) / std  # statistics of the training molecules only
    part = {s: (features[split[s]], y[split[s]]) for s in SPLITS}
    best = max(((auc(fit_probe(*part['train'], wd), *part['valid']), wd)
                for wd in WEIGHT_DECAYS))
    probe = fit_probe(*part['train'], best[1])
    return {s: auc(probe, *part[s]) for s in SPLITS} | {'weight_decay': best[1]}


model.eval()
FEATURES = {
    'raw one-hot atoms': lambda b: b.x,
    'GraphMAE encoder': lambda b: model.embed(b.x, b.edge_index),
}
print(f'\nlinear probe ROC-AUC (scaffold split, seed {args.seed})')
print(f'{"features":<20} {"train":>7} {"valid":>7} {"test":>7}  weight decay')
for name, embed in FEATURES.items():
    result = linear_probe(pooled(embed))
    print(f'{name:<20} {result["train"]:7.4f} {result["valid"]:7.4f} {result["test"]:7.4f}'
          f'  {result["weight_decay"]:g}')
