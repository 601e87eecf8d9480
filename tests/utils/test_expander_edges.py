import pytest
import torch
from torch_geometric.utils import degree

from pyg_ext.utils.expander_edges import expander_edges


def adjacency(edge_index, N):
    A = torch.zeros(N, N)
    A.index_put_((edge_index[0], edge_index[1]), torch.ones(edge_index.size(1)), accumulate=True)
    return A


@pytest.mark.parametrize('d', [2, 4, 6])
def test_every_node_has_d_in_and_out_edges(d):
    edge_index = expander_edges(50, d, seed=1)
    assert edge_index.shape == (2, 50 * d) and edge_index.dtype == torch.long
    assert torch.equal(degree(edge_index[0], 50), torch.full((50,), float(d)))
    assert torch.equal(degree(edge_index[1], 50), torch.full((50,), float(d)))
    A = adjacency(edge_index, 50)
    assert torch.equal(A, A.t())  # each permutation comes with its inverse
    assert (edge_index[0] == edge_index[1]).sum() <= d  # a few fixed points at most


def test_reproducible_with_a_seed():
    assert torch.equal(expander_edges(40, 4, seed=7), expander_edges(40, 4, seed=7))
    assert not torch.equal(expander_edges(40, 4, seed=7), expander_edges(40, 4, seed=8))


def test_is_an_expander():
    # A d-regular graph with a spectral gap: second eigenvalue near Ramanujan's 2 sqrt(d - 1)
    # (3.46 for d = 4), well below d, so a signal spreads over the graph in O(log N) hops.
    eigenvalues = torch.linalg.eigvalsh(adjacency(expander_edges(200, 4, seed=0), 200))
    assert abs(eigenvalues[-1] - 4) < 1e-4 and eigenvalues[-2] < 3.8


def test_batch_keeps_edges_within_graphs():
    batch = torch.tensor([0] * 5 + [1] * 8 + [2] * 3)
    edge_index = expander_edges(16, 4, seed=0, batch=batch)
    assert torch.equal(batch[edge_index[0]], batch[edge_index[1]])
    assert torch.equal(degree(edge_index[1], 16), torch.full((16,), 4.0))


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match='use an even degree >= 2'):
        expander_edges(10, 3)
    with pytest.raises(ValueError, match='use an even degree >= 2'):
        expander_edges(10, 0)
    with pytest.raises(ValueError, match=r'expected \[10\], the graph index of every node'):
        expander_edges(10, 2, batch=torch.zeros(9, dtype=torch.long))
