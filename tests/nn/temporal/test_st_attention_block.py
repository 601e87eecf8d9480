import torch
import torch.nn.functional as F

from pyg_ext.nn.temporal.st_attention_block import STAttentionBlock
from pyg_ext.nn.temporal.transform_attention import TransformAttention


def mha_reference(attn, q, k, v, mask=None):
    """torch.nn.MultiheadAttention with the block's weights, on [L, B', D] sequences."""
    ref = torch.nn.MultiheadAttention(attn.channels, attn.heads).double()
    with torch.no_grad():
        ref.in_proj_weight.copy_(attn.in_proj.weight)
        ref.in_proj_bias.copy_(attn.in_proj.bias)
        ref.out_proj.weight.copy_(attn.out_proj.weight)
        ref.out_proj.bias.copy_(attn.out_proj.bias)
    return ref(q, k, v, attn_mask=mask, need_weights=False)[0]


def test_block_matches_reference():
    block = STAttentionBlock(8, heads=2, causal=True).double().eval()
    x = torch.randn(2, 5, 4, 8, dtype=torch.double)  # [B, T, N, D]
    ste = torch.randn(2, 5, 4, 8, dtype=torch.double)
    out = block(x, ste)
    xe = torch.cat([x, ste], dim=-1)
    s_in = F.relu(block.spatial_input(xe))  # [B, T, N, D]
    t_in = F.relu(block.temporal_input(xe))
    seq = s_in.reshape(10, 4, 8).transpose(0, 1)  # [N, B T, D]
    hs = mha_reference(block.spatial_attn, seq, seq, seq).transpose(0, 1).view(2, 5, 4, 8)
    seq = t_in.transpose(1, 2).reshape(8, 5, 8).transpose(0, 1)  # [T, B N, D]
    mask = torch.ones(5, 5, dtype=torch.bool).triu(1)
    ht = mha_reference(block.temporal_attn, seq, seq, seq, mask)  # [T, B N, D]
    ht = ht.transpose(0, 1).view(2, 4, 5, 8).transpose(1, 2)
    z = torch.sigmoid(hs @ block.gate_spatial.weight.t() + block.gate_temporal(ht))
    expected = x + block.ffn(z * hs + (1 - z) * ht)
    assert torch.allclose(out, expected, atol=1e-10)
    assert str(block) == 'STAttentionBlock(8, heads=2, causal=True)'


def test_transform_attention_matches_reference():
    layer = TransformAttention(8, heads=2).double()
    x = torch.randn(2, 5, 3, 8, dtype=torch.double)
    hist = torch.randn(2, 5, 3, 8, dtype=torch.double)
    fut = torch.randn(2, 4, 3, 8, dtype=torch.double)
    out = layer(x, hist, fut)
    assert out.shape == (2, 4, 3, 8)

    def seq(t):  # [B, T, N, D] -> [T, B N, D]
        return t.transpose(1, 2).reshape(-1, t.size(1), 8).transpose(0, 1)
    ref = mha_reference(layer.attn, seq(fut), seq(hist), seq(x))  # [T_out, B N, D]
    expected = layer.ffn(ref.transpose(0, 1).view(2, 3, 4, 8).transpose(1, 2))
    assert torch.allclose(out, expected, atol=1e-10)
    assert str(layer) == 'TransformAttention(8, heads=2)'


def test_gradients_and_save_load(reloaded):
    block = STAttentionBlock(8, heads=2)
    x, ste = torch.randn(2, 5, 4, 8), torch.randn(2, 5, 4, 8)
    block(x, ste).square().sum().backward()
    for name, param in block.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert torch.allclose(reloaded(block)(x, ste), block(x, ste))
