r"""Node embeddings that memoise the node-specific filters generated from them, for one
forward pass of a model with node-adaptive convolutions (AGCRN).

Dimensions: N - nodes, D - node embedding size, K - Chebyshev polynomials,
F - features (F_in, F_out).
"""
from typing import Dict, Optional, Tuple

from torch import Tensor, nn

#: The filters of one convolution: K tensors [N, F_in, F_out], and biases [N, F_out] or None.
Filters = Tuple[Tuple[Tensor, ...], Optional[Tensor]]


class NodeFilters:
    r"""The node embeddings :math:`\mathbf{E} \in \mathbb{R}^{N \times D}` of one forward
    pass, together with the node-specific filters that every
    :class:`~pyg_ext.nn.conv.NodeAdaptiveConv` generates from them,

    .. math::
        \mathbf{\Theta}_{n,k} = \sum_{d=1}^{D} e_{n,d}\, \mathbf{W}_{pool}[d, k], \qquad
        \mathbf{b}_n = \mathbf{e}_n \mathbf{b}_{pool},

    computed the first time each convolution asks (:meth:`get`) and reused for every later
    call. A recurrent model calls each gate convolution once per time step, and the filters
    depend on :math:`\mathbf{E}` and the weight pool only, not on the step: passing a
    :class:`NodeFilters` in place of the ``[N, D]`` embedding tensor generates them (and
    accumulates their gradient) once per forward instead of once per step. Autograd sums the
    gradients of all the steps that used a filter, so the gradients of :math:`\mathbf{E}`
    and the pools are those of the uncached computation.

    Build a new one in every forward pass (:class:`~pyg_ext.nn.models.AGCRN` does it in
    :meth:`graph_args`): the filters are tensors computed from the parameters as they were
    then, so after an optimizer step a kept :class:`NodeFilters` would be stale (and its
    backward would fail on the modified parameters).

    Args:
        node_emb (torch.Tensor): The node embeddings :math:`\mathbf{E}`, ``[N, D]``.

    Shapes:
        - **node_emb:** :math:`(N, D)`
        - :meth:`get`: :math:`K` filters :math:`(N, F_{in}, F_{out})` and biases
          :math:`(N, F_{out})` (or :obj:`None`)
    """
    def __init__(self, node_emb: Tensor):
        self.node_emb = node_emb
        self._cache: Dict[int, Filters] = {}

    def get(self, conv: nn.Module) -> Filters:
        r"""The filters of :obj:`conv` (``conv.filters(node_emb)``), generated on the first
        call for this convolution and returned from the memo afterwards."""
        # Keyed by id(): the modules outlive this object, which lives for one forward pass.
        key = id(conv)
        if key not in self._cache:
            self._cache[key] = conv.filters(self.node_emb)
        return self._cache[key]

    def __len__(self) -> int:
        return len(self._cache)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(node_emb={list(self.node_emb.shape)}, '
                f'convs={len(self)})')
