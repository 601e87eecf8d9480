import pytest
import torch

from pyg_ext.blocks.attention_score import AttentionScore


class NegativeDistance(AttentionScore):
    """-||q - k||^2 per head: a score with no matmul form, for the generic dense path."""
    def pairwise(self, q_prep, k_prep):
        return -(q_prep - k_prep).square().sum(dim=-1)


def test_generic_dense_form_broadcasts_pairwise():
    score = NegativeDistance(3, heads=2)
    q, k = torch.randn(2, 2, 4, 3), torch.randn(2, 2, 5, 3)
    out = score(q, k)
    assert out.shape == (2, 2, 4, 5)
    ref = -torch.cdist(q, k).square()
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    assert str(score) == 'NegativeDistance(3, heads=2)'


def test_base_class_contract():
    score = AttentionScore(3, heads=2)
    x = torch.randn(4, 2, 3)
    assert score.prepare_query(x) is x and score.prepare_key(x) is x
    assert not score.is_dot_product
    with pytest.raises(NotImplementedError):
        score.pairwise(x, x)
    with pytest.raises(ValueError, match='heads on axis -2'):
        score.prepare_query(torch.randn(4, 3, 3))
