"""Graph construction for sensor networks: dense matrices, edge lists and distance kernels.

Dimensions: N - nodes, E - edges.
"""
from typing import Optional, Tuple, Union

import numpy as np
import torch
from torch import Tensor


def dense_to_edges(adj: Union[Tensor, np.ndarray]) -> Tuple[Tensor, Tensor]:
    r"""Every non-zero ``adj[i, j]`` becomes the edge :math:`i \to j` with that weight.

    Self-loops (a non-zero diagonal, as in DCRNN's and T-GCN's matrices) are kept as
    published; remove them with :func:`torch_geometric.utils.remove_self_loops`.

    Shapes:
        - **adj**: :math:`(N, N)`
        - **output**: ``edge_index`` :math:`(2, E)` long, ``edge_weight`` :math:`(E)` float32
    """
    adj = torch.as_tensor(adj)
    if adj.dim() != 2 or adj.size(0) != adj.size(1):
        raise ValueError(f"the adjacency has shape {list(adj.shape)}; expected a square "
                         f"[N, N] matrix")
    edge_index = adj.nonzero().t().contiguous()  # [2, E]
    edge_weight = adj[edge_index[0], edge_index[1]].to(torch.float32)  # [E]
    return edge_index, edge_weight


def gaussian_kernel_weights(
    distance: Tensor,
    sigma: Optional[float] = None,
    threshold: float = 0.0,
) -> Tuple[Tensor, Tensor]:
    r"""The thresholded Gaussian kernel of road distance of DCRNN (Li et al., ICLR 2018):

    .. math::
        w_{ij} = \exp\left(-\frac{d_{ij}^2}{\sigma^2}\right), \quad
        w_{ij} = 0 \text{ if } w_{ij} < \kappa

    Args:
        distance (torch.Tensor): Distances of the listed edges ``[E]``.
        sigma (float, optional): Kernel width. (default: :obj:`None`, the standard deviation
            of :obj:`distance`, as DCRNN)
        threshold (float, optional): :math:`\kappa`; edges whose weight falls below it are
            dropped (DCRNN uses 0.1). (default: :obj:`0.0`, keep every listed edge)

    Returns:
        ``(weight [E], keep [E] bool)``.
    """
    distance = torch.as_tensor(distance, dtype=torch.float64)
    if sigma is None:
        sigma = float(distance.std()) if distance.numel() > 1 else 1.0
    if not sigma > 0:
        raise ValueError(f"the Gaussian kernel needs sigma > 0, got {sigma}; pass sigma "
                         f"explicitly when all distances are equal")
    weight = torch.exp(-(distance / sigma) ** 2)
    keep = weight >= threshold
    return weight.to(torch.float32), keep


def edges_from_distances(
    src: Tensor,
    dst: Tensor,
    distance: Tensor,
    weighting: str = 'gaussian',
    sigma: Optional[float] = None,
    threshold: float = 0.0,
    symmetric: bool = False,
) -> Tuple[Tensor, Tensor]:
    r"""Turn a distance edge list into ``(edge_index, edge_weight)``.

    Args:
        src (torch.Tensor): Source nodes ``[E]``.
        dst (torch.Tensor): Target nodes ``[E]``.
        distance (torch.Tensor): Distances ``[E]``.
        weighting (str, optional): ``'gaussian'`` (:func:`gaussian_kernel_weights`),
            ``'binary'`` (all ones, as ASTGCN) or ``'distance'`` (the raw distance).
            (default: :obj:`'gaussian'`)
        sigma (float, optional): Kernel width for ``'gaussian'``. (default: :obj:`None`)
        threshold (float, optional): Kernel threshold for ``'gaussian'``. (default: :obj:`0.0`)
        symmetric (bool, optional): Add the reverse of every edge (a reverse edge that is
            already listed keeps its own weight). (default: :obj:`False`)
    """
    src, dst = torch.as_tensor(src).long(), torch.as_tensor(dst).long()
    distance = torch.as_tensor(distance, dtype=torch.float64)
    if weighting == 'gaussian':
        weight, keep = gaussian_kernel_weights(distance, sigma, threshold)
    elif weighting == 'binary':
        weight, keep = torch.ones(src.numel()), torch.ones(src.numel(), dtype=torch.bool)
    elif weighting == 'distance':
        weight, keep = distance.to(torch.float32), torch.ones(src.numel(), dtype=torch.bool)
    else:
        raise ValueError(f"unknown weighting {weighting!r}; use 'gaussian', 'binary' or "
                         f"'distance'")
    edge_index = torch.stack([src[keep], dst[keep]])  # [2, E]
    edge_weight = weight[keep]  # [E]
    if symmetric:
        listed = set(zip(edge_index[0].tolist(), edge_index[1].tolist()))
        rev = [k for k, (i, j) in enumerate(zip(edge_index[0].tolist(), edge_index[1].tolist()))
               if (j, i) not in listed and i != j]
        rev = torch.tensor(rev, dtype=torch.long)
        edge_index = torch.cat([edge_index, edge_index[:, rev].flip(0)], dim=1)  # [2, E']
        edge_weight = torch.cat([edge_weight, edge_weight[rev]])  # [E']
    return edge_index, edge_weight
