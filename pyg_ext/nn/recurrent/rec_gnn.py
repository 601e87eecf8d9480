r"""Scarselli et al.'s graph neural network: node states at the fixed point of a contraction.

Dimensions: B - batch, T - time, N - nodes, E - edges, F - input features,
H - state size, F_out - output features. ``*`` stands for optional leading dimensions.
"""
from typing import NamedTuple, Optional, Tuple

import torch
from torch import Tensor, nn
from torch.nn import Parameter
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.nn.inits import glorot, reset
from torch_geometric.typing import Adj, OptTensor
from torch_geometric.utils import is_sparse, is_torch_sparse_tensor, scatter, to_edge_index

from pyg_ext.utils.checks import (
    check_edge_weight,
    check_feature_size,
    check_index_range,
)


class _Transition(NamedTuple):
    # Everything the transition F needs that does not depend on the state h.
    edge_index: Tensor  # [2, E]
    norm: Tensor  # [E]  e_uv / d_v
    x_dst: Tensor  # [*, N, H]  Theta_1 x_v + b
    x_src: Tensor  # [*, N, H]  Theta_2 x_u
    weight: Tensor  # [H, H]  mu * W_hat


class RecGNN(MessagePassing):
    r"""The graph neural network model from the `"The Graph Neural Network Model"
    <https://doi.org/10.1109/TNN.2008.2005605>`_ paper (Scarselli et al., IEEE TNN 2009):
    the node states are the fixed point of a local transition function, and the outputs
    a readout of the states,

    .. math::
        \mathbf{h}_v = \sum_{u \in \mathcal{N}(v)} f(\mathbf{x}_v, \mathbf{x}_u,
        \mathbf{h}_u), \qquad \mathbf{o}_v = g\left(\mathbf{h}_v \, \Vert \,
        \mathbf{x}_v\right),

    with the transition built to be a contraction:

    .. math::
        f(\mathbf{x}_v, \mathbf{x}_u, \mathbf{h}_u) = \frac{e_{u,v}}{d_v}
        \tanh\left(\mathbf{\Theta}_1 \mathbf{x}_v + \mathbf{\Theta}_2 \mathbf{x}_u +
        \mathbf{b} + \mu \hat{\mathbf{W}} \mathbf{h}_u\right), \qquad
        \hat{\mathbf{W}} = \frac{\mathbf{W}}{\max(1, \|\mathbf{W}\|_2)}, \qquad
        d_v = \sum_{u \in \mathcal{N}(v)} |e_{u,v}|,

    where :math:`\mathcal{N}(v)` are the sources of the edges :math:`u \to v`,
    :math:`e_{u,v}` their weights (default :math:`1`, so :math:`d_v` is the in-degree),
    :math:`\|\mathbf{W}\|_2` the spectral norm (exact, from the singular values, once per
    call) and :math:`0 < \mu < 1` the contraction factor :obj:`mu`.

    **The bound.** :math:`\tanh` is 1-Lipschitz and :math:`\|\mu\hat{\mathbf{W}}\|_2 \le
    \mu`, so each term moves by at most :math:`\mu |e_{u,v}| / d_v \cdot
    \|\mathbf{h}_u - \mathbf{h}'_u\|_2`, and a node's weights :math:`|e_{u,v}| / d_v` sum
    to at most 1. The global map :math:`F` (all :math:`\mathbf{h}_v` at once) is thus a
    :math:`\mu`-contraction in the norm :math:`\|\mathbf{h}\|_{\infty} = \max_v
    \|\mathbf{h}_v\|_2` for any graph, weights, inputs and parameters (in the
    sum-of-squares norm over nodes the factor can exceed :math:`\mu`, e.g. at a hub). By
    Banach's theorem the fixed point :math:`\mathbf{h}^*` is unique, and
    :math:`\mathbf{h}^{(k+1)} = F(\mathbf{h}^{(k)})` from :math:`\mathbf{h}^{(0)} =
    \mathbf{0}` (or :obj:`state`) reaches it geometrically; a node without in-edges has
    :math:`\mathbf{h}_v = \mathbf{0}`. The paper keeps its nonlinear transition
    contractive with a penalty term during training, and its linear one with a similar
    :math:`\mu / \mathrm{degree}` scaling; this transition is nonlinear and contractive
    by construction.

    **Stopping.** The iteration stops at the first :math:`k` with
    :math:`\|\mathbf{h}^{(k+1)} - \mathbf{h}^{(k)}\|_{\infty} \le` :obj:`tol` (the maximum
    is over nodes and any leading dimensions) and returns :math:`\mathbf{h}^{(k+1)}`, whose
    residual is then :math:`\|F(\mathbf{h}) - \mathbf{h}\|_{\infty} \le \mu \cdot`
    :obj:`tol` and whose distance to :math:`\mathbf{h}^*` is at most :math:`\mu / (1 - \mu)
    \cdot` :obj:`tol`; or after :obj:`max_iter` evaluations of :math:`F`. The test costs
    one host sync per iteration; :obj:`tol=None` runs exactly :obj:`max_iter` iterations
    without any.

    **Training** follows the paper's Almeida-Pineda scheme, i.e. implicit differentiation
    of the fixed point: the iteration runs without autograd, the last step is recomputed
    with autograd, and a hook on the state replaces its incoming gradient
    :math:`\mathbf{a} = \partial L / \partial \mathbf{h}` by the solution of
    :math:`\mathbf{z} = \mathbf{a} + \mathbf{J}^{\top}\mathbf{z}` (:math:`\mathbf{J} =
    \partial F / \partial \mathbf{h}` at the fixed point), found by the same fixed-point
    iteration (vector-Jacobian products; it converges because the spectral radius of
    :math:`\mathbf{J}` is at most :math:`\mu`) until the relative change is below
    :obj:`tol` or after :obj:`max_iter` steps. Gradients then reach the parameters,
    :math:`\mathbf{x}` and the edge weights at the memory cost of one step, whatever the
    number of iterations. Second derivatives are not supported.

    The graph may be an :obj:`edge_index`, a :class:`torch_geometric.EdgeIndex`, or a
    transposed sparse adjacency :obj:`adj_t[v, u]` = :math:`e_{u,v}` (turned into edges
    once per call).

    Args:
        in_channels (int): Size of each input sample, :math:`F`.
        state_channels (int): Size of each node state, :math:`H`.
        out_channels (int): Size of each output sample, :math:`F_{out}`.
        mu (float, optional): The contraction factor :math:`0 < \mu < 1`; smaller values
            converge faster but let a node's state depend less on far nodes.
            (default: :obj:`0.9`)
        tol (float, optional): Stopping tolerance of the forward and backward iterations,
            or :obj:`None` to always run :obj:`max_iter` iterations. (default: :obj:`1e-5`)
        max_iter (int, optional): The iteration cap. (default: :obj:`50`)
        bias (bool, optional): If set to :obj:`False`, drops :math:`\mathbf{b}` and the bias
            of the default readout. (default: :obj:`True`)
        readout (torch.nn.Module, optional): The output function :math:`g`, mapping
            :math:`H + F \to F_{out}` on the last dimension (e.g. an MLP).
            (default: :obj:`None`, a :class:`torch.nn.Linear`)

    Shapes:
        - **input:**
          node features :math:`(*, N, F)`, e.g. :math:`(N, F)` or :math:`(B, T, N, F)`,
          edge indices :math:`(2, E)` or sparse matrix :math:`(N, N)`,
          edge weights :math:`(E)` *(optional)*,
          initial state :math:`(*, N, H)` *(optional, zeros)*
        - **output:** a pair ``(output, state)``: node outputs :math:`(*, N, F_{out})` and
          the fixed-point states :math:`(*, N, H)`
    """
    def __init__(self, in_channels: int, state_channels: int, out_channels: int,
                 mu: float = 0.9, tol: Optional[float] = 1e-5, max_iter: int = 50,
                 bias: bool = True, readout: Optional[nn.Module] = None):
        super().__init__(aggr='add', node_dim=-2)
        if not 0.0 < mu < 1.0:
            raise ValueError(f"mu={mu} is no contraction factor; pass 0 < mu < 1 (e.g. 0.9)")
        if tol is not None and tol < 0:
            raise ValueError(f"tol={tol} is negative; pass tol >= 0, or tol=None to always "
                             f"run max_iter iterations")
        if max_iter < 1:
            raise ValueError(f"max_iter={max_iter}; pass max_iter >= 1")
        self.in_channels = in_channels
        self.state_channels = state_channels
        self.out_channels = out_channels
        self.mu = mu
        self.tol = tol
        self.max_iter = max_iter
        H = state_channels
        self.lin_dst = nn.Linear(in_channels, H, bias=bias)  # Theta_1, b
        self.lin_src = nn.Linear(in_channels, H, bias=False)  # Theta_2
        self.weight = Parameter(torch.empty(H, H))  # W, before the spectral scaling
        self.readout = readout if readout is not None else nn.Linear(
            H + in_channels, out_channels, bias=bias)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets the transition's parameters and the readout."""
        super().reset_parameters()
        self.lin_dst.reset_parameters()
        self.lin_src.reset_parameters()
        glorot(self.weight)
        reset(self.readout)

    def forward(self, x: Tensor, edge_index: Adj, edge_weight: OptTensor = None,
                state: OptTensor = None) -> Tuple[Tensor, Tensor]:
        try:
            return self._forward(x, edge_index, edge_weight, state)
        except (IndexError, RuntimeError, ValueError) as e:
            if isinstance(edge_index, Tensor) and x.dim() >= 2:
                check_index_range(edge_index, x.size(-2), error=e)
            raise

    def _forward(self, x: Tensor, edge_index: Adj, edge_weight: OptTensor,
                 state: OptTensor) -> Tuple[Tensor, Tensor]:
        ctx = self.prepare(x, edge_index, edge_weight)
        h = ctx.x_dst.new_zeros(ctx.x_dst.shape) if state is None else state  # [*, N, H]
        if h.shape != ctx.x_dst.shape:
            raise ValueError(f"'state' has shape {list(h.shape)}; expected "
                             f"{list(ctx.x_dst.shape)} (x's shape with {self.state_channels} "
                             f"features), or pass state=None for zeros")
        with torch.no_grad():
            h_prev, h = self._solve(_detach(ctx), h.detach())
        if torch.is_grad_enabled():
            h = self.step(ctx, h_prev)  # the last step again, with autograd
            if h.requires_grad:
                h.register_hook(self._implicit_backward(_detach(ctx), h_prev))
        out = self.readout(torch.cat([h, x], dim=-1))  # [*, N, F_out]
        return out, h

    def prepare(self, x: Tensor, edge_index: Adj, edge_weight: OptTensor = None) -> _Transition:
        r"""Checks the inputs and computes once what the transition :math:`F` needs
        besides the state: the edges, :math:`e_{u,v} / d_v`, the two input projections and
        :math:`\mu\hat{\mathbf{W}}`."""
        if x.dim() < 2:
            raise ValueError(f"'x' has shape {list(x.shape)}; expected [N, F] or [*, N, F] "
                             f"(e.g. [B, T, N, F]); add a feature dimension with x[..., None]")
        check_feature_size(x, self.in_channels)
        N = x.size(-2)
        if is_sparse(edge_index):
            if edge_weight is not None:
                raise ValueError("'edge_weight' was given with a sparse adjacency; put the "
                                 "weights in the sparse matrix's values instead")
            if tuple(edge_index.size()) != (N, N):
                raise ValueError(f"the sparse adjacency has shape {list(edge_index.size())}, "
                                 f"but x has {N} nodes; expected [{N}, {N}]")
            if is_torch_sparse_tensor(edge_index) and edge_index.layout == torch.sparse_coo:
                edge_index = edge_index.coalesce()  # to_edge_index assumes a coalesced COO
            index, edge_weight = to_edge_index(edge_index)  # [2, E]: row v, column u
            edge_index = index.flip(0)  # [2, E]: row 0 = source u
        else:
            check_edge_weight(edge_index, edge_weight)
        if edge_weight is None:
            edge_weight = x.new_ones(edge_index.size(1))  # [E]
        edge_weight = edge_weight.to(x.dtype)
        dst = edge_index[1]
        deg = scatter(edge_weight.abs(), dst, dim=0, dim_size=N, reduce='sum')  # [N]  d_v
        inv = deg.reciprocal().masked_fill(deg == 0, 0.0)  # [N]
        norm = edge_weight * inv[dst]  # [E]  e_uv / d_v
        sigma = torch.linalg.matrix_norm(self.weight, ord=2)  # spectral norm of W
        weight = self.weight * (self.mu / sigma.clamp(min=1.0))  # [H, H]  mu * W_hat
        return _Transition(edge_index, norm, self.lin_dst(x), self.lin_src(x), weight)

    def step(self, ctx: _Transition, h: Tensor) -> Tensor:
        r"""One application of the global transition, :math:`F(\mathbf{h})`, with the
        state-independent parts from :meth:`prepare`: ``[*, N, H] -> [*, N, H]``."""
        z = ctx.x_src + h @ ctx.weight.t()  # [*, N, H]  Theta_2 x_u + mu W_hat h_u
        return self.propagate(ctx.edge_index, x_dst=ctx.x_dst, z=z, norm=ctx.norm)

    def transition(self, x: Tensor, h: Tensor, edge_index: Adj,
                   edge_weight: OptTensor = None) -> Tensor:
        r"""The global transition :math:`F(\mathbf{h})` for the inputs :math:`\mathbf{x}`:
        ``h [*, N, H] -> [*, N, H]``; the returned state of :meth:`forward` is its fixed
        point."""
        return self.step(self.prepare(x, edge_index, edge_weight), h)

    def message(self, x_dst_i: Tensor, z_j: Tensor, norm: Tensor) -> Tensor:
        # x_dst_i, z_j: [*, E, H]
        return norm.view(-1, 1) * torch.tanh(x_dst_i + z_j)

    def _solve(self, ctx: _Transition, h: Tensor) -> Tuple[Tensor, Tensor]:
        # Returns (h_k, h_{k+1} = F(h_k)) for the stopping k.
        h_prev = h
        for k in range(self.max_iter):
            h = self.step(ctx, h_prev)  # [*, N, H]
            if k == self.max_iter - 1 or (self.tol is not None
                                          and bool(_max_norm(h - h_prev) <= self.tol)):
                break
            h_prev = h
        return h_prev, h

    def _implicit_backward(self, ctx: _Transition, h_star: Tensor):
        def hook(grad: Tensor) -> Tensor:
            # Solve z = grad + J^T z by iteration, J = dF/dh at the fixed point.
            with torch.enable_grad():
                h0 = h_star.detach().requires_grad_()
                f0 = self.step(ctx, h0)  # [*, N, H]
            z = grad
            for _ in range(self.max_iter):
                vjp, = torch.autograd.grad(f0, h0, z, retain_graph=True)
                z_next = grad + vjp
                done = self.tol is not None and bool(
                    _max_norm(z_next - z) <= self.tol * _max_norm(z_next))
                z = z_next
                if done:
                    break
            return z
        return hook

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, {self.state_channels}, '
                f'{self.out_channels}, mu={self.mu})')


def _max_norm(h: Tensor) -> Tensor:
    # ||h||_inf = max over nodes (and leading dims) of the L2 norm of a node's features.
    return torch.linalg.vector_norm(h, dim=-1).amax()


def _detach(ctx: _Transition) -> _Transition:
    return _Transition(*(t.detach() for t in ctx))
