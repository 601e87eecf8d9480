"""Molecule property prediction on OGB with a gated graph neural network (GGNN).

    PYTHONPATH=. python examples/ggnn_molecules.py --dataset ogbg-molbace --updater gru

Li et al. 2016's model: AtomEncoder -> RecurrentGraphConv (L propagation steps that share
one recurrent node updater: the GRU of the paper, or an LSTM / Elman cell) -> the paper's
gated graph readout h_G = tanh(sum_v sigmoid(i([h_v, x_v])) * tanh(j([h_v, x_v]))) ->
Linear. Bond features are not used (the layer has one weight per step, not one per edge
type). The OGB folder is copied from --data (OGB's on-disk layout, e.g.
../shared/data/ogb) into a temporary root, since ogb writes a processed/ folder; it is
loaded with pyg_ext's safe ogb loader and scored with ogb's Evaluator on the official
scaffold split (test score at the epoch with the best validation score).
"""
import argparse
import os.path as osp
import shutil
import tempfile

import torch
import torch.nn.functional as F
from ogb.graphproppred import Evaluator
from ogb.graphproppred.mol_encoder import AtomEncoder
from torch_geometric.loader import DataLoader
from torch_geometric.nn import global_add_pool

from pyg_ext.nn.recurrent.recurrent_graph_conv import RecurrentGraphConv
from pyg_ext.ogb.datasets import load_dataset, load_split

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--dataset', default='ogbg-molbace',
                    choices=['ogbg-molbace', 'ogbg-molbbbp', 'ogbg-molesol', 'ogbg-molfreesolv'])
parser.add_argument('--data', default=osp.join(osp.dirname(__file__), '..', '..', 'shared',
                                               'data', 'ogb'))
parser.add_argument('--updater', default='gru', choices=['gru', 'lstm', 'rnn'])
parser.add_argument('--steps', type=int, default=4, help='propagation steps L')
parser.add_argument('--emb', type=int, default=64)
parser.add_argument('--dropout', type=float, default=0.2)
parser.add_argument('--epochs', type=int, default=20)
parser.add_argument('--batch-size', type=int, default=32)
parser.add_argument('--lr', type=float, default=1e-3)
parser.add_argument('--seed', type=int, default=0)
args = parser.parse_args()
torch.manual_seed(args.seed)

# Data: copy OGB's files into a temporary root and load them (the dataset stays in memory).
folder = args.dataset.replace('-', '_')
with tempfile.TemporaryDirectory(prefix='pyg_ext_ogb_') as root:
    shutil.copytree(osp.join(args.data, folder), osp.join(root, folder))
    dataset = load_dataset(args.dataset, root=root)
    split = load_split(dataset)
evaluator = Evaluator(args.dataset)
metric = evaluator.eval_metric
regression = dataset.task_type == 'regression'
loaders = {name: DataLoader(dataset[split[name]], batch_size=args.batch_size,
                            shuffle=name == 'train') for name in ('train', 'valid', 'test')}


class GGNN(torch.nn.Module):
    def __init__(self, emb: int, steps: int, updater: str, num_tasks: int, dropout: float):
        super().__init__()
        self.encoder = AtomEncoder(emb)
        self.conv = RecurrentGraphConv(emb, steps, updater=updater)
        self.gate = torch.nn.Linear(2 * emb, emb)  # i([h_v, x_v])
        self.value = torch.nn.Linear(2 * emb, emb)  # j([h_v, x_v])
        self.head = torch.nn.Linear(emb, num_tasks)
        self.dropout = dropout

    def reset_parameters(self):
        for embedding in self.encoder.atom_embedding_list:
            torch.nn.init.xavier_uniform_(embedding.weight)
        for module in (self.conv, self.gate, self.value, self.head):
            module.reset_parameters()

    def forward(self, data):
        x = self.encoder(data.x)  # [N, F]
        h = self.conv(x, data.edge_index)  # [N, F]
        hx = F.dropout(torch.cat([h, x], dim=-1), self.dropout, self.training)  # [N, 2F]
        node = torch.sigmoid(self.gate(hx)) * torch.tanh(self.value(hx))  # [N, F]
        graph = torch.tanh(global_add_pool(node, data.batch, size=data.num_graphs))  # [B, F]
        return self.head(graph)  # [B, T]


model = GGNN(args.emb, args.steps, args.updater, dataset.num_tasks, args.dropout)
model.reset_parameters()
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
print(f'{args.dataset}: {len(dataset)} graphs, {dataset.num_tasks} task(s), metric {metric}; '
      f'model {model.conv}')


def train_epoch() -> float:
    model.train()
    total, count = 0.0, 0
    for data in loaders['train']:
        optimizer.zero_grad()
        pred, y = model(data), data.y.to(torch.float)
        labelled = ~torch.isnan(y)  # OGB marks missing labels with NaN
        if regression:
            loss = F.mse_loss(pred[labelled], y[labelled])
        else:
            loss = F.binary_cross_entropy_with_logits(pred[labelled], y[labelled])
        loss.backward()
        optimizer.step()
        total, count = total + loss.item() * data.num_graphs, count + data.num_graphs
    return total / count


@torch.no_grad()
def evaluate(name: str) -> float:
    model.eval()
    preds, ys = [], []
    for data in loaders[name]:
        preds.append(model(data))
        ys.append(data.y)
    return evaluator.eval({'y_true': torch.cat(ys), 'y_pred': torch.cat(preds)})[metric]


better = (lambda a, b: a < b) if regression else (lambda a, b: a > b)
best = None  # (valid, test, epoch)
for epoch in range(1, args.epochs + 1):
    loss = train_epoch()
    valid, test = evaluate('valid'), evaluate('test')
    if best is None or better(valid, best[0]):
        best = (valid, test, epoch)
    print(f'epoch {epoch:3d}  loss {loss:.4f}  valid {metric} {valid:.4f}  '
          f'test {metric} {test:.4f}')
print(f'best valid {metric} {best[0]:.4f} at epoch {best[2]}: test {metric} {best[1]:.4f}')
