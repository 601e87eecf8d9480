r"""The edges between the nodes of a graph and its global (virtual) tokens.

Dimensions: N - nodes (of all graphs in a batch), G - graphs, k - global tokens per graph.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor


def global_token_edges(num_nodes: int, num_tokens: int, batch: Optional[Tensor] = None,
                       num_graphs: int = 1, device: Optional[torch.device] = None
                       ) -> Tuple[Tensor, Tensor]:
    r"""The edges between the nodes and :math:`k` global (virtual) tokens per graph, as in
    BigBird's global tokens (Zaheer et al. 2020) and Exphormer's virtual nodes: token
    :math:`g` of graph :math:`b` is numbered :math:`b k + g`.

    Returns :obj:`(gather, spread)`: :obj:`gather` holds the edges node :math:`\to` token
    (source = node, target = token number; for a bipartite layer whose targets are the
    :math:`G k` tokens), :obj:`spread` the edges token :math:`\to` node with the tokens
    numbered after the nodes (source = :math:`N + b k + g`; for a layer whose sources are the
    nodes followed by the tokens).

    Args:
        num_nodes (int): Number of nodes :math:`N`.
        num_tokens (int): Tokens per graph :math:`k`.
        batch (torch.Tensor, optional): Graph assignment :math:`[N]`. (default: :obj:`None`,
            one graph)
        num_graphs (int, optional): Number of graphs :math:`G` in :obj:`batch`.
            (default: :obj:`1`)
        device (torch.device, optional): Device of the result. (default: :obj:`batch`'s, or
            CPU)

    Shapes:
        - **output:** two :math:`(2, N k)` edge indices
    """
    if device is None:
        device = batch.device if batch is not None else torch.device('cpu')
    node = torch.arange(num_nodes, device=device).repeat_interleave(num_tokens)  # [N k]
    slot = torch.arange(num_tokens, device=device).repeat(num_nodes)  # [N k]
    graph = node.new_zeros(node.shape) if batch is None else batch.to(device)[node]  # [N k]
    token = graph * num_tokens + slot  # [N k]
    gather = torch.stack([node, token], dim=0)  # [2, N k]
    spread = torch.stack([token + num_nodes, node], dim=0)  # [2, N k]
    return gather, spread
