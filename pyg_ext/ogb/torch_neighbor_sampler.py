r"""Neighbour sampling in plain torch, for PyG's :class:`~torch_geometric.loader.NeighborLoader`
where neither ``pyg-lib`` nor ``torch-sparse`` is installed.

Dimensions: N nodes, E edges, S seed nodes, M frontier nodes of a hop, C candidate edges.
"""
import warnings
from typing import Any, List, Optional

import torch
from torch import Tensor
from torch_geometric.sampler import NeighborSampler, SamplerOutput


class TorchNeighborSampler(NeighborSampler):
    r"""PyG's :class:`~torch_geometric.sampler.NeighborSampler` (the GraphSAGE sampler of
    `"Inductive Representation Learning on Large Graphs"
    <https://arxiv.org/abs/1706.02216>`_) with its sampling step written in torch, so that
    :class:`~torch_geometric.loader.NeighborLoader` runs without the compiled ``pyg-lib`` or
    ``torch-sparse``. Pass it as ``NeighborLoader(data, num_neighbors,
    neighbor_sampler=TorchNeighborSampler(data, num_neighbors))``.

    Hop :math:`l` draws, for every node :math:`v` reached at hop :math:`l - 1` (the seeds at
    hop 0), :math:`\min(k_l, \deg_{in}(v))` of its in-neighbours uniformly without
    replacement (all of them for :math:`k_l = -1`; with replacement if ``replace``). The
    output follows ``pyg-lib``: seeds first, then each hop's new nodes in order of first
    appearance, edges from sampled neighbour (``row``) to the node it was sampled for
    (``col``), edge ids as positions in the sampler's CSC order, and the number of nodes and
    edges added per hop (so ``trim_to_layer`` works).

    Args:
        data (torch_geometric.data.Data): the graph (homogeneous, in CPU memory).
        num_neighbors (List[int]): neighbours per node and hop, :math:`k_l`.
        replace (bool, optional): sample with replacement. (default: :obj:`False`)

    Shapes:
        - **input:** seed nodes :math:`(S,)`
        - **output:** a :class:`~torch_geometric.sampler.SamplerOutput`
    """
    def __init__(self, data: Any, num_neighbors: List[int], replace: bool = False, **kwargs):
        if not isinstance(num_neighbors, (list, tuple)):
            raise ValueError(f"num_neighbors={num_neighbors!r}; TorchNeighborSampler samples "
                             f"homogeneous graphs: pass a list with one int per hop")
        with warnings.catch_warnings():  # "without pyg-lib is deprecated": this is the fix
            warnings.simplefilter('ignore')
            super().__init__(data, num_neighbors=list(num_neighbors), replace=replace, **kwargs)
        if self.disjoint or self.node_time is not None or self.edge_time is not None:
            raise ValueError('TorchNeighborSampler supports plain (non-disjoint, non-temporal) '
                             'sampling; install pyg-lib for disjoint or temporal sampling')

    def _pick(self, deg: Tensor, k: int) -> Any:
        # Returns (segment, offset) of the chosen in-edges of each frontier node.
        if k < 0:
            take = deg
        else:
            take = deg.clamp(max=k)
        if self.replace and k >= 0:
            seg = torch.arange(deg.numel()).repeat_interleave(take)  # [C]
            offset = (torch.rand(seg.numel()) * deg[seg]).long()  # [C]
            return seg, offset
        seg = torch.arange(deg.numel()).repeat_interleave(deg)  # [C]
        start = (deg.cumsum(0) - deg).repeat_interleave(deg)  # [C]
        offset = torch.arange(seg.numel()) - start  # [C]
        if k < 0:
            return seg, offset
        # Uniform without replacement: sort random keys within each node's in-edges and keep
        # the first `take`.
        order = torch.argsort(torch.rand(seg.numel()))
        order = order[torch.argsort(seg[order], stable=True)]  # [C], grouped by node
        keep = (torch.arange(seg.numel()) - start) < take[seg]  # rank within node < take
        order = order[keep]
        return seg[order], offset[order]

    def _sample(self, seed: Tensor, seed_time: Optional[Tensor] = None,
                **kwargs) -> SamplerOutput:
        if isinstance(seed, dict):
            raise ValueError('TorchNeighborSampler samples homogeneous graphs; install pyg-lib '
                             'for heterogeneous sampling')
        seed = seed.to(torch.long)
        colptr, row = self.colptr.to(torch.long), self.row.to(torch.long)
        local = torch.full((self.num_nodes,), -1, dtype=torch.long)  # global -> local id
        local[seed] = torch.arange(seed.numel())
        nodes, rows, cols, edges = [seed], [], [], []
        num_nodes, num_edges = [seed.numel()], []
        frontier, frontier_local, count = seed, torch.arange(seed.numel()), seed.numel()
        for k in self.num_neighbors.get_mapped_values():
            start = colptr[frontier]  # [M]
            seg, offset = self._pick(colptr[frontier + 1] - start, k)
            edge = start[seg] + offset  # [C], positions in CSC order
            src = row[edge]  # [C], global ids of sampled neighbours
            dst_local = frontier_local[seg]  # [C], local ids of the nodes sampled for
            new = src[local[src] < 0]
            uniq, inverse = torch.unique(new, return_inverse=True)
            first = torch.full((uniq.numel(),), new.numel(), dtype=torch.long)
            first.scatter_reduce_(0, inverse, torch.arange(new.numel()), reduce='amin')
            frontier = uniq[torch.argsort(first)]  # new nodes by first appearance
            frontier_local = torch.arange(count, count + frontier.numel())
            local[frontier] = frontier_local
            count += frontier.numel()
            nodes.append(frontier)
            rows.append(local[src])
            cols.append(dst_local)
            edges.append(edge)
            num_nodes.append(frontier.numel())
            num_edges.append(edge.numel())
        return SamplerOutput(node=torch.cat(nodes), row=torch.cat(rows), col=torch.cat(cols),
                             edge=torch.cat(edges), batch=None, num_sampled_nodes=num_nodes,
                             num_sampled_edges=num_edges)
