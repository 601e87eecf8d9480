import math

import pytest
import torch

from pyg_ext.blocks.scaled_dot_score import ScaledDotScore


def test_dense_equals_formula():
    score = ScaledDotScore(8, heads=3)
    q, k = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 4, 8)
    out = score(q, k)
    ref = torch.einsum('bhqd,bhkd->bhqk', q, k) / math.sqrt(8)
    torch.testing.assert_close(out, ref)
    # Softmax of the dense score is the attention of PyTorch's fused kernel.
    v = torch.randn(2, 3, 4, 8)
    torch.testing.assert_close(out.softmax(-1) @ v,
                               torch.nn.functional.scaled_dot_product_attention(q, k, v))


def test_pairwise_equals_dense_diagonal_and_edges(directed_graph):
    edge_index, _, num_nodes = directed_graph
    score = ScaledDotScore(4, heads=2)
    q, k = torch.randn(num_nodes, 2, 4), torch.randn(num_nodes, 2, 4)  # [N, H, D]
    # The 1/sqrt(D) scaling is node-level work done by prepare_query.
    torch.testing.assert_close(score.prepare_query(q), q / 2.0)
    dense = score(q.transpose(0, 1).unsqueeze(0), k.transpose(0, 1).unsqueeze(0))[0]
    diag = score.pairwise(score.prepare_query(q), score.prepare_key(k))  # [N, H]
    torch.testing.assert_close(diag, dense.diagonal(dim1=-2, dim2=-1).t())
    src, dst = edge_index
    edge = score.pairwise(score.prepare_query(q)[dst], score.prepare_key(k)[src])  # [E, H]
    torch.testing.assert_close(edge, dense[:, dst, src].t())


def test_repr_save_load_and_errors(tmp_path):
    score = ScaledDotScore(16, heads=4)
    assert str(score) == 'ScaledDotScore(16, heads=4)'
    torch.save(score, tmp_path / 'score.pt')
    loaded = torch.load(tmp_path / 'score.pt', weights_only=False)
    q = torch.randn(2, 4, 3, 16, requires_grad=True)
    torch.testing.assert_close(loaded(q, q), score(q, q))
    score(q, q).sum().backward()
    assert q.grad is not None and q.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='build the score with heads=4, channels=8'):
        score.prepare_key(torch.randn(3, 4, 8))
    with pytest.raises(ValueError, match='channels and heads must be positive'):
        ScaledDotScore(0)
