"""Molecule property prediction on OGB with a mixture-of-experts conv (or the gated highway
conv): each atom routes its incoming bond messages to its top-k expert message functions.

    python examples/moe_conv_molecules.py --dataset ogbg-molesol --conv moe --epochs 30

The OGB folders are read from --data (OGB's on-disk layout, e.g. ../shared/data/ogb) and
symlinked into a temporary root, since ogb writes a processed/ folder next to them. The
model: AtomEncoder -> L x (conv -> BatchNorm -> ReLU -> Dropout, plus a skip) -> mean pool
-> Linear; the MoE convs' load-balancing losses are added to the task loss.
"""
import argparse
import os
import os.path as osp
import tempfile

import torch
import torch.nn.functional as F
from ogb.graphproppred import Evaluator
from ogb.graphproppred.mol_encoder import AtomEncoder, BondEncoder
from torch_geometric.loader import DataLoader
from torch_geometric.nn import global_mean_pool

from pyg_ext.nn.conv.gated_graph_residual_conv import GatedGraphResidualConv
from pyg_ext.nn.conv.moe_conv import MoEConv
from pyg_ext.ogb.datasets import load_dataset, load_split

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--dataset', default='ogbg-molesol',
                    choices=['ogbg-molesol', 'ogbg-molfreesolv', 'ogbg-molbace', 'ogbg-molbbbp'])
parser.add_argument('--data', default=osp.join(osp.dirname(__file__), '..', '..', 'shared',
                                               'data', 'ogb'))
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

# Data: symlink OGB's files into a writable root, then load with the safe ogb loader.
tmp = tempfile.TemporaryDirectory(prefix='pyg_ext_ogb_')  # removed when the script exits
root, folder = tmp.name, args.dataset.replace('-', '_')
os.makedirs(osp.join(root, folder))
for entry in os.listdir(osp.join(args.data, folder)):
    os.symlink(osp.abspath(osp.join(args.data, folder, entry)), osp.join(root, folder, entry))
dataset = load_dataset(args.dataset, root=root)
split = load_split(dataset)
evaluator = Evaluator(args.dataset)
metric = evaluator.eval_metric
regression = dataset.task_type == 'regression'
loaders = {name: DataLoader(dataset[split[name]], batch_size=args.batch_size,
                            shuffle=name == 'train') for name in ('train', 'valid', 'test')}

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


def task_loss(pred, y):
    y = y.to(pred.dtype)
    labelled = ~torch.isnan(y)  # OGB marks missing labels with NaN
    if regression:
        return F.mse_loss(pred[labelled], y[labelled])
    return F.binary_cross_entropy_with_logits(pred[labelled], y[labelled])


@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    preds, ys = [], []
    for data in loader:
        preds.append(model(data.to(args.device))[0].cpu())
        ys.append(data.y.cpu())
    return evaluator.eval({'y_pred': torch.cat(preds), 'y_true': torch.cat(ys)})[metric]


model = Net(CONVS[args.conv], args.emb, args.layers, dataset.num_tasks, args.dropout)
model = model.to(args.device)
model.reset_parameters()
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
print(f'{args.dataset}: {len(dataset)} graphs; {args.conv} conv: {model.convs[0]}; '
      f'{sum(p.numel() for p in model.parameters())} parameters')

better = (lambda a, b: a < b) if regression else (lambda a, b: a > b)
best = None
for epoch in range(1, args.epochs + 1):
    model.train()
    total = total_aux = 0.0
    for data in loaders['train']:
        data = data.to(args.device)
        optimizer.zero_grad()
        pred, aux = model(data)
        loss = task_loss(pred, data.y)
        (loss + aux).backward()
        optimizer.step()
        total += float(loss.detach()) * data.num_graphs
        total_aux += float(aux.detach()) * data.num_graphs
    valid, test = evaluate(model, loaders['valid']), evaluate(model, loaders['test'])
    if best is None or better(valid, best[1]):
        best = (epoch, valid, test)
    n = len(loaders['train'].dataset)
    print(f'epoch {epoch:3d}  loss {total / n:.4f}  aux {total_aux / n:.4f}  '
          f'valid {metric} {valid:.4f}  test {metric} {test:.4f}')

print(f'best valid {metric} {best[1]:.4f} at epoch {best[0]}: test {metric} {best[2]:.4f}')

if args.conv == 'moe':  # how the atoms of the test set spread over each layer's experts
    counts = torch.zeros(args.layers, args.experts)

    def record(layer):
        def hook(conv, inputs):  # inputs = (h, edge_index, bond embedding)
            expert_idx, _, _ = conv.route(inputs[0])  # [N, k]
            counts[layer] += torch.bincount(expert_idx.flatten().cpu(), minlength=args.experts)
        return hook

    for layer, conv in enumerate(model.convs):
        conv.register_forward_pre_hook(record(layer))
    evaluate(model, loaders['test'])
    for layer, row in enumerate(counts):
        share = ' '.join(f'{v:.2f}' for v in (row / row.sum()).tolist())
        print(f'layer {layer}: share of (atom, slot) routings per expert: {share}')
