import torch
from torch.testing import assert_close

from pyg_ext.utils import fold_nodes_first, unfold_nodes_first


def test_fold_equals_per_slice_propagation():
    x = torch.randn(2, 3, 5, 4)  # [B, T, N, F]
    adj = torch.randn(5, 5)
    h, lead = fold_nodes_first(x)
    assert h.shape == (5, 2 * 3 * 4) and lead == (2, 3)
    out = unfold_nodes_first(adj @ h, 5, lead, 4)  # [B, T, N, F]
    assert_close(out, torch.einsum('ij,btjf->btif', adj, x))


def test_round_trip_and_views():
    x = torch.randn(2, 3, 5, 4)
    h, lead = fold_nodes_first(x)  # a copy: x is batch-first in memory
    assert h.data_ptr() != x.data_ptr()
    y = unfold_nodes_first(h, 5, lead, 4)
    assert_close(y, x)
    assert y.data_ptr() == h.data_ptr()  # a view of the nodes-first memory
    h2, lead2 = fold_nodes_first(y)  # folding a nodes-first view again copies nothing
    assert h2.data_ptr() == h.data_ptr() and lead2 == lead
    # [N M, C]: the output of one matmul per feature block
    z = unfold_nodes_first(h.view(-1, 4), 5, lead, 4)
    assert_close(z, x)


def test_two_dimensional_input():
    x = torch.randn(5, 4)  # [N, F]
    h, lead = fold_nodes_first(x)
    assert h.shape == (5, 4) and lead == ()
    assert_close(unfold_nodes_first(h, 5, lead, 4), x)
