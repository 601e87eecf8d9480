"""Link-prediction helpers: negative sampling and ranking metrics, in torch.

Dimensions: N - nodes, E - edges, P - positive pairs, Q - negative pairs.

The metrics take the scores of positive and of negative pairs (as OGB's evaluators do),
run on any device without sklearn, and return 0-dimensional tensors (call
:obj:`float(...)` to log them).
"""
import torch
from torch import Tensor
from torch_geometric.utils import negative_sampling

from pyg_ext.utils.checks import check_edge_index


def sample_negative_edges(edge_index: Tensor, num_nodes: int, ratio: float = 1.0,
                          force_undirected: bool = False, method: str = 'sparse') -> Tensor:
    r"""Samples :math:`\lfloor \text{ratio} \cdot E \rfloor` node pairs that are not edges of
    the graph, with :func:`torch_geometric.utils.negative_sampling`.

    :obj:`num_nodes` is required: inferred from :obj:`edge_index.max()` it would miss
    isolated nodes at the end of the index range (and cost a device sync). As PyG's
    sampler, it may return fewer pairs than asked for on very dense graphs; self-loops are
    never sampled.

    Args:
        edge_index (torch.Tensor): The positive edges, :math:`(2, E)`.
        num_nodes (int): The number of nodes :math:`N`.
        ratio (float, optional): Negative pairs per positive edge. (default: :obj:`1.0`)
        force_undirected (bool, optional): Return both directions of each sampled pair,
            for undirected graphs. (default: :obj:`False`)
        method (str, optional): :obj:`'sparse'` or :obj:`'dense'`, see
            :func:`~torch_geometric.utils.negative_sampling`. (default: :obj:`'sparse'`)

    Shapes:
        - **input:** :math:`(2, E)`
        - **output:** :math:`(2, Q)` with :math:`Q \le \lfloor \text{ratio} \cdot E \rfloor`
    """
    check_edge_index(edge_index)
    if ratio <= 0:
        raise ValueError(f"'ratio' is {ratio}; ask for a positive number of negatives per edge")
    num_neg = max(1, int(ratio * edge_index.size(1)))
    return negative_sampling(edge_index, num_nodes=num_nodes, num_neg_samples=num_neg,
                             method=method, force_undirected=force_undirected)


def roc_auc(pos_score: Tensor, neg_score: Tensor) -> Tensor:
    r"""Area under the ROC curve: the probability that a random positive pair scores above
    a random negative pair, ties counting one half (the Mann-Whitney :math:`U` statistic
    over :math:`PQ`), as :func:`sklearn.metrics.roc_auc_score`.

    Shapes:
        - **input:** :math:`(P)`, :math:`(Q)`
        - **output:** :math:`()`
    """
    _check_scores(pos_score, neg_score)
    num_pos, num_neg = pos_score.numel(), neg_score.numel()
    scores = torch.cat([pos_score, neg_score]).double()  # [P + Q]
    _, inverse, counts = torch.unique(scores, sorted=True, return_inverse=True,
                                      return_counts=True)
    # The tied scores of a group share the mean of the 1-based ranks they span.
    counts = counts.double()
    mean_rank = counts.cumsum(0) - (counts - 1.0) / 2.0  # [distinct scores]
    pos_rank_sum = mean_rank[inverse[:num_pos]].sum()
    u = pos_rank_sum - num_pos * (num_pos + 1) / 2.0
    return u / (num_pos * num_neg)


def average_precision(pos_score: Tensor, neg_score: Tensor) -> Tensor:
    r"""Average precision, :math:`\sum_n (R_n - R_{n-1}) P_n` over the distinct score
    thresholds in decreasing order (tied scores form one threshold), as
    :func:`sklearn.metrics.average_precision_score`.

    Shapes:
        - **input:** :math:`(P)`, :math:`(Q)`
        - **output:** :math:`()`
    """
    _check_scores(pos_score, neg_score)
    scores = torch.cat([pos_score, neg_score]).double()  # [P + Q]
    labels = torch.cat([torch.ones_like(pos_score, dtype=torch.double),
                        torch.zeros_like(neg_score, dtype=torch.double)])  # [P + Q]
    order = torch.argsort(scores, descending=True, stable=True)
    scores, labels = scores[order], labels[order]
    _, counts = torch.unique_consecutive(scores, return_counts=True)
    last = counts.cumsum(0) - 1  # [thresholds] the last position of each tie group
    tp = labels.cumsum(0)[last]  # [thresholds] true positives at each threshold
    precision = tp / (last + 1).double()
    new_tp = torch.diff(tp, prepend=tp.new_zeros(1))  # positives gained at each threshold
    return (new_tp * precision).sum() / pos_score.numel()


def hits_at_k(pos_score: Tensor, neg_score: Tensor, k: int) -> Tensor:
    r"""Hits@K as in OGB's link-prediction evaluator: the fraction of positive pairs scored
    strictly above the :math:`K`-th highest negative score (1 if there are fewer than
    :math:`K` negatives).

    Shapes:
        - **input:** :math:`(P)`, :math:`(Q)`
        - **output:** :math:`()`
    """
    _check_scores(pos_score, neg_score)
    if k < 1:
        raise ValueError(f"'k' is {k}; Hits@K needs k >= 1")
    if neg_score.numel() < k:
        return torch.ones((), dtype=torch.double, device=pos_score.device)
    kth = torch.topk(neg_score, k).values[-1]
    return (pos_score > kth).double().mean()


def _check_scores(pos_score: Tensor, neg_score: Tensor) -> None:
    for name, score in (('pos_score', pos_score), ('neg_score', neg_score)):
        if score.dim() != 1:
            raise ValueError(f"'{name}' has shape {list(score.shape)}; expected one score "
                             f"per pair, shape [num_pairs] (flatten it with .view(-1))")
        if score.numel() == 0:
            raise ValueError(f"'{name}' is empty; the metric needs at least one positive "
                             f"and one negative pair")
