r"""OGB's molecule property model: atom encoder, a stack of convs, optional virtual node,
mean pooling and a linear head (the ``GNN`` of OGB's ``examples/graphproppred/mol``).

Dimensions: N nodes, E edges, B graphs in the batch, F = ``emb_dim``, T = ``num_tasks``.
"""
import inspect
from typing import Callable

import torch
import torch.nn.functional as F
from ogb.graphproppred.mol_encoder import AtomEncoder
from torch import Tensor
from torch_geometric.nn import global_add_pool, global_mean_pool

from pyg_ext.utils.checks import check_edge_index


def _mlp(emb_dim: int) -> torch.nn.Sequential:
    return torch.nn.Sequential(
        torch.nn.Linear(emb_dim, 2 * emb_dim), torch.nn.BatchNorm1d(2 * emb_dim),
        torch.nn.ReLU(), torch.nn.Linear(2 * emb_dim, emb_dim), torch.nn.BatchNorm1d(emb_dim),
        torch.nn.ReLU())


class MolGNN(torch.nn.Module):
    r"""The graph-level model of the OGB molecule baselines
    (`"Open Graph Benchmark" <https://arxiv.org/abs/2005.00687>`_), optionally with a virtual
    node (`Gilmer et al., "Neural Message Passing for Quantum Chemistry"
    <https://arxiv.org/abs/1704.01212>`_). With :math:`\mathbf{h}^{(0)} =
    \mathrm{AtomEncoder}(\mathbf{x})` and, per layer :math:`l`,

    .. math::
        \mathbf{h}^{(l+1)} = \mathrm{Dropout}\big(\sigma_l(\mathrm{BN}(\mathrm{conv}_l(
        \mathbf{h}^{(l)} + \mathbf{v}^{(l)}_{\mathrm{batch}})))\big), \qquad
        \mathbf{v}^{(l+1)} = \mathrm{Dropout}\big(\mathrm{MLP}_l(\mathbf{v}^{(l)} +
        \textstyle\sum_{i \in G} (\mathbf{h}^{(l)}_i + \mathbf{v}^{(l)}))\big),

    where :math:`\sigma_l` is ReLU except on the last layer and the virtual node term
    :math:`\mathbf{v}` (initially 0) is absent without ``virtual_node``. The output is
    :math:`\mathrm{Linear}(\mathrm{mean}_{i \in G}\,\mathbf{h}^{(L)}_i)`.

    Args:
        conv (callable): builds one layer from ``emb_dim``, e.g. :class:`MolGINConv`. A layer
            whose ``forward`` takes ``edge_attr`` gets OGB's integer bond features
            :math:`(E, 3)`; any other is called as ``conv(x, edge_index)``.
        num_tasks (int): number of outputs :math:`T`.
        num_layers (int, optional): number of convs. (default: ``5``)
        emb_dim (int, optional): hidden size :math:`F`. (default: ``300``)
        dropout (float, optional): dropout after every layer. (default: ``0.5``)
        virtual_node (bool, optional): add a virtual node linked to every atom.
            (default: :obj:`False`)

    Shapes:
        - **input:** OGB's integer atom features :math:`(N, 9)`, edge indices
          :math:`(2, E)`, bond features :math:`(E, 3)`, graph assignment ``batch``
          :math:`(N,)`, and ``num_graphs`` :math:`B` (an int)
        - **output:** one logit (or value) per graph and task :math:`(B, T)`
    """
    def __init__(self, conv: Callable[[int], torch.nn.Module], num_tasks: int,
                 num_layers: int = 5, emb_dim: int = 300, dropout: float = 0.5,
                 virtual_node: bool = False):
        super().__init__()
        if num_layers < 2:
            raise ValueError(f'num_layers={num_layers}; OGB\'s molecule model needs at least '
                             f'2 layers, pass num_layers >= 2')
        self.num_tasks, self.num_layers, self.emb_dim = num_tasks, num_layers, emb_dim
        self.dropout = dropout
        self.atom_encoder = AtomEncoder(emb_dim)
        self.convs = torch.nn.ModuleList([conv(emb_dim) for _ in range(num_layers)])
        self.norms = torch.nn.ModuleList(
            [torch.nn.BatchNorm1d(emb_dim) for _ in range(num_layers)])
        if virtual_node:
            self.virtual_node = torch.nn.Embedding(1, emb_dim)
            self.virtual_mlps = torch.nn.ModuleList([_mlp(emb_dim)
                                                     for _ in range(num_layers - 1)])
        else:
            self.register_module('virtual_node', None)
            self.register_module('virtual_mlps', None)
        self.head = torch.nn.Linear(emb_dim, num_tasks)
        self._takes_edge_attr = tuple('edge_attr' in inspect.signature(c.forward).parameters
                                      for c in self.convs)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for embedding in self.atom_encoder.atom_embedding_list:
            torch.nn.init.xavier_uniform_(embedding.weight)
        for conv, norm in zip(self.convs, self.norms):
            conv.reset_parameters()
            norm.reset_parameters()
        if self.virtual_node is not None:
            torch.nn.init.zeros_(self.virtual_node.weight)
            for mlp in self.virtual_mlps:
                for module in mlp:
                    if hasattr(module, 'reset_parameters'):
                        module.reset_parameters()
        self.head.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor,
                num_graphs: int) -> Tensor:
        check_edge_index(edge_index)
        h = self.atom_encoder(x)  # [N, F]
        vn = None
        if self.virtual_node is not None:
            vn = self.virtual_node.weight.expand(num_graphs, -1)  # [B, F]
        last = self.num_layers - 1
        for layer, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            if vn is not None:
                h = h + vn[batch]  # [N, F]
            if self._takes_edge_attr[layer]:
                out = conv(h, edge_index, edge_attr=edge_attr)
            else:
                out = conv(h, edge_index)
            out = norm(out)
            if layer < last:
                out = F.relu(out)
            out = F.dropout(out, p=self.dropout, training=self.training)
            if vn is not None and layer < last:
                pooled = global_add_pool(h, batch, size=num_graphs) + vn  # [B, F]
                vn = F.dropout(self.virtual_mlps[layer](pooled), p=self.dropout,
                               training=self.training)
            h = out
        return self.head(global_mean_pool(h, batch, size=num_graphs))  # [B, T]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.convs[0].__class__.__name__}, '
                f'num_tasks={self.num_tasks}, num_layers={self.num_layers}, '
                f'emb_dim={self.emb_dim}, virtual_node={self.virtual_node is not None})')
