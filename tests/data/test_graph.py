import math

import pytest
import torch

from pyg_ext.data.graph import dense_to_edges, edges_from_distances, gaussian_kernel_weights


def test_dense_to_edges_direction_and_self_loops():
    adj = torch.tensor([[1., 2.], [0., 0.]])
    edge_index, edge_weight = dense_to_edges(adj)
    assert edge_index.tolist() == [[0, 0], [0, 1]]  # diagonal kept, row = source
    assert edge_weight.tolist() == [1., 2.]
    with pytest.raises(ValueError, match='square'):
        dense_to_edges(torch.ones(2, 3))


def test_gaussian_kernel_by_hand():
    d = torch.tensor([100., 200., 400.])
    sigma = float(d.std())
    w, keep = gaussian_kernel_weights(d)
    ref = [math.exp(-(v / sigma) ** 2) for v in d.tolist()]
    assert torch.allclose(w, torch.tensor(ref))
    assert keep.all()
    w, keep = gaussian_kernel_weights(d, sigma=200., threshold=0.1)
    assert keep.tolist() == [True, True, False]  # exp(-4) < 0.1
    with pytest.raises(ValueError, match='sigma > 0'):
        gaussian_kernel_weights(torch.tensor([5., 5.]))


def test_edges_from_distances_options():
    src, dst, d = torch.tensor([0, 1, 2]), torch.tensor([1, 0, 0]), torch.tensor([1., 2., 3.])
    ei, ew = edges_from_distances(src, dst, d, 'binary')
    assert ei.tolist() == [[0, 1, 2], [1, 0, 0]] and ew.tolist() == [1., 1., 1.]
    ei, ew = edges_from_distances(src, dst, d, 'distance', symmetric=True)
    # 0<->1 are both listed and keep their own weights; only 2->0 gains a reverse edge.
    assert ei.tolist() == [[0, 1, 2, 0], [1, 0, 0, 2]] and ew.tolist() == [1., 2., 3., 3.]
    with pytest.raises(ValueError, match="use 'gaussian', 'binary' or 'distance'"):
        edges_from_distances(src, dst, d, 'cosine')
