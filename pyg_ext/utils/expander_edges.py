r"""Random regular expander edges, as added to a graph by Exphormer.

Dimensions: N - nodes (of all graphs in a batch), d - expander degree.
"""
from typing import Optional

import torch
from torch import Tensor


def expander_edges(num_nodes: int, degree: int, seed: int = 0, batch: Optional[Tensor] = None,
                   device: Optional[torch.device] = None) -> Tensor:
    r"""The edges of a random :math:`d`-regular expander on the nodes, as added to the graph
    by `"Exphormer: Sparse Transformers for Graphs" <https://arxiv.org/abs/2303.06147>`_
    (Shirzad et al., ICML 2023): the union of :math:`d / 2` uniformly random permutations
    :math:`\pi_r` and their inverses,

    .. math::
        \mathcal{E}_{exp} = \{(i, \pi_r(i)),\ (\pi_r(i), i) : i \in \mathcal{V},\
        r = 1, \ldots, d/2\},

    the permutation model of random regular graphs, which are near-Ramanujan expanders with
    high probability (Friedman 2008). Every node has exactly :math:`d` incoming and
    :math:`d` outgoing edges, counting the rare self-loops and repeated edges the model
    allows (about one fixed point per permutation), so a signal crosses the graph in
    :math:`O(\log N)` hops at :math:`O(dN)` cost.

    The permutations are drawn on the CPU from :obj:`seed` alone (the same seed, size and
    :obj:`batch` give the same edges); build them once per graph and reuse them (see
    :class:`~pyg_ext.utils.add_expander_edges.AddExpanderEdges`), not once per step.

    Args:
        num_nodes (int): Number of nodes :math:`N`.
        degree (int): The even degree :math:`d \geq 2`.
        seed (int, optional): Seed of the permutations. (default: :obj:`0`)
        batch (torch.Tensor, optional): Sorted graph assignment :math:`[N]` of a batch of
            graphs: each graph gets its own expander, no edge joins two graphs.
            (default: :obj:`None`, one graph)
        device (torch.device, optional): Device of the result. (default: :obj:`batch`'s, or
            CPU)

    Shapes:
        - **output:** :math:`(2, N d)`, row 0 = source, row 1 = target
    """
    if not isinstance(degree, int) or degree < 2 or degree % 2:
        raise ValueError(f"'degree' is {degree!r}; the expander is built from degree / 2 "
                         f"permutations and their inverses, so use an even degree >= 2")
    if batch is not None and (batch.dim() != 1 or batch.numel() != num_nodes):
        raise ValueError(f"'batch' has shape {list(batch.shape)}; expected [{num_nodes}], the "
                         f"graph index of every node")
    if device is None:
        device = batch.device if batch is not None else torch.device('cpu')
    generator = torch.Generator().manual_seed(seed)
    keys = torch.rand(degree // 2, num_nodes, generator=generator, dtype=torch.float64)  # [d/2, N]
    if batch is not None:
        # Sorting (graph, random key) permutes the nodes within each graph only.
        keys = keys + batch.detach().cpu().to(torch.float64)  # [d/2, N]
    perm = keys.argsort(dim=1)  # [d/2, N]: node i -> perm[r, i], same graph
    node = torch.arange(num_nodes).expand_as(perm)  # [d/2, N]
    src = torch.cat([node.reshape(-1), perm.reshape(-1)])  # [N d]
    dst = torch.cat([perm.reshape(-1), node.reshape(-1)])  # [N d]
    return torch.stack([src, dst], dim=0).to(device)  # [2, N d]

