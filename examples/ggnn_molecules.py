"""Molecule property prediction on OGB with a gated graph neural network (GGNN).

    PYTHONPATH=. python examples/ggnn_molecules.py --dataset ogbg-molbace --updater gru

Li et al. 2016's model: AtomEncoder -> RecurrentGraphConv (L propagation steps that share
one recurrent node updater: the GRU of the paper, or an LSTM / Elman cell) -> the paper's
gated graph readout h_G = tanh(sum_v sigmoid(i([h_v, x_v])) * tanh(j([h_v, x_v]))) ->
Linear. Bond features are not used (the layer has one weight per step, not one per edge
type). The OGB folder is symlinked from --data (OGB's on-disk layout, e.g.
../shared/data/ogb) into a temporary root, since ogb writes a processed/ folder; it is
loaded with pyg_ext's safe ogb loader and scored with ogb's Evaluator on the official
scaffold split (test score at the epoch with the best validation score).
"""
import argparse

import torch
import torch.nn.functional as F
from _mol_training import DATA_DIR, MOLECULES, fit, load_molecules
from ogb.graphproppred import Evaluator
from ogb.graphproppred.mol_encoder import AtomEncoder
from torch_geometric.nn import global_add_pool

from pyg_ext.nn.recurrent.recurrent_graph_conv import RecurrentGraphConv

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--dataset', default='ogbg-molbace', choices=MOLECULES)
parser.add_argument('--data', default=DATA_DIR)
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

# Data: OGB's files, loaded through a temporary writable root (the dataset stays in memory).
dataset, loaders = load_molecules(args.dataset, args.data, args.batch_size)
evaluator = Evaluator(args.dataset)
regression = dataset.task_type == 'regression'
metric = evaluator.eval_metric


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

# Train, scoring valid and test after each epoch (_mol_training.py holds the loop).
fit(model, optimizer, loaders, evaluator, regression, args.epochs)
