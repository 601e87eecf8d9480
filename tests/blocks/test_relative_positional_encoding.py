import math

import pytest
import torch

from pyg_ext.blocks.multi_head_attention import MultiHeadAttention
from pyg_ext.blocks.relative_positional_encoding import RelativePositionalEncoding


def test_embeddings_follow_clipped_distances():
    rel = RelativePositionalEncoding(3, max_distance=2)
    a_k, a_v = rel(4, 6)
    assert a_k.shape == (4, 6, 3)
    for i in range(4):
        for j in range(6):
            r = max(-2, min(2, j - i)) + 2  # clip(j - i, k) + k
            torch.testing.assert_close(a_k[i, j], rel.key_embedding[r])
            torch.testing.assert_close(a_v[i, j], rel.value_embedding[r])


def test_biases_equal_the_dense_formula():
    rel = RelativePositionalEncoding(4, max_distance=2)
    a_k, a_v = rel(5, 7)
    q = torch.randn(2, 3, 5, 4)  # [B, H, L_q, D]
    torch.testing.assert_close(rel.score_bias(q, 7), torch.einsum('bhid,ijd->bhij', q, a_k))
    attn = torch.rand(2, 3, 5, 7)
    torch.testing.assert_close(rel.value_bias(attn), torch.einsum('bhij,ijd->bhid', attn, a_v))


def shaw_attention(mha, rel, x, mask=None):
    """Shaw et al. by hand: e_ij = q_i (k_j + a^K_ij)^T / sqrt(d),
    z_i = sum_j alpha_ij (v_j + a^V_ij)."""
    B, L, F = x.shape
    H, D = mha.heads, mha.head_channels
    q, k, v = mha.in_proj(x).view(B, L, 3, H, D).permute(2, 0, 3, 1, 4)  # [B, H, L, D]
    a_k, a_v = rel(L, L)  # [L, L, D]
    e = (q.unsqueeze(3) * (k.unsqueeze(2) + a_k)).sum(-1) / math.sqrt(D)  # [B, H, L, L]
    if mask is not None:
        e = e.masked_fill(mask, float('-inf'))
    alpha = e.softmax(-1)
    z = (alpha.unsqueeze(-1) * (v.unsqueeze(2) + a_v)).sum(3)  # [B, H, L, D]
    return mha.out_proj(z.transpose(1, 2).reshape(B, L, F))


def test_multi_head_attention_with_relative_positions_equals_shaw(sequence):
    rel = RelativePositionalEncoding(4, max_distance=3)
    mha = MultiHeadAttention(8, heads=2, positional=rel)
    assert not mha._sdpa  # falls back from the fused kernel to the explicit path
    x = torch.randn(3, 9, 8)
    torch.testing.assert_close(mha(x), shaw_attention(mha, rel, x))
    causal = torch.ones(9, 9, dtype=torch.bool).triu(1)
    torch.testing.assert_close(mha(x, is_causal=True), shaw_attention(mha, rel, x, causal))
    mha(x, is_causal=True).square().sum().backward()
    for name, p in mha.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_reset_save_load_repr_and_errors(tmp_path):
    rel = RelativePositionalEncoding(4, max_distance=2)
    assert str(rel) == 'RelativePositionalEncoding(4, max_distance=2)'
    before = rel.key_embedding.detach().clone()
    rel.reset_parameters()
    assert not torch.equal(before, rel.key_embedding)
    mha = MultiHeadAttention(8, heads=2, score='bilinear', positional=rel).eval()
    x = torch.randn(2, 5, 8)
    torch.save(mha, tmp_path / 'mha.pt')
    torch.testing.assert_close(torch.load(tmp_path / 'mha.pt', weights_only=False)(x), mha(x))
    with pytest.raises(ValueError, match="use score='scaled_dot', 'dot' or 'bilinear'"):
        MultiHeadAttention(8, heads=2, score='additive', positional=rel)
    with pytest.raises(ValueError, match='build it with channels=2'):
        MultiHeadAttention(8, heads=4, positional=rel)
    with pytest.raises(ValueError, match='must be positive'):
        RelativePositionalEncoding(4, max_distance=0)
    with pytest.raises(ValueError, match=r'expects \[\*, L, D=4\]'):
        rel.score_bias(torch.randn(2, 5, 3), 5)
