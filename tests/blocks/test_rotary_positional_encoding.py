import math

import pytest
import torch

from pyg_ext.blocks.multi_head_attention import MultiHeadAttention
from pyg_ext.blocks.rotary_positional_encoding import RotaryPositionalEncoding


def test_rotates_each_pair_by_position_times_theta():
    rope = RotaryPositionalEncoding(6)
    x = torch.randn(2, 5, 6)  # [B, L, D]
    out = rope(x)
    for m in range(5):
        for i in range(3):
            theta = m * 10000 ** (-2 * i / 6)
            rot = torch.tensor([[math.cos(theta), -math.sin(theta)],
                                [math.sin(theta), math.cos(theta)]])
            expected = x[:, m, 2 * i:2 * i + 2] @ rot.t()  # R (x_2i, x_2i+1)
            torch.testing.assert_close(out[:, m, 2 * i:2 * i + 2], expected)
    torch.testing.assert_close(out.norm(dim=-1), x.norm(dim=-1))  # rotations keep norms
    torch.testing.assert_close(out[:, 0], x[:, 0])  # position 0 is not rotated


def test_inner_product_depends_only_on_relative_position():
    rope = RotaryPositionalEncoding(8)
    q, k = torch.randn(8), torch.randn(8)

    def inner(m, n):
        pos = torch.tensor([float(m), float(n)])
        rq = rope(torch.stack([q, q]), pos)[0]  # R_m q
        rk = rope(torch.stack([k, k]), pos)[1]  # R_n k
        return (rq * rk).sum()

    for m, n in [(0, 3), (5, 2), (7, 7)]:
        for shift in (1, 4, 11):
            torch.testing.assert_close(inner(m, n), inner(m + shift, n + shift))
    assert not torch.allclose(inner(0, 3), inner(0, 1))


def test_plugs_into_multi_head_attention_with_the_fused_kernel(sequence, graph_breaks):
    rope = RotaryPositionalEncoding(4)
    mha = MultiHeadAttention(8, heads=2, positional=rope)
    assert mha._sdpa and str(mha) == 'MultiHeadAttention(8, heads=2, positional=RotaryPosit' \
        'ionalEncoding)'
    x = torch.randn(3, 6, 8)
    q, k, v = mha.in_proj(x).view(3, 6, 3, 2, 4).permute(2, 0, 3, 1, 4)  # [B, H, L, D]
    q, k = rope(q), rope(k)
    attn = (q @ k.transpose(-1, -2) / 2.0).softmax(-1)
    ref = mha.out_proj((attn @ v).transpose(1, 2).reshape(3, 6, 8))
    torch.testing.assert_close(mha(x), ref)
    count, why = graph_breaks(mha, x)
    assert count == 0, why


def test_repr_save_load_and_errors(tmp_path):
    rope = RotaryPositionalEncoding(4, base=100.0)
    assert str(rope) == 'RotaryPositionalEncoding(4)' and list(rope.parameters()) == []
    torch.save(rope, tmp_path / 'rope.pt')
    x = torch.randn(2, 3, 4, requires_grad=True)
    torch.testing.assert_close(torch.load(tmp_path / 'rope.pt', weights_only=False)(x), rope(x))
    rope(x).sum().backward()
    assert x.grad is not None
    with pytest.raises(ValueError, match='channels must be even'):
        RotaryPositionalEncoding(5)
    with pytest.raises(ValueError, match='build it with channels=6'):
        rope(torch.randn(2, 3, 6))
    with pytest.raises(ValueError, match=r'expected \[L=3\]'):
        rope(torch.randn(2, 3, 4), torch.arange(4.0))
    with pytest.raises(ValueError, match='build it with channels=4'):
        MultiHeadAttention(8, heads=2, positional=RotaryPositionalEncoding(8))
