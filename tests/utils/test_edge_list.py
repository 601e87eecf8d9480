import pytest
import torch
from torch_geometric import EdgeIndex
from torch_geometric.utils import add_self_loops, remove_self_loops, to_torch_csr_tensor

from pyg_ext.utils.edge_list import (
    add_self_loops_masked,
    check_edge_attr,
    to_edge_list,
)

pytestmark = pytest.mark.filterwarnings('ignore:Sparse CSR tensor support:UserWarning',
                                        'ignore:Sparse invariant checks:UserWarning')

EDGES = torch.tensor([[0, 1, 2, 2, 3, 1], [1, 2, 2, 0, 1, 1]])  # loops 2 -> 2 and 1 -> 1


def test_to_edge_list_forms():
    attr = torch.randn(6, 3)
    index, out = to_edge_list(EDGES.int(), attr, 4, 4)
    assert index.dtype == torch.long and torch.equal(index, EDGES) and out is attr
    index, _ = to_edge_list(EdgeIndex(EDGES, sparse_size=(4, 4)), None, 4, 4)
    assert isinstance(index, EdgeIndex)
    adj_t = to_torch_csr_tensor(EDGES.flip(0), attr, size=(4, 4))
    index, out = to_edge_list(adj_t, None, 4, 4)
    pairs = {tuple(p): a for p, a in zip(index.t().tolist(), out)}
    for p, a in zip(EDGES.t().tolist(), attr):
        assert torch.equal(pairs[tuple(p)], a)
    assert to_edge_list(adj_t, None, 4, 4, keep_values=False)[1] is None
    with pytest.raises(ValueError, match=r'expected adj_t of shape \[3, 4\]'):
        to_edge_list(adj_t, None, 4, 3)


@pytest.mark.parametrize('fill_value', ['mean', 'add', 'max', 'min', 0.5])
def test_add_self_loops_masked_matches_remove_then_add(fill_value):
    attr = torch.randn(6, 3)
    index, out, loop_mask = add_self_loops_masked(EDGES, attr, (4, 4), fill_value)
    assert torch.equal(loop_mask, torch.tensor([False, False, True, False, False, True]
                                               + [False] * 4))
    ref_index, ref_attr = add_self_loops(*remove_self_loops(EDGES, attr),
                                         fill_value=fill_value, num_nodes=4)
    assert torch.equal(index[:, ~loop_mask], ref_index)
    assert torch.allclose(out[~loop_mask], ref_attr)


def test_add_self_loops_masked_bipartite():
    index, attr, loop_mask = add_self_loops_masked(torch.tensor([[0, 4], [1, 0]]), None, (5, 2))
    assert torch.equal(index, torch.tensor([[0, 4, 0, 1], [1, 0, 0, 1]])) and attr is None
    assert not loop_mask.any()


def test_check_edge_attr():
    check_edge_attr(None, None)
    check_edge_attr(torch.randn(6, 3), 3)
    check_edge_attr(torch.randn(6), 1)
    with pytest.raises(ValueError, match='build it with edge_dim=3'):
        check_edge_attr(torch.randn(6, 3), None)
    with pytest.raises(ValueError, match=r'pass edge_attr of shape \[E, 3\]'):
        check_edge_attr(None, 3)
    with pytest.raises(ValueError, match=r'pass \[E, 3\] or build it with edge_dim=2'):
        check_edge_attr(torch.randn(6, 2), 3)
