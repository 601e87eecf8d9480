import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.loader import NeighborLoader

from pyg_ext.ogb.torch_neighbor_sampler import TorchNeighborSampler


def _data():
    edge_index = torch.randint(0, 40, (2, 400))
    return Data(x=torch.arange(40).float().view(-1, 1), edge_index=edge_index)


def test_batches_are_subgraphs_with_at_most_k_distinct_in_neighbours():
    data = _data()
    sampler = TorchNeighborSampler(data, [3, 2])
    loader = NeighborLoader(data, [3, 2], batch_size=5, input_nodes=torch.arange(20),
                            neighbor_sampler=sampler)
    seen = 0
    for batch in loader:
        n_id, (src, dst) = batch.n_id, batch.edge_index
        assert torch.equal(n_id[:batch.batch_size], torch.arange(seen, seen + 5))
        seen += 5
        # every sampled edge is an edge of the graph, with the right edge id
        assert torch.equal(data.edge_index[:, batch.e_id], torch.stack([n_id[src], n_id[dst]]))
        # no edge drawn twice for a node (without replacement) and at most k per node and hop
        assert batch.e_id.unique().numel() == batch.e_id.numel()
        hop0 = batch.num_sampled_edges[0]
        per_seed = torch.bincount(dst[:hop0], minlength=5)
        in_deg = torch.bincount(data.edge_index[1], minlength=40)[n_id[:5]]
        assert torch.equal(per_seed, in_deg.clamp(max=3))
        assert len(batch.num_sampled_nodes) == 3
    assert seen == 20


def test_all_neighbours_with_minus_one_and_uniformity():
    data = _data()
    sampler = TorchNeighborSampler(data, [-1])
    out = sampler.sample_from_nodes.__self__._sample(torch.tensor([7]))
    assert sorted(out.edge.tolist()) == sorted(
        sampler.perm.argsort()[(data.edge_index[1] == 7).nonzero().view(-1)].tolist()) or \
        out.edge.numel() == int((data.edge_index[1] == 7).sum())
    # uniform without replacement: with k = 1 each in-edge of node 0 is drawn ~1/deg of times
    star = Data(edge_index=torch.stack([torch.arange(1, 5), torch.zeros(4, dtype=torch.long)]),
                num_nodes=5)
    one = TorchNeighborSampler(star, [1])
    counts = torch.zeros(5)
    for _ in range(400):
        counts[one._sample(torch.tensor([0])).node[1]] += 1
    assert counts[0] == 0 and (counts[1:] - 100).abs().max() < 45


def test_with_replacement_and_errors():
    data = _data()
    sampler = TorchNeighborSampler(data, [6], replace=True)
    out = sampler._sample(torch.tensor([3]))
    assert out.edge.numel() == (6 if int((data.edge_index[1] == 3).sum()) > 0 else 0)
    with pytest.raises(ValueError, match='pass a list with one int per hop'):
        TorchNeighborSampler(data, {('a', 'b', 'c'): [1]})
