import torch
from torch_geometric.utils import to_torch_csr_tensor

from pyg_ext.ogb.cached_adjacency import cached_matrix, edges_of, propagate


def test_dense_and_csr_storage_give_the_dense_product_and_its_gradient():
    edge_index = torch.tensor([[0, 1, 1, 2, 2, 0], [1, 0, 2, 1, 1, 3]])  # 2->1 twice
    value = torch.arange(1.0, 7.0)
    expected = torch.zeros(4, 4)
    expected.index_put_((edge_index[1], edge_index[0]), value, accumulate=True)
    x = torch.randn(4, 3)
    for n in (4, 40):  # 6 of 16 pairs: dense; 6 of 1600: CSR
        cached = cached_matrix(edge_index, value, n)
        assert (cached[1] is None) == (n == 4)
        dense = torch.zeros(n, n)
        dense[:4, :4] = expected
        h = torch.cat([x, torch.zeros(n - 4, 3)]).requires_grad_()
        out = propagate(cached, h)
        assert torch.allclose(out, dense @ h.detach(), atol=1e-6)
        grad = torch.randn_like(out)
        out.backward(grad)
        assert torch.allclose(h.grad, dense.t() @ grad, atol=1e-5)


def test_edges_of_edge_index_and_sparse_adj_t():
    edge_index = torch.tensor([[0, 2, 3], [1, 1, 0]])
    assert edges_of(edge_index)[0] is edge_index and edges_of(edge_index)[1] is None
    adj_t = to_torch_csr_tensor(edge_index.flip(0), torch.tensor([1.0, 2.0, 3.0]), size=(4, 4))
    ei, w = edges_of(adj_t)
    pairs = {(int(s), int(d)): float(v) for (s, d), v in zip(ei.t(), w)}
    assert pairs == {(0, 1): 1.0, (2, 1): 2.0, (3, 0): 3.0}
