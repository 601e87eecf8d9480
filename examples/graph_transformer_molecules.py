"""Molecule property prediction on OGB with a graph transformer (GraphTransformerConv).

    PYTHONPATH=. python examples/graph_transformer_molecules.py               # short run
    PYTHONPATH=. python examples/graph_transformer_molecules.py --epochs 100 --layers 4

AtomEncoder + random-walk positional encodings (PyG's AddRandomWalkPE, projected and added by
the first layer) -> L x GraphTransformerConv (pre-norm attention over each atom's bonded
neighbours with BondEncoder features, plus k learned global tokens per molecule and a random
d-regular expander per molecule, as in Exphormer; FFN) -> LayerNorm -> mean pool -> Linear.
The positional encodings and the expanders are computed once per molecule before training
(AddExpanderEdges stores data.expander_edge_index, batched like edge_index). The OGB folder is
symlinked from --data (OGB's on-disk layout, e.g. ../shared/data/ogb) into a temporary root, since
ogb writes a processed/ folder; it is loaded with pyg_ext's safe ogb loader and scored with
ogb's Evaluator on the official scaffold split (test score at the best validation epoch).
"""
import argparse

import torch
from _mol_training import DATA_DIR, MOLECULES, fit, load_molecules
from ogb.graphproppred import Evaluator
from ogb.graphproppred.mol_encoder import AtomEncoder, BondEncoder
from torch_geometric.nn import global_mean_pool
from torch_geometric.transforms import AddRandomWalkPE, Compose

from pyg_ext.nn.conv.graph_transformer_conv import GraphTransformerConv
from pyg_ext.utils.add_expander_edges import AddExpanderEdges

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--dataset', default='ogbg-molbace', choices=MOLECULES)
parser.add_argument('--data', default=DATA_DIR)
parser.add_argument('--score', default='scaled_dot',
                    choices=['scaled_dot', 'dot', 'bilinear', 'additive'])
parser.add_argument('--layers', type=int, default=3)
parser.add_argument('--emb', type=int, default=64)
parser.add_argument('--heads', type=int, default=4)
parser.add_argument('--global-tokens', type=int, default=1, help='k per molecule (0: none)')
parser.add_argument('--expander-degree', type=int, default=4, help='even d (0: none)')
parser.add_argument('--walk-length', type=int, default=8, help='random-walk PE size (0: none)')
parser.add_argument('--dropout', type=float, default=0.1)
parser.add_argument('--epochs', type=int, default=8)
parser.add_argument('--batch-size', type=int, default=32)
parser.add_argument('--lr', type=float, default=5e-4)
parser.add_argument('--seed', type=int, default=0)
args = parser.parse_args()
torch.manual_seed(args.seed)

# Data: OGB's files, loaded through a temporary writable root, with the positional encodings
# and expander edges added once per molecule.
walk_pe = AddRandomWalkPE(args.walk_length, attr_name='pe') if args.walk_length else None
expander = AddExpanderEdges(args.expander_degree, seed=args.seed) if args.expander_degree \
    else None
transform = Compose([t for t in (walk_pe, expander) if t is not None])
dataset, loaders = load_molecules(args.dataset, args.data, args.batch_size, transform)
evaluator = Evaluator(args.dataset)
metric = evaluator.eval_metric
regression = dataset.task_type == 'regression'


class GraphTransformer(torch.nn.Module):
    def __init__(self, emb: int, layers: int, num_tasks: int):
        super().__init__()
        self.atom_encoder = AtomEncoder(emb)
        self.bond_encoder = BondEncoder(emb)
        self.layers = torch.nn.ModuleList([GraphTransformerConv(
            emb, args.heads, score=args.score, dropout=args.dropout, edge_dim=emb,
            pe_dim=args.walk_length if i == 0 and args.walk_length else None,
            num_global=args.global_tokens, expander_degree=args.expander_degree)
            for i in range(layers)])
        self.norm = torch.nn.LayerNorm(emb)  # pre-norm layers leave the stream unnormalised
        self.head = torch.nn.Linear(emb, num_tasks)

    def reset_parameters(self):
        for encoder in (self.atom_encoder.atom_embedding_list,
                        self.bond_encoder.bond_embedding_list):
            for embedding in encoder:
                torch.nn.init.xavier_uniform_(embedding.weight)
        for module in (*self.layers, self.norm, self.head):
            module.reset_parameters()

    def forward(self, data):
        x = self.atom_encoder(data.x)  # [N, F]
        edge_attr = self.bond_encoder(data.edge_attr)  # [E, F]
        for i, layer in enumerate(self.layers):
            x = layer(x, data.edge_index, edge_attr,
                      pe=data.pe if i == 0 and args.walk_length else None,
                      batch=data.batch, num_graphs=data.num_graphs,
                      expander_edge_index=data.expander_edge_index if args.expander_degree
                      else None)  # [N, F]
        graph = global_mean_pool(self.norm(x), data.batch, size=data.num_graphs)  # [B, F]
        return self.head(graph)  # [B, T]


model = GraphTransformer(args.emb, args.layers, dataset.num_tasks)
model.reset_parameters()
optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
print(f'{args.dataset}: {len(dataset)} graphs, {dataset.num_tasks} task(s), metric {metric}; '
      f'{args.layers} x {model.layers[0]}')

# Train, scoring valid and test after each epoch (_mol_training.py holds the loop).
fit(model, optimizer, loaders, evaluator, regression, args.epochs)
