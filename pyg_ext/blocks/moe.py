r"""A sparsely-gated mixture of experts with noisy top-k gating.

The gate is written once here, as functions (:func:`noisy_top_k_gating`,
:func:`load_balancing_loss`, :func:`cv_squared`, :func:`reset_gate`,
:func:`check_expert_args`) that :class:`MoE` and :class:`~pyg_ext.nn.conv.moe_conv.MoEConv`
share.

Dimensions: ``*`` - any leading dimensions, ``S`` - tokens (the product of the leading
dimensions), ``E`` - experts, ``k`` - experts per token, ``F`` - features (``F_in``,
``F_out``).
"""
import math
from typing import Callable, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn.inits import reset

from pyg_ext.blocks.ffn import FFN
from pyg_ext.utils.checks import check_feature_size


class MoE(nn.Module):
    r"""The sparsely-gated mixture-of-experts layer from `"Outrageously Large Neural
    Networks: The Sparsely-Gated Mixture-of-Experts Layer"
    <https://arxiv.org/abs/1701.06538>`_ (Shazeer et al. 2017), applied to every token
    (node, time step, ...) along the last dimension:

    .. math::
        \mathbf{y} = \sum_{i=1}^{E} G(\mathbf{x})_i \, f_i(\mathbf{x}), \qquad
        G(\mathbf{x}) = \mathrm{softmax}\big(\mathrm{KeepTopK}(H(\mathbf{x}), k)\big),

    .. math::
        H(\mathbf{x})_i = (\mathbf{x} \mathbf{W}_g)_i + \epsilon_i \cdot
        \mathrm{softplus}\big((\mathbf{x} \mathbf{W}_{noise})_i\big), \qquad
        \epsilon_i \sim \mathcal{N}(0, 1),

    where KeepTopK sets all but the :math:`k` largest entries to :math:`-\infty`. The noise
    is drawn only in training (and only with :obj:`noisy_gating`); as in the authors'
    code its scale has a floor of :math:`10^{-2}`. Only the :math:`k` selected experts run,
    each on exactly the tokens routed to it: tokens are grouped by expert with one sort,
    each expert is called once on its group, and the gate-weighted outputs are summed back
    with :meth:`~torch.Tensor.index_add`. Experts that receive no token are not called.

    The auxiliary load-balancing loss is

    .. math::
        \mathcal{L}_{aux} = w \left( \mathrm{CV}(\mathrm{Importance})^2
        + \mathrm{CV}(\mathrm{Load})^2 \right), \qquad
        \mathrm{Importance}_i = \sum_{\mathbf{x}} G(\mathbf{x})_i,

    with :math:`\mathrm{CV}^2 = \mathrm{Var} / \mathrm{Mean}^2` (population variance over
    the :math:`E` experts). With noise, the load is the paper's smooth estimator
    :math:`\mathrm{Load}_i = \sum_{\mathbf{x}} \Phi\big(((\mathbf{x}\mathbf{W}_g)_i -
    \mathrm{kth\_excluding}(H(\mathbf{x}), k, i)) /
    \mathrm{softplus}((\mathbf{x}\mathbf{W}_{noise})_i)\big)`; without noise (eval mode,
    :obj:`noisy_gating=False`, or :math:`k = E`) it is the hard count of tokens sent to
    each expert.

    .. note::
        Routing is data-dependent: the layer reads the number of tokens per expert on the
        host (one device-to-host copy of :math:`E` integers per call) to split the tokens,
        so :func:`torch.compile` breaks the graph there.

    Args:
        in_channels (int): Size of each input feature vector, :math:`F_{in}`.
        out_channels (int): Size of each output feature vector, :math:`F_{out}`.
        num_experts (int): Number of experts :math:`E`.
        k (int, optional): Number of experts each token is sent to. (default: :obj:`2`)
        expert (callable, optional): A factory ``expert(in_channels, out_channels)``
            returning one expert module (an :class:`torch.nn.Module` class such as
            :class:`torch.nn.Linear` works). (default: :class:`~pyg_ext.blocks.ffn.FFN`
            with :obj:`hidden_channels`)
        hidden_channels (int, optional): Hidden size of the default :class:`FFN` experts.
            (default: :obj:`4 * in_channels`)
        noisy_gating (bool, optional): If :obj:`True`, add the learned gating noise in
            training. :math:`\mathbf{W}_g` and :math:`\mathbf{W}_{noise}` then start at zero
            as in the paper (balanced random routing at first); without noise
            :math:`\mathbf{W}_g` starts uniform in :math:`\pm 1/\sqrt{F_{in}}`, since an
            all-zero gate would tie every token to the same experts for good.
            (default: :obj:`True`)
        aux_loss_weight (float, optional): The weight :math:`w` of the auxiliary loss.
            (default: :obj:`1e-2`)

    Shapes:
        - **input:** :math:`(*, F_{in})`
        - **output:** a tuple ``(out, aux_loss)``: :math:`(*, F_{out})` and a scalar
          :math:`()`, returned in training and evaluation alike
    """
    noise_eps: float = 1e-2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_experts: int,
        k: int = 2,
        expert: Optional[Callable[[int, int], nn.Module]] = None,
        hidden_channels: Optional[int] = None,
        noisy_gating: bool = True,
        aux_loss_weight: float = 1e-2,
    ):
        super().__init__()
        check_expert_args(num_experts, k, expert, hidden_channels, per='token')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_experts = num_experts
        self.k = k
        self.noisy_gating = noisy_gating
        self.aux_loss_weight = aux_loss_weight

        self.w_gate = nn.Parameter(torch.empty(in_channels, num_experts))
        if noisy_gating:
            self.w_noise = nn.Parameter(torch.empty(in_channels, num_experts))
        else:
            self.register_parameter('w_noise', None)
        if expert is None:
            experts = [FFN(in_channels, hidden_channels, out_channels)
                       for _ in range(num_experts)]
        else:
            experts = [expert(in_channels, out_channels) for _ in range(num_experts)]
        self.experts = nn.ModuleList(experts)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets the gate (see :obj:`noisy_gating`) and every expert."""
        reset_gate(self.w_gate, self.w_noise)
        for expert in self.experts:
            reset(expert)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        check_feature_size(x, self.in_channels)
        lead = x.shape[:-1]
        x = x.reshape(-1, self.in_channels)  # [S, F_in]
        num_tokens, k = x.size(0), self.k
        if num_tokens == 0:
            return x.new_zeros(*lead, self.out_channels), x.new_zeros(())

        w_noise = self.w_noise if self.training else None  # noise in training only
        top_k_idx, top_k_gates, balance = noisy_top_k_gating(
            x, self.w_gate, w_noise, k, self.noise_eps)  # [S, k], [S, k], []
        out = self._dispatch(x, top_k_idx, top_k_gates)  # [S, F_out]
        return out.reshape(*lead, self.out_channels), self.aux_loss_weight * balance

    def _dispatch(self, x: Tensor, top_k_idx: Tensor, top_k_gates: Tensor) -> Tensor:
        # Group the S * k (token, expert) pairs by expert, run each expert once on its rows,
        # and add the gate-weighted rows back to their tokens.
        num_tokens, k = top_k_idx.shape
        expert_idx = top_k_idx.reshape(-1)  # [S * k]
        order = expert_idx.argsort(stable=True)  # [S * k]
        token_idx = torch.arange(num_tokens, device=x.device).repeat_interleave(k)[order]
        gates = top_k_gates.reshape(-1)[order].unsqueeze(-1)  # [S * k, 1]
        counts = expert_idx.bincount(minlength=self.num_experts)  # [E] tokens per expert
        counts = counts.tolist()  # the one host sync
        chunks = x[token_idx].split(counts)  # E x [count_i, F_in]
        outs = [expert(chunk) for expert, chunk, count in zip(self.experts, chunks, counts)
                if count > 0]
        y = torch.cat(outs, dim=0) * gates  # [S * k, F_out]
        return y.new_zeros(num_tokens, y.size(-1)).index_add(0, token_idx, y)  # [S, F_out]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'num_experts={self.num_experts}, k={self.k}, '
                f'noisy_gating={self.noisy_gating})')


def check_expert_args(num_experts: int, k: int, expert: Optional[Callable],
                      hidden_channels: Optional[int], per: str = 'token') -> None:
    r"""Raise :class:`ValueError` unless :math:`1 \le k \le E` and :obj:`hidden_channels` is
    only given for the default experts; :obj:`per` names what is routed (for messages)."""
    if num_experts < 1:
        raise ValueError(f"num_experts must be at least 1, got {num_experts}")
    if not 1 <= k <= num_experts:
        raise ValueError(
            f"k={k} experts per {per}, but the layer has num_experts={num_experts}; "
            f"choose 1 <= k <= num_experts (e.g. k={min(max(k, 1), num_experts)}) or "
            f"build the layer with num_experts >= {max(k, 1)}")
    if expert is not None and hidden_channels is not None:
        raise ValueError(
            "hidden_channels only sizes the default FFN experts; with a custom expert "
            "factory, set the hidden size inside the factory and leave "
            "hidden_channels=None")


def reset_gate(w_gate: Tensor, w_noise: Optional[Tensor]) -> None:
    r"""Initialises the gate weights :math:`[F_{in}, E]`: both zero with noise (balanced
    random routing at first, as in the paper), else :math:`\mathbf{W}_g` uniform in
    :math:`\pm 1/\sqrt{F_{in}}`."""
    if w_noise is not None:
        nn.init.zeros_(w_gate)
        nn.init.zeros_(w_noise)
    else:
        bound = 1.0 / math.sqrt(w_gate.size(0))
        nn.init.uniform_(w_gate, -bound, bound)


def noisy_top_k_gating(x: Tensor, w_gate: Tensor, w_noise: Optional[Tensor], k: int,
                       noise_eps: float = 1e-2) -> Tuple[Tensor, Tensor, Tensor]:
    r"""The noisy top-k gate of :class:`MoE` on the tokens :obj:`x` :math:`[S, F_{in}]`.

    Returns the :math:`k` chosen experts :math:`[S, k]` (best first), their gates
    :math:`[S, k]` (a softmax over the kept logits, summing to one) and the unweighted
    load-balancing loss :math:`\mathrm{CV}(\mathrm{Importance})^2 +
    \mathrm{CV}(\mathrm{Load})^2` :math:`[\,]` (see :func:`load_balancing_loss`). Pass
    :obj:`w_noise=None` for the clean gate (evaluation, or no noisy gating); otherwise the
    noise :math:`\epsilon \cdot (\mathrm{softplus}(\mathbf{x}\mathbf{W}_{noise}) +`
    :obj:`noise_eps`:math:`)` is added before the top-k."""
    clean = x @ w_gate  # [S, E]
    noise_std: Optional[Tensor] = None
    if w_noise is not None:
        noise_std = F.softplus(x @ w_noise) + noise_eps  # [S, E]
        logits = clean + torch.randn_like(clean) * noise_std  # [S, E]
    else:
        logits = clean
    # The k + 1 largest: the (k+1)-th is needed by the smooth load estimator.
    top_logits, top_idx = logits.topk(min(k + 1, clean.size(-1)), dim=-1)  # [S, k(+1)]
    top_k_idx = top_idx[:, :k]  # [S, k]
    top_k_gates = torch.softmax(top_logits[:, :k], dim=-1)  # [S, k]
    balance = load_balancing_loss(clean, top_logits, top_k_idx, top_k_gates, noise_std)
    return top_k_idx, top_k_gates, balance


def load_balancing_loss(clean: Tensor, top_logits: Tensor, top_k_idx: Tensor,
                        top_k_gates: Tensor, noise_std: Optional[Tensor] = None) -> Tensor:
    r"""The unweighted auxiliary loss :math:`\mathrm{CV}(\mathrm{Importance})^2 +
    \mathrm{CV}(\mathrm{Load})^2` of :class:`MoE` from the clean logits
    :math:`\mathbf{x}\mathbf{W}_g` :math:`[S, E]`, the :math:`\min(k + 1, E)` largest
    (noisy) logits :math:`[S, \cdot]`, the chosen experts and gates :math:`[S, k]` and the
    noise scale :math:`[S, E]`: the paper's smooth load with noise (and :math:`k < E`),
    the hard count of tokens per expert otherwise."""
    k, num_experts = top_k_idx.size(-1), clean.size(-1)
    selected = torch.zeros_like(clean, dtype=torch.bool).scatter(1, top_k_idx, True)  # [S, E]
    gates = torch.zeros_like(clean).scatter(1, top_k_idx, top_k_gates)  # [S, E]
    importance = gates.sum(dim=0)  # [E]
    if noise_std is not None and k < num_experts:
        # kth_excluding(H, k, i): the (k+1)-th largest logit if i is among the top k
        # (removing i lifts it to k-th place), the k-th largest otherwise.
        threshold = torch.where(selected, top_logits[:, k:k + 1],
                                top_logits[:, k - 1:k])  # [S, E]
        load = torch.special.ndtr((clean - threshold) / noise_std).sum(dim=0)  # [E]
    else:
        load = selected.sum(dim=0).to(clean.dtype)  # [E]
    return cv_squared(importance) + cv_squared(load)


def cv_squared(v: Tensor) -> Tensor:
    r"""The squared coefficient of variation :math:`\mathrm{Var}(v) / \mathrm{Mean}(v)^2`
    (population variance) of a vector :math:`[E]`, with :math:`10^{-10}` added to the
    denominator."""
    return v.var(correction=0) / (v.mean().square() + 1e-10)
