r"""A mixture-of-experts graph convolution: each node routes its incoming messages to the
top-k of a set of expert message functions.

Dimensions: B - batch, T - time, N - nodes (N_src, N_dst when bipartite), E - edges,
M - experts, k - experts per node, S - routed nodes (tokens: N_dst times the leading dims),
P - edges times the leading dims, F - features (F_src, F_dst, F_out), F_e - edge features,
D - expert input size F_dst + F_src + F_e.
"""
from typing import Callable, Optional, Tuple, Union

import torch
from torch import Tensor, nn
from torch_geometric.nn.aggr import MultiAggregation
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.nn.inits import reset, zeros
from torch_geometric.typing import Adj, OptTensor, PairTensor

from pyg_ext.blocks.ffn import FFN
from pyg_ext.blocks.moe import check_expert_args, noisy_top_k_gating, reset_gate
from pyg_ext.utils.checks import (
    check_edge_inputs,
    check_node_inputs,
    check_sparse_edge_attr,
)


class MoEConv(MessagePassing):
    r"""A graph convolution whose message function is a sparsely-gated mixture of experts,
    after `"Outrageously Large Neural Networks: The Sparsely-Gated Mixture-of-Experts
    Layer" <https://arxiv.org/abs/1701.06538>`_ (Shazeer et al. 2017). Each target node
    :math:`i` picks :math:`k` of :math:`M` experts from its own features, with the noisy
    top-k gate of :class:`~pyg_ext.blocks.moe.MoE`,

    .. math::
        G(\mathbf{x}_i) = \mathrm{softmax}\big(\mathrm{KeepTopK}(H(\mathbf{x}_i), k)\big),
        \qquad H(\mathbf{x}_i)_m = (\mathbf{x}_i \mathbf{W}_g)_m + \epsilon_m \cdot
        \mathrm{softplus}\big((\mathbf{x}_i \mathbf{W}_{noise})_m\big),

    and only its selected experts :math:`f_m` compute the messages of its incoming edges:

    .. math::
        \mathbf{x}_i' = \mathbf{U}\mathbf{x}_i + \mathbf{b} + \sum_{m \in
        \mathrm{TopK}(i)} G(\mathbf{x}_i)_m \, \bigoplus_{j \in \mathcal{N}(i)}
        f_m\big(\mathbf{x}_i \,\Vert\, \mathbf{x}_j \,\Vert\, \mathbf{e}_{ij}\big),

    where :math:`\bigoplus` is the aggregation :obj:`aggr` (any single PyG aggregation:
    the messages of each selected expert are aggregated on their own, then mixed by the
    gates). Since the gates sum to one, this is the gate-weighted mixture of :math:`M`
    convolutions that share :math:`\mathbf{U}` and :math:`\mathbf{b}`. The (edge, expert)
    pairs are grouped by expert with one sort and each expert runs once on its rows;
    experts that no target chose are not called.

    :meth:`forward` always returns :obj:`(out, aux_loss)`, where :obj:`aux_loss` is the
    load-balancing loss of :class:`~pyg_ext.blocks.moe.MoE` over the routed nodes,
    :math:`w\,(\mathrm{CV}(\mathrm{Importance})^2 + \mathrm{CV}(\mathrm{Load})^2)`, with the
    smooth load estimator under noise and the hard counts otherwise; add it to the
    training loss. The noise is drawn only in training; its scale has a floor of
    :math:`10^{-2}`.

    .. note::
        Routing is data-dependent: each call reads the number of (edge, expert) pairs per
        expert on the host (one device-to-host copy of :math:`M` integers) to split them,
        so :func:`torch.compile` breaks the graph there.

    Args:
        in_channels (int or tuple): Size of each input sample, or a tuple
            :obj:`(F_src, F_dst)` for bipartite graphs.
        out_channels (int): Size of each output sample, :math:`F_{out}`.
        num_experts (int): Number of experts :math:`M`.
        k (int, optional): Number of experts each node routes to. (default: :obj:`2`)
        expert (callable, optional): A factory ``expert(in_features, out_channels)``
            returning one message function, where :obj:`in_features` is
            :math:`F_{dst} + F_{src} + F_e` (e.g. :class:`torch.nn.Linear`).
            (default: :class:`~pyg_ext.blocks.ffn.FFN` with :obj:`hidden_channels`)
        hidden_channels (int, optional): Hidden size of the default :class:`FFN` experts.
            (default: :obj:`4 * in_features`)
        edge_dim (int, optional): Edge feature size :math:`F_e`. (default: :obj:`None`)
        noisy_gating (bool, optional): If :obj:`True`, add the learned gating noise in
            training; :math:`\mathbf{W}_g` and :math:`\mathbf{W}_{noise}` then start at zero
            (balanced random routing at first), otherwise :math:`\mathbf{W}_g` starts
            uniform in :math:`\pm 1/\sqrt{F_{dst}}`. (default: :obj:`True`)
        aux_loss_weight (float, optional): The weight :math:`w`. (default: :obj:`1e-2`)
        root_weight (bool, optional): If :obj:`False`, drop :math:`\mathbf{U}\mathbf{x}_i`.
            (default: :obj:`True`)
        bias (bool, optional): If :obj:`False`, drop :math:`\mathbf{b}`.
            (default: :obj:`True`)
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing` (e.g. :obj:`aggr`).

    Shapes:
        - **input:**
          node features :math:`(*, N, F_{in})`, e.g. :math:`(N, F_{in})` or
          :math:`(B, T, N, F_{in})`, or a pair :math:`((*, N_{src}, F_{src}),
          (*, N_{dst}, F_{dst}))` if bipartite,
          edge indices :math:`(2, E)` or sparse matrix :math:`(N_{dst}, N_{src}[, F_e])`,
          edge features :math:`(E, F_e)` or :math:`(*, E, F_e)` *(optional)*
        - **output:** a tuple ``(out, aux_loss)``: node features
          :math:`(*, N_{dst}, F_{out})` and a scalar :math:`()`, in training and
          evaluation alike
    """
    noise_eps: float = 1e-2

    def __init__(
        self,
        in_channels: Union[int, Tuple[int, int]],
        out_channels: int,
        num_experts: int,
        k: int = 2,
        expert: Optional[Callable[[int, int], nn.Module]] = None,
        hidden_channels: Optional[int] = None,
        edge_dim: Optional[int] = None,
        noisy_gating: bool = True,
        aux_loss_weight: float = 1e-2,
        root_weight: bool = True,
        bias: bool = True,
        **kwargs,
    ):
        kwargs.setdefault('aggr', 'add')
        kwargs.setdefault('node_dim', -2)
        super().__init__(**kwargs)
        if isinstance(self.aggr_module, MultiAggregation):
            raise ValueError("MoEConv mixes one aggregation per expert; pass a single aggr "
                             "(e.g. aggr='mean'), not a list")
        check_expert_args(num_experts, k, expert, hidden_channels, per='node')
        src_channels, dst_channels = ((in_channels, in_channels)
                                      if isinstance(in_channels, int) else in_channels)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_experts = num_experts
        self.k = k
        self.edge_dim = edge_dim
        self.noisy_gating = noisy_gating
        self.aux_loss_weight = aux_loss_weight
        self._src_channels, self._dst_channels = src_channels, dst_channels
        in_features = dst_channels + src_channels + (edge_dim or 0)

        self.w_gate = nn.Parameter(torch.empty(dst_channels, num_experts))
        if noisy_gating:
            self.w_noise = nn.Parameter(torch.empty(dst_channels, num_experts))
        else:
            self.register_parameter('w_noise', None)
        if expert is None:
            experts = [FFN(in_features, hidden_channels, out_channels)
                       for _ in range(num_experts)]
        else:
            experts = [expert(in_features, out_channels) for _ in range(num_experts)]
        self.experts = nn.ModuleList(experts)
        if root_weight:
            self.lin_root = nn.Linear(dst_channels, out_channels, bias=False)  # U
        else:
            self.register_parameter('lin_root', None)
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels))
        else:
            self.register_parameter('bias', None)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets the gate (see :obj:`noisy_gating`), every expert, :math:`\mathbf{U}`
        and :math:`\mathbf{b}`."""
        super().reset_parameters()
        reset_gate(self.w_gate, self.w_noise)
        for expert in self.experts:
            reset(expert)
        if self.lin_root is not None:
            self.lin_root.reset_parameters()
        zeros(self.bias)

    def forward(self, x: Union[Tensor, PairTensor], edge_index: Adj,
                edge_attr: OptTensor = None) -> Tuple[Tensor, Tensor]:
        if isinstance(x, Tensor):
            x = (x, x)
        x_src, x_dst = x
        check_node_inputs(x_src, x_dst, self._src_channels, self._dst_channels)
        check_edge_inputs(edge_index, edge_attr, self.edge_dim)

        expert_idx, gates, aux_loss = self.route(x_dst)  # [*, N_dst, k] twice, []
        out = self.propagate(edge_index, x=(x_src, x_dst), expert_idx=expert_idx,
                             edge_attr=edge_attr, gates=gates, x_root=x_dst)
        return out, aux_loss

    def route(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        r"""Routes the target nodes :obj:`x` of shape :math:`(*, N_{dst}, F_{dst})`:
        returns the chosen experts :math:`(*, N_{dst}, k)` (best first), their gates
        :math:`(*, N_{dst}, k)` (summing to one) and the auxiliary loss :math:`()`."""
        lead = x.shape[:-1]
        x = x.reshape(-1, self._dst_channels)  # [S, F_dst]
        w_noise = self.w_noise if self.training else None  # noise in training only
        top_k_idx, top_k_gates, balance = noisy_top_k_gating(
            x, self.w_gate, w_noise, self.k, self.noise_eps)  # [S, k], [S, k], []
        return (top_k_idx.view(*lead, self.k), top_k_gates.view(*lead, self.k),  # [*, N_dst, k]
                self.aux_loss_weight * balance)

    def message(self, x_i: Tensor, x_j: Tensor, expert_idx_i: Tensor,
                edge_attr: OptTensor) -> Tensor:
        check_sparse_edge_attr(edge_attr, self.edge_dim)
        feats = [x_i, x_j]  # [*, E, F_dst], [*, E, F_src]
        if edge_attr is not None:
            feats.append(edge_attr.expand(*x_j.shape[:-1], edge_attr.size(-1)))
        h = torch.cat(feats, dim=-1)  # [*, E, D]
        lead = h.shape[:-1]
        out = self._dispatch(h.reshape(-1, h.size(-1)),  # [P, D]
                             expert_idx_i.reshape(-1, self.k))  # [P, k]
        return out.view(*lead, self.k * self.out_channels)  # [*, E, k F_out]

    def _dispatch(self, h: Tensor, expert_idx: Tensor) -> Tensor:
        # Group the P * k (edge, expert) pairs by expert, run each expert once on its rows,
        # and put the rows back in pair order: slot s of edge p holds f_{idx[p, s]}(h_p).
        num_pairs, k = expert_idx.shape
        flat = expert_idx.reshape(-1)  # [P k]
        if flat.numel() == 0:
            return h.new_zeros(num_pairs, k, self.out_channels)
        order = flat.argsort(stable=True)  # [P k]
        counts = flat.new_zeros(self.num_experts).scatter_add_(0, flat, torch.ones_like(flat))
        counts = counts.tolist()  # [M] pairs per expert: the one host sync
        chunks = h.index_select(0, order.div(k, rounding_mode='floor')).split(counts)
        outs = [expert(chunk) for expert, chunk, count in zip(self.experts, chunks, counts)
                if count > 0]
        y = torch.cat(outs, dim=0)  # [P k, F_out], sorted by expert
        y = torch.empty_like(y).index_copy(0, order, y)  # [P k, F_out], pair order
        return y.view(num_pairs, k, self.out_channels)  # [P, k, F_out]

    def update(self, inputs: Tensor, gates: Tensor, x_root: Tensor) -> Tensor:
        # inputs: the aggregated messages of each node's k slots, [*, N_dst, k F_out].
        agg = inputs.view(*inputs.shape[:-1], self.k, self.out_channels)  # [*, N_dst, k, F]
        out = (gates.unsqueeze(-1) * agg).sum(dim=-2)  # [*, N_dst, F_out]
        if self.lin_root is not None:
            out = out + self.lin_root(x_root)
        if self.bias is not None:
            out = out + self.bias
        return out

    def __repr__(self) -> str:
        extra = f', edge_dim={self.edge_dim}' if self.edge_dim is not None else ''
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'num_experts={self.num_experts}, k={self.k}, '
                f'noisy_gating={self.noisy_gating}{extra})')

