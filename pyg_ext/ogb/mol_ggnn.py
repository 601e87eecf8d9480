r"""A gated graph neural network (GGNN) for OGB's molecule datasets: atom encoder, one
recurrent graph layer of L propagation steps, the paper's gated graph readout, a linear head.

Dimensions: N nodes, E edges, B graphs in the batch, F = ``emb_dim``, T = ``num_tasks``,
L = ``num_layers`` propagation steps.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from ogb.graphproppred.mol_encoder import AtomEncoder
from torch import Tensor
from torch_geometric.nn import global_add_pool

from pyg_ext.nn.recurrent.recurrent_graph_conv import RecurrentGraphConv


class MolGGNN(torch.nn.Module):
    r"""The gated graph sequence network of `"Gated Graph Sequence Neural Networks"
    <https://arxiv.org/abs/1511.05493>`_ (Li et al., ICLR 2016) on OGB molecules
    (`"Open Graph Benchmark" <https://arxiv.org/abs/2005.00687>`_). With
    :math:`\mathbf{x}_v = \mathrm{AtomEncoder}(\text{atom}_v)` and :math:`\mathbf{h}^{(L)} =
    \mathrm{GGNN}_L(\mathbf{x}, \mathbf{A})`, :math:`L` steps of
    :class:`~pyg_ext.nn.recurrent.recurrent_graph_conv.RecurrentGraphConv` (a weight
    :math:`\mathbf{\Theta}_l` per step, one recurrent updater shared by all steps),

    .. math::
        \mathbf{z}_v = \mathrm{Dropout}\big(\mathbf{h}^{(L)}_v \,\Vert\, \mathbf{x}_v\big),
        \qquad \mathbf{h}_G = \tanh\Big(\sum_{v \in G} \sigma\big(i(\mathbf{z}_v)\big)
        \odot \tanh\big(j(\mathbf{z}_v)\big)\Big), \qquad
        \hat{\mathbf{y}}_G = \mathbf{W}\mathbf{h}_G + \mathbf{b},

    the paper's graph-level readout with :math:`i, j` linear maps :math:`2F \to F`.

    Why one layer of :math:`L` steps rather than :class:`~pyg_ext.ogb.mol_gnn.MolGNN`'s
    stack of :math:`L` layers: the recurrent updater shared across steps is what makes the
    model a GGNN (its depth is a number of steps of one recurrence, not a stack of distinct
    layers), and the GRU is already each step's non-linearity and gate; MolGNN's batch
    norm, ReLU and dropout between steps would cut into the recurrent state (a ReLU zeroes
    its negative part), and a stack of GGNNs would hold :math:`L` updaters.
    ``--num-layers`` sets :math:`L`, ``--hidden`` :math:`F` and ``--dropout`` the one
    dropout. This is the model of ``examples/ggnn_molecules.py``.

    OGB's bond features are not used: GGNN propagates with one matrix per step (the paper's
    per-edge-type matrices are not part of :class:`RecurrentGraphConv`), so the layer has
    no input for them.

    Args:
        num_tasks (int): number of outputs :math:`T`.
        num_layers (int, optional): propagation steps :math:`L`. (default: ``5``)
        emb_dim (int, optional): hidden size :math:`F`. (default: ``300``)
        dropout (float, optional): dropout on the readout's input. (default: ``0.5``)
        updater (str, optional): the node updater, :obj:`'gru'` (the paper's),
            :obj:`'lstm'` or :obj:`'rnn'`. (default: :obj:`'gru'`)

    Shapes:
        - **input:** OGB's integer atom features :math:`(N, 9)`, edge indices
          :math:`(2, E)`, bond features :math:`(E, 3)` *(accepted, as every molecule model
          of the runner takes them, and ignored)*, graph assignment ``batch`` :math:`(N,)`
          and ``num_graphs`` :math:`B` (an int)
        - **output:** one logit (or value) per graph and task :math:`(B, T)`
    """
    def __init__(self, num_tasks: int, num_layers: int = 5, emb_dim: int = 300,
                 dropout: float = 0.5, updater: str = 'gru'):
        super().__init__()
        self.num_tasks, self.num_layers, self.emb_dim = num_tasks, num_layers, emb_dim
        self.dropout, self.updater = dropout, updater
        self.atom_encoder = AtomEncoder(emb_dim)
        self.conv = RecurrentGraphConv(emb_dim, num_layers, updater=updater)
        self.gate = torch.nn.Linear(2 * emb_dim, emb_dim)  # i
        self.value = torch.nn.Linear(2 * emb_dim, emb_dim)  # j
        self.head = torch.nn.Linear(emb_dim, num_tasks)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for embedding in self.atom_encoder.atom_embedding_list:
            torch.nn.init.xavier_uniform_(embedding.weight)
        for module in (self.conv, self.gate, self.value, self.head):
            module.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Optional[Tensor],
                batch: Tensor, num_graphs: int) -> Tensor:
        x = self.atom_encoder(x)  # [N, F]
        h = self.conv(x, edge_index)  # [N, F]
        z = F.dropout(torch.cat([h, x], dim=-1), p=self.dropout,
                      training=self.training)  # [N, 2F]
        node = torch.sigmoid(self.gate(z)) * torch.tanh(self.value(z))  # [N, F]
        graph = torch.tanh(global_add_pool(node, batch, size=num_graphs))  # [B, F]
        return self.head(graph)  # [B, T]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_tasks={self.num_tasks}, '
                f'num_layers={self.num_layers}, emb_dim={self.emb_dim}, '
                f'updater={self.updater!r})')
