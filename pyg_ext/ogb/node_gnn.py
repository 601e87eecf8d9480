r"""The node-level model of OGB's ``arxiv``/``products``/``ddi``/``collab`` examples: a stack
of convs with optional batch norm, ReLU and dropout between them.

Dimensions: N nodes, E edges, F_in / H / F_out features in, hidden and out.
"""
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from pyg_ext.typing import Adj
from pyg_ext.utils.checks import check_feature_size


class NodeGNN(torch.nn.Module):
    r"""A stack of ``num_layers`` graph convolutions, as in OGB's node and link examples
    (`"Open Graph Benchmark" <https://arxiv.org/abs/2005.00687>`_):

    .. math::
        \mathbf{h}^{(l+1)} = \mathrm{Dropout}\big(\mathrm{ReLU}(\mathrm{BN}_l(
        \mathrm{conv}_l(\mathbf{h}^{(l)}, \mathbf{A})))\big), \quad l < L - 1, \qquad
        \mathbf{h}^{(L)} = \mathrm{conv}_{L-1}(\mathbf{h}^{(L-1)}, \mathbf{A}),

    with :math:`\mathrm{BN}_l` the identity when ``batch_norm`` is :obj:`False`.

    Args:
        conv (callable): builds one layer from ``(in_channels, out_channels)``, e.g.
            ``lambda i, o: GCNConv(i, o, cached=True)``.
        in_channels (int): input size :math:`F_{in}`.
        hidden_channels (int): hidden size :math:`H`.
        out_channels (int): output size :math:`F_{out}`.
        num_layers (int, optional): number of convs :math:`L`. (default: ``3``)
        dropout (float, optional): dropout between layers. (default: ``0.5``)
        batch_norm (bool, optional): batch norm after every conv but the last.
            (default: :obj:`True`)

    Shapes:
        - **input:** node features :math:`(N, F_{in})`, adjacency ``adj``: edge indices
          :math:`(2, E)`, a :class:`torch_geometric.EdgeIndex`, or a sparse
          :math:`(N, N)` ``adj_t``
        - **output:** node features :math:`(N, F_{out})`
    """
    def __init__(self, conv: Callable[[int, int], torch.nn.Module], in_channels: int,
                 hidden_channels: int, out_channels: int, num_layers: int = 3,
                 dropout: float = 0.5, batch_norm: bool = True):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f'num_layers={num_layers}; pass num_layers >= 1')
        self.in_channels, self.hidden_channels = in_channels, hidden_channels
        self.out_channels, self.num_layers, self.dropout = out_channels, num_layers, dropout
        sizes = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
        self.convs = torch.nn.ModuleList([conv(i, o) for i, o in zip(sizes[:-1], sizes[1:])])
        if batch_norm:
            self.norms = torch.nn.ModuleList([torch.nn.BatchNorm1d(hidden_channels)
                                              for _ in range(num_layers - 1)])
        else:
            self.register_module('norms', None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for conv in self.convs:
            conv.reset_parameters()
        for norm in self.norms or []:
            norm.reset_parameters()

    def forward(self, x: Tensor, adj: Adj) -> Tensor:
        check_feature_size(x, self.in_channels)
        for layer, conv in enumerate(self.convs[:-1]):
            x = conv(x, adj)  # [N, H]
            if self.norms is not None:
                x = self.norms[layer](x)
            x = F.relu(x)
            x = F.dropout(x, p=self.dropout, training=self.training)
        return self.convs[-1](x, adj)  # [N, F_out]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.convs[0].__class__.__name__}, '
                f'{self.in_channels}, {self.hidden_channels}, {self.out_channels}, '
                f'num_layers={self.num_layers}, batch_norm={self.norms is not None})')
