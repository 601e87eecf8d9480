r"""Edge-gated graph convolution with a highway (or residual) node update.

Dimensions: B - batch, T - time, N - nodes (N_src, N_dst when bipartite), E - edges,
F - features (F_src, F_dst, F_out), F_e - edge features.
"""
from typing import Optional, Tuple, Union

import torch
from torch import Tensor, nn
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.nn.inits import reset, zeros
from torch_geometric.typing import Adj, OptTensor, PairTensor

from pyg_ext.blocks.activation import activation_name, activation_resolver
from pyg_ext.blocks.highway import Highway
from pyg_ext.blocks.residual import Residual
from pyg_ext.utils.checks import (
    check_edge_inputs,
    check_node_inputs,
    check_sparse_edge_attr,
)

UPDATES = ('highway', 'residual', 'plain')


class GatedGraphResidualConv(MessagePassing):
    r"""The edge-gated graph convolution of `"Residual Gated Graph ConvNets"
    <https://arxiv.org/abs/1711.07553>`_ (Bresson and Laurent 2017), whose node update is
    the shared :class:`~pyg_ext.blocks.highway.Highway` block (`"Highway Networks"
    <https://arxiv.org/abs/1505.00387>`_) or :class:`~pyg_ext.blocks.residual.Residual`
    block. Each edge :math:`j \to i` gets a gate per output channel,

    .. math::
        \boldsymbol{\eta}_{ij} = \sigma\big(\mathbf{A}\mathbf{x}_i + \mathbf{B}\mathbf{x}_j
        + \mathbf{C}\mathbf{e}_{ij} + \mathbf{b}_\eta\big),

    the node aggregates its gated neighbours (optionally normalised by the sum of the gates
    as in GatedGCN, `"Benchmarking Graph Neural Networks" <https://arxiv.org/abs/2003.00982>`_),

    .. math::
        \mathbf{a}_i = \sum_{j \in \mathcal{N}(i)} \boldsymbol{\eta}_{ij} \odot
        (\mathbf{V}\mathbf{x}_j + \mathbf{b}_V)
        \quad\text{or}\quad
        \mathbf{a}_i = \frac{\sum_{j} \boldsymbol{\eta}_{ij} \odot
        (\mathbf{V}\mathbf{x}_j + \mathbf{b}_V)}{\sum_{j} \boldsymbol{\eta}_{ij} + \epsilon},
        \qquad
        \mathbf{c}_i = \mathbf{U}\mathbf{x}_i + \mathbf{a}_i + \mathbf{b},

    and :obj:`update` turns :math:`\mathbf{c}_i` into the output:

    .. math::
        \text{highway:}\quad \mathbf{x}_i' = T(\mathbf{x}_i) \odot \phi(\mathbf{c}_i)
        + \big(1 - T(\mathbf{x}_i)\big) \odot \mathbf{x}_i, \qquad
        T(\mathbf{x}_i) = \sigma(\mathbf{W}_T\mathbf{x}_i + \mathbf{b}_T),

    .. math::
        \text{residual:}\quad \mathbf{x}_i' = P(\mathbf{x}_i) + \phi(\mathbf{c}_i),
        \qquad
        \text{plain:}\quad \mathbf{x}_i' = \mathbf{c}_i,

    with :math:`\phi` the activation :obj:`act` and :math:`P` the identity (or a bias-free
    linear shortcut when :math:`F_{dst} \neq F_{out}`). The residual form is GatedGCN's
    layer (without its batch norm); the plain form is PyG's
    :class:`~torch_geometric.nn.conv.ResGatedGraphConv` (with its :obj:`lin_key`,
    :obj:`lin_query`, :obj:`lin_skip` as :math:`\mathbf{A}`, :math:`\mathbf{B}`,
    :math:`\mathbf{U}`). The highway gate's bias :math:`\mathbf{b}_T` starts at
    :obj:`gate_bias`, so a fresh highway layer carries about
    :math:`1 - \sigma(-2) \approx 88\%` of each node's input through and deep stacks start
    close to the identity. The node update is the :obj:`node_update` child (a
    :class:`Highway`, a :class:`Residual`, or :obj:`None` for plain), called in
    :meth:`update` with the node's input :math:`\mathbf{x}_i` and :math:`\mathbf{c}_i`.

    The graph may be an :obj:`edge_index` tensor, a :class:`torch_geometric.EdgeIndex`, or
    a transposed sparse adjacency :obj:`adj_t` (:class:`torch.sparse.Tensor`, or
    :class:`torch_sparse.SparseTensor` where installed); with a sparse adjacency, edge
    features travel as its values (a hybrid sparse tensor of shape
    :obj:`[N_dst, N_src, F_e]`), not as :obj:`edge_attr`.

    Args:
        in_channels (int or tuple): Size of each input sample, or a tuple
            :obj:`(F_src, F_dst)` for bipartite graphs.
        out_channels (int): Size of each output sample, :math:`F_{out}`.
        edge_dim (int, optional): Edge feature size :math:`F_e`; builds
            :math:`\mathbf{C}`. (default: :obj:`None`)
        update (str, optional): The node update, :obj:`'highway'` (needs
            :math:`F_{dst} = F_{out}`), :obj:`'residual'` or :obj:`'plain'`.
            (default: :obj:`'highway'`)
        normalize (bool, optional): If :obj:`True`, divide the aggregated messages by the
            sum of the gates (GatedGCN). (default: :obj:`False`)
        act (str or torch.nn.Module, optional): The activation :math:`\phi` of the highway
            and residual updates; unused by :obj:`'plain'`. (default: :obj:`'relu'`)
        gate_bias (float, optional): Initial highway gate bias :math:`\mathbf{b}_T`.
            (default: :obj:`-2.0`)
        root_weight (bool, optional): If :obj:`False`, drop :math:`\mathbf{U}\mathbf{x}_i`.
            (default: :obj:`True`)
        bias (bool, optional): If :obj:`False`, drop :math:`\mathbf{b}`.
            (default: :obj:`True`)
        eps (float, optional): The :math:`\epsilon` of the gate normalisation.
            (default: :obj:`1e-6`)
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing` (e.g. :obj:`aggr`).

    Shapes:
        - **input:**
          node features :math:`(*, N, F_{in})`, e.g. :math:`(N, F_{in})` or
          :math:`(B, T, N, F_{in})`, or a pair :math:`((*, N_{src}, F_{src}),
          (*, N_{dst}, F_{dst}))` if bipartite,
          edge indices :math:`(2, E)` or sparse matrix :math:`(N_{dst}, N_{src}[, F_e])`,
          edge features :math:`(E, F_e)` or :math:`(*, E, F_e)` *(optional)*
        - **output:** node features :math:`(*, N_{dst}, F_{out})`
    """
    def __init__(
        self,
        in_channels: Union[int, Tuple[int, int]],
        out_channels: int,
        edge_dim: Optional[int] = None,
        update: str = 'highway',
        normalize: bool = False,
        act: Union[str, nn.Module, None] = 'relu',
        gate_bias: float = -2.0,
        root_weight: bool = True,
        bias: bool = True,
        eps: float = 1e-6,
        **kwargs,
    ):
        kwargs.setdefault('aggr', 'add')
        kwargs.setdefault('node_dim', -2)
        super().__init__(**kwargs)
        if update not in UPDATES:
            raise ValueError(f"update='{update}' is not known; use one of {list(UPDATES)}")
        src_channels, dst_channels = ((in_channels, in_channels)
                                      if isinstance(in_channels, int) else in_channels)
        if update == 'highway' and dst_channels != out_channels:
            raise ValueError(
                f"update='highway' carries the target features (size {dst_channels}) through "
                f"unchanged, so it needs out_channels == {dst_channels}, got {out_channels}; "
                f"use update='residual' (it projects the shortcut) or update='plain', or "
                f"build the layer with out_channels={dst_channels}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.edge_dim = edge_dim
        self.update_name = update
        self.normalize = normalize
        self.act_name = activation_name(act)
        self.gate_bias = gate_bias
        self.eps = eps
        self._src_channels, self._dst_channels = src_channels, dst_channels

        self.lin_dst = nn.Linear(dst_channels, out_channels)  # A, with the gate bias b_eta
        self.lin_src = nn.Linear(src_channels, out_channels, bias=False)  # B
        self.lin_value = nn.Linear(src_channels, out_channels)  # V, b_V
        if edge_dim is not None:
            self.lin_edge = nn.Linear(edge_dim, out_channels, bias=False)  # C
        else:
            self.register_parameter('lin_edge', None)
        if root_weight:
            self.lin_root = nn.Linear(dst_channels, out_channels, bias=False)  # U
        else:
            self.register_parameter('lin_root', None)
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels))
        else:
            self.register_parameter('bias', None)

        if update == 'highway':
            self.node_update = Highway(out_channels, transform=_OnUpdate(act),
                                       gate_bias=gate_bias)
        elif update == 'residual':
            self.node_update = Residual(_OnUpdate(act), in_channels=dst_channels,
                                        out_channels=out_channels)
        else:
            self.register_module('node_update', None)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters, the node update's included."""
        super().reset_parameters()
        self.lin_dst.reset_parameters()
        self.lin_src.reset_parameters()
        self.lin_value.reset_parameters()
        if self.lin_edge is not None:
            self.lin_edge.reset_parameters()
        if self.lin_root is not None:
            self.lin_root.reset_parameters()
        zeros(self.bias)
        if self.node_update is not None:
            reset(self.node_update)

    def forward(self, x: Union[Tensor, PairTensor], edge_index: Adj,
                edge_attr: OptTensor = None) -> Tensor:
        if isinstance(x, Tensor):
            x = (x, x)
        x_src, x_dst = x
        check_node_inputs(x_src, x_dst, self._src_channels, self._dst_channels)
        check_edge_inputs(edge_index, edge_attr, self.edge_dim)

        gate_dst = self.lin_dst(x_dst)  # [*, N_dst, F_out]  A x_i + b_eta
        gate_src = self.lin_src(x_src)  # [*, N_src, F_out]  B x_j
        value = self.lin_value(x_src)  # [*, N_src, F_out]  V x_j + b_V
        return self.propagate(edge_index, gate_dst=gate_dst, gate_src=gate_src,
                              value=value, edge_attr=edge_attr, x_root=x_dst)

    def message(self, gate_dst_i: Tensor, gate_src_j: Tensor, value_j: Tensor,
                edge_attr: OptTensor) -> Tensor:
        logits = gate_dst_i + gate_src_j  # [*, E, F_out]
        check_sparse_edge_attr(edge_attr, self.edge_dim)
        if self.lin_edge is not None and edge_attr is not None:
            logits = logits + self.lin_edge(edge_attr)  # [(*,) E, F_out] broadcasts
        eta = torch.sigmoid(logits)  # [*, E, F_out]
        msg = eta * value_j  # [*, E, F_out]
        if self.normalize:
            return torch.cat([msg, eta], dim=-1)  # [*, E, 2 F_out]: messages, gates
        return msg

    def update(self, inputs: Tensor, x_root: Tensor) -> Tensor:
        if self.normalize:
            num, den = inputs.chunk(2, dim=-1)  # [*, N_dst, F_out] each
            inputs = num / (den + self.eps)
        out = inputs  # [*, N_dst, F_out]
        if self.lin_root is not None:
            out = out + self.lin_root(x_root)
        if self.bias is not None:
            out = out + self.bias
        if self.node_update is None:
            return out
        return self.node_update(x_root, out)  # [*, N_dst, F_out]

    def __repr__(self) -> str:
        extra = f", update='{self.update_name}'"
        if self.edge_dim is not None:
            extra += f', edge_dim={self.edge_dim}'
        if self.normalize:
            extra += ', normalize=True'
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}'
                f'{extra})')


class _OnUpdate(nn.Module):
    # The transform H of the node update: H(x_i, c_i) = act(c_i). Highway and Residual
    # call their branch as module(x, *args), so the branch receives the node's input
    # x_i (used by their gate and shortcut) and the conv output c_i (which H acts on).
    def __init__(self, act: Union[str, nn.Module, None]):
        super().__init__()
        self.act = activation_resolver(act)

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        return self.act(c)
