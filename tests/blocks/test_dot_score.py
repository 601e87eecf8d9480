import pytest
import torch

from pyg_ext.blocks.dot_score import DotScore


def test_dense_equals_formula():
    score = DotScore(8, heads=3)
    q, k = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 4, 8)
    out = score(q, k)
    assert out.shape == (2, 3, 5, 4)
    ref = torch.stack([torch.stack([q[b, h] @ k[b, h].t() for h in range(3)])
                       for b in range(2)])
    torch.testing.assert_close(out, ref)


def test_pairwise_equals_dense_diagonal_and_edges(directed_graph):
    edge_index, _, num_nodes = directed_graph
    score = DotScore(4, heads=2)
    q, k = torch.randn(num_nodes, 2, 4), torch.randn(num_nodes, 2, 4)  # [N, H, D]
    dense = score(q.transpose(0, 1).unsqueeze(0), k.transpose(0, 1).unsqueeze(0))[0]
    diag = score.pairwise(score.prepare_query(q), score.prepare_key(k))  # [N, H]
    torch.testing.assert_close(diag, dense.diagonal(dim1=-2, dim2=-1).t())
    src, dst = edge_index
    edge = score.pairwise(score.prepare_query(q)[dst], score.prepare_key(k)[src])  # [E, H]
    torch.testing.assert_close(edge, dense[:, dst, src].t())


def test_repr_save_load_and_errors(tmp_path):
    score = DotScore(4, heads=2)
    assert str(score) == 'DotScore(4, heads=2)'
    assert score.is_dot_product and len(list(score.parameters())) == 0
    torch.save(score, tmp_path / 'score.pt')
    loaded = torch.load(tmp_path / 'score.pt', weights_only=False)
    q = torch.randn(1, 2, 3, 4, requires_grad=True)
    torch.testing.assert_close(loaded(q, q), score(q, q))
    score(q, q).sum().backward()
    assert q.grad is not None and q.grad.abs().sum() > 0
    with pytest.raises(ValueError, match=r'expects \[B, H=2, L, D=4\]'):
        score(torch.randn(1, 3, 3, 4), torch.randn(1, 3, 3, 4))
    with pytest.raises(ValueError, match='same batch size'):
        score(torch.randn(1, 2, 3, 4), torch.randn(2, 2, 3, 4))
    with pytest.raises(ValueError, match=r'expects \[\*, H=2, D=4\]'):
        score.prepare_query(torch.randn(5, 4))
