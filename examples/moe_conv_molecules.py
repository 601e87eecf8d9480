"""Molecule property prediction on OGB with a mixture-of-experts conv (or the gated highway
conv): each atom routes its incoming bond messages to its top-k expert message functions.

    python examples/moe_conv_molecules.py --dataset ogbg-molesol --conv moe --epochs 30

The OGB folders are read from --data (OGB's on-disk layout, e.g. ../shared/data/ogb) and
symlinked into a temporary root, since ogb writes a processed/ folder next to them. The
model: AtomEncoder -> L x (conv -> BatchNorm -> ReLU -> Dropout, plus a skip) -> mean pool
-> Linear; the MoE convs' load-balancing losses are added to the task loss.
"""
import argparse

import torch
import torch.nn.functional as F
from _mol_training import DATA_DIR, MOLECULES, evaluate, fit, load_molecules
from ogb.graphproppred import Evaluator
from ogb.graphproppred.mol_encoder import AtomEncoder, BondEncoder
from torch_geometric.nn import global_mean_pool

from pyg_ext.nn.conv.gated_graph_residual_conv import GatedGraphResidualConv
from pyg_ext.nn.conv.moe_conv import MoEConv

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--dataset', default='ogbg-molesol', choices=MOLECULES)
parser.add_argument('--data', default=DATA_DIR)
parser.add_argument('--conv', default='moe', choices=['moe', 'gated'])
parser.add_argument('--layers', type=int, default=3)
parser.add_argument('--emb', type=int, default=64)
parser.add_argument('--experts', type=int, default=4)
parser.add_argument('--k', type=int, default=2)
parser.add_argument('--dropout', type=float, default=0.2)
parser.add_argument('--epochs', type=int, default=30)
parser.add_argument('--batch-size', type=int, default=32)
parser.add_argument('--lr', type=float, default=1e-3)
parser.add_argument('--seed', type=int, default=0)
parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
args = parser.parse_args()
torch.manual_seed(args.seed)

# Data: OGB's files, loaded through a temporary writable root (the dataset stays in memory).
dataset, loaders = load_molecules(args.dataset, args.data, args.batch_size)
evaluator = Evaluator(args.dataset)
regression = dataset.task_type == 'regression'

# Each conv maps (h, edge_index, bond embedding) to h or (h, aux_loss).
CONVS = {
    'moe': lambda emb: MoEConv(emb, emb, num_experts=args.experts, k=args.k, edge_dim=emb,
                               hidden_channels=emb),
    'gated': lambda emb: GatedGraphResidualConv(emb, emb, edge_dim=emb, normalize=True),
}


class Net(torch.nn.Module):
    def __init__(self, conv, emb, num_layers, num_tasks, dropout):
        super().__init__()
        self.dropout = dropout
        self.atom_encoder = AtomEncoder(emb)
        self.bond_encoders = torch.nn.ModuleList([BondEncoder(emb) for _ in range(num_layers)])
        self.convs = torch.nn.ModuleList([conv(emb) for _ in range(num_layers)])
        self.norms = torch.nn.ModuleList([torch.nn.BatchNorm1d(emb) for _ in range(num_layers)])
        self.head = torch.nn.Linear(emb, num_tasks)

    def reset_parameters(self):
        for module in self.modules():
            if module is not self and hasattr(module, 'reset_parameters'):
                module.reset_parameters()

    def forward(self, data):
        h = self.atom_encoder(data.x)  # [N, F]
        aux = h.new_zeros(())
        for bond_encoder, conv, norm in zip(self.bond_encoders, self.convs, self.norms):
            out = conv(h, data.edge_index, bond_encoder(data.edge_attr))
            if isinstance(out, tuple):  # MoEConv: (out, aux_loss)
                out, layer_aux = out
                aux = aux + layer_aux
            out = F.dropout(F.relu(norm(out)), p=self.dropout, training=self.training)
            h = h + out  # [N, F]
        return self.head(global_mean_pool(h, data.batch)), aux  # [B, T], []


model = Net(CONVS[args.conv], args.emb, args.layers, dataset.num_tasks, args.dropout)
model = model.to(args.device)
model.reset_parameters()
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
print(f'{args.dataset}: {len(dataset)} graphs; {args.conv} conv: {model.convs[0]}; '
      f'{sum(p.numel() for p in model.parameters())} parameters')

# Train, scoring valid and test after each epoch (_mol_training.py holds the loop; it adds
# the convs' load-balancing loss to the task loss and prints it as aux).
fit(model, optimizer, loaders, evaluator, regression, args.epochs)

if args.conv == 'moe':  # how the atoms of the test set spread over each layer's experts
    counts = torch.zeros(args.layers, args.experts)

    def record(layer):
        def hook(conv, inputs):  # inputs = (h, edge_index, bond embedding)
            expert_idx, _, _ = conv.route(inputs[0])  # [N, k]
            counts[layer] += torch.bincount(expert_idx.flatten().cpu(), minlength=args.experts)
        return hook

    for layer, conv in enumerate(model.convs):
        conv.register_forward_pre_hook(record(layer))
    evaluate(model, loaders['test'], evaluator)
    for layer, row in enumerate(counts):
        share = ' '.join(f'{v:.2f}' for v in (row / row.sum()).tolist())
        print(f'layer {layer}: share of (atom, slot) routings per expert: {share}')
