import pytest
import torch

from pyg_ext.blocks.bilinear_score import BilinearScore


def test_dense_equals_formula():
    score = BilinearScore(6, heads=3)
    assert score.weight.shape == (3, 6, 6)
    q, k = torch.randn(2, 3, 5, 6), torch.randn(2, 3, 4, 6)
    out = score(q, k)
    ref = torch.empty(2, 3, 5, 4)
    for b in range(2):
        for h in range(3):
            ref[b, h] = q[b, h] @ score.weight[h] @ k[b, h].t()  # q^T W_h k
    torch.testing.assert_close(out, ref.detach())


def test_pairwise_equals_dense_diagonal_and_edges(directed_graph):
    edge_index, _, num_nodes = directed_graph
    score = BilinearScore(4, heads=2)
    q, k = torch.randn(num_nodes, 2, 4), torch.randn(num_nodes, 2, 4)  # [N, H, D]
    dense = score(q.transpose(0, 1).unsqueeze(0), k.transpose(0, 1).unsqueeze(0))[0]
    diag = score.pairwise(score.prepare_query(q), score.prepare_key(k))  # [N, H]
    torch.testing.assert_close(diag, dense.diagonal(dim1=-2, dim2=-1).t())
    src, dst = edge_index
    edge = score.pairwise(score.prepare_query(q)[dst], score.prepare_key(k)[src])  # [E, H]
    torch.testing.assert_close(edge, dense[:, dst, src].t())


def test_gradients_reset_repr_and_save_load(tmp_path):
    score = BilinearScore(4, heads=2)
    assert str(score) == 'BilinearScore(4, heads=2)'
    q, k = torch.randn(1, 2, 3, 4), torch.randn(1, 2, 5, 4)
    score(q, k).square().sum().backward()
    assert score.weight.grad is not None and score.weight.grad.abs().sum() > 0
    before = score.weight.detach().clone()
    score.reset_parameters()
    assert not torch.equal(before, score.weight)
    torch.save(score, tmp_path / 'score.pt')
    loaded = torch.load(tmp_path / 'score.pt', weights_only=False)
    torch.testing.assert_close(loaded(q, k), score(q, k))
    with pytest.raises(ValueError, match=r'expects \[B, H=2, L, D=4\]'):
        score(torch.randn(2, 3, 4), torch.randn(2, 3, 4))
