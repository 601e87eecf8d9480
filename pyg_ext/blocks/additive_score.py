r"""The additive attention score of Bahdanau et al. (2015), with GAT's rank-one form.

Dimensions: ``B`` - batch, ``H`` - heads, ``L_q`` / ``L_k`` - query / key length,
``D`` - channels per head, ``Hd`` - hidden channels of the score, ``*`` - any leading
dimensions (e.g. ``E`` edges).
"""
from typing import Optional, Union

import torch
from torch import Tensor, nn
from torch_geometric.nn.inits import glorot, zeros

from pyg_ext.blocks.activation import activation_name, activation_resolver
from pyg_ext.blocks.attention_score import AttentionScore


class AdditiveScore(AttentionScore):
    r"""The additive score from `"Neural Machine Translation by Jointly Learning to Align
    and Translate" <https://arxiv.org/abs/1409.0473>`_ (Bahdanau et al. 2015), per head
    :math:`h`:

    .. math::
        e_h(\mathbf{q}, \mathbf{k}) = \mathbf{v}_h^{\top} \sigma\big(
        \mathbf{W}^{Q}_h \mathbf{q} + \mathbf{W}^{K}_h \mathbf{k} + \mathbf{b}_h\big)

    with :math:`\mathbf{W}^{Q}_h, \mathbf{W}^{K}_h \in \mathbb{R}^{H_d \times D}`. With
    ``act='leaky_relu'`` this is the score of GATv2 (Brody et al. 2022).

    With ``rank_one=True`` the projections are vectors and the activation comes last,

    .. math::
        e_h(\mathbf{q}, \mathbf{k}) = \sigma\big(\mathbf{a}^{Q\top}_h \mathbf{q} +
        \mathbf{a}^{K\top}_h \mathbf{k}\big),

    which with ``act='leaky_relu'`` is exactly the score of GAT (Velickovic et al. 2018):
    copy PyG :class:`~torch_geometric.nn.conv.GATConv`'s ``att_dst`` (target = query) into
    :obj:`att_query` and ``att_src`` (source = key) into :obj:`att_key`.

    :meth:`prepare_query` / :meth:`prepare_key` apply the projections once per node
    (to :math:`[*, H, H_d]`, or :math:`[*, H]` in the rank-one form), so :meth:`pairwise`
    only adds, activates and (full form) reduces with :math:`\mathbf{v}_h` per edge.

    Args:
        channels (int): Channels per head, :math:`D`.
        heads (int, optional): Number of heads :math:`H`. (default: :obj:`1`)
        hidden_channels (int, optional): Hidden size :math:`H_d` of the full form; must be
            left :obj:`None` with ``rank_one=True``. (default: :obj:`channels`)
        act (str or torch.nn.Module, optional): The activation :math:`\sigma`, a name for
            :func:`~pyg_ext.blocks.activation.activation_resolver` or a module.
            (default: :obj:`'tanh'`)
        negative_slope (float, optional): Slope for ``act='leaky_relu'``.
            (default: :obj:`0.2`, as GAT)
        rank_one (bool, optional): Use the rank-one (GAT) form. (default: :obj:`False`)
        bias (bool, optional): Learn the bias :math:`\mathbf{b}_h` of the full form.
            (default: :obj:`False`, as Bahdanau et al.)

    Shapes:
        - **prepare_query / prepare_key:** :math:`(*, H, D) \to (*, H, H_d)`, or
          :math:`(*, H, D) \to (*, H)` with ``rank_one=True``
        - **pairwise:** prepared queries and keys :math:`\to (*, H)`
        - **forward:** :math:`(B, H, L_q, D), (B, H, L_k, D) \to (B, H, L_q, L_k)`
    """
    def __init__(
        self,
        channels: int,
        heads: int = 1,
        hidden_channels: Optional[int] = None,
        act: Union[str, nn.Module] = 'tanh',
        negative_slope: float = 0.2,
        rank_one: bool = False,
        bias: bool = False,
    ):
        super().__init__(channels, heads)
        if rank_one and (hidden_channels is not None or bias):
            raise ValueError("The rank-one (GAT) form has no hidden layer: leave "
                             "hidden_channels=None and bias=False with rank_one=True")
        self.rank_one = rank_one
        self.hidden_channels = None if rank_one else (hidden_channels or channels)
        self.negative_slope = negative_slope
        self.act_name = activation_name(act)
        if isinstance(act, str) and act.lower().replace('-', '_') == 'leaky_relu':
            self.act = nn.LeakyReLU(negative_slope)
        else:
            self.act = activation_resolver(act)

        if rank_one:
            self.att_query = nn.Parameter(torch.empty(heads, channels))  # [H, D]
            self.att_key = nn.Parameter(torch.empty(heads, channels))  # [H, D]
            self.register_parameter('weight_query', None)
            self.register_parameter('weight_key', None)
            self.register_parameter('att', None)
        else:
            hid = self.hidden_channels
            self.register_parameter('att_query', None)
            self.register_parameter('att_key', None)
            self.weight_query = nn.Parameter(torch.empty(heads, channels, hid))  # [H, D, Hd]
            self.weight_key = nn.Parameter(torch.empty(heads, channels, hid))  # [H, D, Hd]
            self.att = nn.Parameter(torch.empty(heads, hid))  # [H, Hd]
        if bias:
            self.bias = nn.Parameter(torch.empty(heads, self.hidden_channels))  # [H, Hd]
        else:
            self.register_parameter('bias', None)
        self.reset_parameters()

    def reset_parameters(self):
        for param in (self.att_query, self.att_key, self.weight_query, self.weight_key,
                      self.att):
            if param is not None:
                glorot(param)
        zeros(self.bias)
        if hasattr(self.act, 'reset_parameters'):  # e.g. nn.PReLU
            self.act.reset_parameters()

    def prepare_query(self, q: Tensor) -> Tensor:
        self._check_heads(q, 'q')
        if self.rank_one:
            return (q * self.att_query).sum(dim=-1)  # [*, H]
        q = torch.einsum('...hd,hdc->...hc', q, self.weight_query)  # [*, H, Hd]
        return q if self.bias is None else q + self.bias

    def prepare_key(self, k: Tensor) -> Tensor:
        self._check_heads(k, 'k')
        if self.rank_one:
            return (k * self.att_key).sum(dim=-1)  # [*, H]
        return torch.einsum('...hd,hdc->...hc', k, self.weight_key)  # [*, H, Hd]

    def pairwise(self, q_prep: Tensor, k_prep: Tensor) -> Tensor:
        if self.rank_one:
            return self.act(q_prep + k_prep)  # [*, H]
        return (self.act(q_prep + k_prep) * self.att).sum(dim=-1)  # [*, H]

    def _repr_args(self) -> str:
        form = ', rank_one=True' if self.rank_one else f', hidden_channels={self.hidden_channels}'
        return f"{form}, act='{self.act_name}'"
