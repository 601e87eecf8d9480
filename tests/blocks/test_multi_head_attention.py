import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pyg_ext.blocks.additive_score import AdditiveScore
from pyg_ext.blocks.multi_head_attention import MultiHeadAttention
from pyg_ext.blocks.sinusoidal_positional_encoding import SinusoidalPositionalEncoding
from pyg_ext.blocks.temporal_conv import TemporalConv

B, L, C, H = 3, 7, 16, 4


def torch_copy(mha: MultiHeadAttention) -> nn.MultiheadAttention:
    ref = nn.MultiheadAttention(mha.channels, mha.heads, bias=mha.bias, batch_first=True,
                                kdim=mha.kdim, vdim=mha.vdim)
    with torch.no_grad():
        if mha.in_proj is not None:
            ref.in_proj_weight.copy_(mha.in_proj.weight)
            bias = mha.in_proj.bias
        else:
            ref.q_proj_weight.copy_(mha.q_proj.weight)
            ref.k_proj_weight.copy_(mha.k_proj.weight)
            ref.v_proj_weight.copy_(mha.v_proj.weight)
            bias = torch.cat([mha.q_proj.bias, mha.k_proj.bias, mha.v_proj.bias])
        ref.in_proj_bias.copy_(bias)
        ref.out_proj.load_state_dict(mha.out_proj.state_dict())
    return ref


def masks():
    kpm = torch.zeros(B, L, dtype=torch.bool)
    kpm[0, -3:] = True
    kpm[2, 3:5] = True
    causal = torch.ones(L, L, dtype=torch.bool).triu(1)
    rand = torch.rand(L, L) < 0.3
    rand.fill_diagonal_(False)
    per_head = torch.randn(B, H, L, L)
    return kpm, causal, rand, per_head


@pytest.mark.parametrize('train', [False, True])
@pytest.mark.parametrize('case', ['none', 'padding', 'bool', 'float', 'per_head', 'causal',
                                  'causal_padding', 'float_padding'])
def test_self_attention_matches_torch(case, train):
    mha = MultiHeadAttention(C, H).train(train)
    ref = torch_copy(mha).train(train)
    x = torch.randn(B, L, C)
    kpm, causal, rand, per_head = masks()
    ours, theirs = {}, {}
    if case in ('padding', 'causal_padding'):
        ours['key_padding_mask'] = theirs['key_padding_mask'] = kpm
    if case == 'float_padding':
        ours['key_padding_mask'] = theirs['key_padding_mask'] = kpm.float() * -1e4
    if case == 'bool':
        ours['attn_mask'] = theirs['attn_mask'] = rand
    if case in ('float', 'float_padding'):
        ours['attn_mask'] = theirs['attn_mask'] = torch.randn(L, L)
    if case == 'per_head':  # ours [B', H, L, L]; torch's [B * H, L, L]
        ours['attn_mask'], theirs['attn_mask'] = per_head, per_head.reshape(B * H, L, L)
    if case.startswith('causal'):
        ours['is_causal'] = True
        theirs.update(attn_mask=causal, is_causal=True)
    out = mha(x, **ours)
    expected, _ = ref(x, x, x, need_weights=False, **theirs)
    torch.testing.assert_close(out, expected)
    if case != 'per_head':  # torch averages 3-D masks' weights differently; skip that one
        theirs.pop('is_causal', None)
        _, weights = ref(x, x, x, average_attn_weights=False, **theirs)
        torch.testing.assert_close(mha.attention_weights(x, **ours), weights)


@pytest.mark.parametrize('kind', ['key_is_value', 'separate', 'kdim_vdim'])
def test_cross_attention_matches_torch(kind):
    kdim, vdim = (6, 5) if kind == 'kdim_vdim' else (None, None)
    mha = MultiHeadAttention(C, H, kdim=kdim, vdim=vdim)
    assert (mha.in_proj is None) == (kind == 'kdim_vdim')
    ref = torch_copy(mha)
    query = torch.randn(B, L, C)
    key = torch.randn(B, 5, kdim or C)
    value = key if kind == 'key_is_value' else torch.randn(B, 5, vdim or C)
    kpm = torch.zeros(B, 5, dtype=torch.bool)
    kpm[1, -2:] = True
    out = mha(query, key, value, key_padding_mask=kpm)
    expected, weights = ref(query, key, value, key_padding_mask=kpm,
                            average_attn_weights=False)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(mha.attention_weights(query, key, value, kpm), weights)
    out.square().sum().backward()
    for name, p in mha.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_attending_along_nodes_or_time_equals_folding(spatiotemporal):
    x = torch.randn(2, 6, 5, 8)  # [B, T, N, F]
    nodes = MultiHeadAttention(8, 2, dim=-2)  # nodes of [B, T, N, F], tokens of [B, L, F]
    kpm = torch.zeros(2, 6, 5, dtype=torch.bool)  # [B, T, N], True = ignore node
    kpm[0, :, -1] = True
    kpm[1, 2, :2] = True
    out = nodes(x, key_padding_mask=kpm)
    folded = nodes(x.reshape(12, 5, 8), key_padding_mask=kpm.reshape(12, 5))  # [B*T, N, F]
    torch.testing.assert_close(out, folded.view(2, 6, 5, 8))
    positive = MultiHeadAttention(8, 2, dim=2)
    positive.load_state_dict(nodes.state_dict())
    torch.testing.assert_close(positive(x, key_padding_mask=kpm), out)

    time = MultiHeadAttention(8, 2, dim=1)
    time_kpm = torch.zeros(2, 6, 1, dtype=torch.bool)  # broadcast over nodes
    time_kpm[1, -2:] = True
    out = time(x, key_padding_mask=time_kpm, is_causal=True)
    per_node = x.transpose(1, 2).reshape(10, 6, 8)  # [B*N, T, F]
    per_node_kpm = time_kpm.transpose(1, 2).expand(2, 5, 6).reshape(10, 6)
    folded = time(per_node, key_padding_mask=per_node_kpm, is_causal=True)
    torch.testing.assert_close(out, folded.view(2, 5, 6, 8).transpose(1, 2))
    weights = time.attention_weights(x, is_causal=True)
    assert weights.shape == (2, 5, 2, 6, 6)  # [B, N, H, T, T]
    assert weights.triu(1).abs().sum() == 0


def hand_attention(mha, x, mask):
    q, k, v = mha.in_proj(x).view(B, L, 3, H, C // H).permute(2, 0, 3, 1, 4)  # [B, H, L, D]
    score = mha.score(q, k).masked_fill(mask, float('-inf'))  # score checked in its own test
    out = (score.softmax(-1) @ v).transpose(1, 2).reshape(B, L, C)
    return mha.out_proj(out)


@pytest.mark.parametrize('score', ['scaled_dot', 'dot', 'bilinear', 'additive',
                                   AdditiveScore(4, 4, rank_one=True, act='leaky_relu')])
def test_every_score_runs_masked_and_trains(score):
    mha = MultiHeadAttention(C, H, score=score)
    x = torch.randn(B, L, C)
    kpm, causal, _, _ = masks()
    out = mha(x, key_padding_mask=kpm, is_causal=True)
    mask = causal | kpm.view(B, 1, 1, L)
    torch.testing.assert_close(out, hand_attention(mha, x, mask))
    out.square().sum().backward()
    for name, p in mha.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize('score', ['scaled_dot', 'dot'])
def test_fully_masked_queries_get_zero_weights_not_nan(score):
    mha = MultiHeadAttention(C, H, score=score)
    ref = torch_copy(mha)
    with torch.no_grad():
        mha.out_proj.bias.normal_()
        ref.out_proj.bias.copy_(mha.out_proj.bias)
    x = torch.randn(B, L, C)
    kpm = torch.zeros(B, L, dtype=torch.bool)
    kpm[1, :2] = True  # with causal masking, queries 0 and 1 of batch 1 see no key
    out = mha(x, key_padding_mask=kpm, is_causal=True)
    torch.testing.assert_close(out[1, :2], mha.out_proj.bias.expand(2, C))  # zero attention
    if score == 'scaled_dot':  # the fused kernel, like torch, gives zero attention too
        causal = torch.ones(L, L, dtype=torch.bool).triu(1)
        expected, _ = ref(x, x, x, key_padding_mask=kpm, attn_mask=causal, need_weights=False)
        torch.testing.assert_close(out, expected)
    weights = mha.attention_weights(x, key_padding_mask=kpm, is_causal=True)
    assert weights[1, :, :2].abs().sum() == 0 and weights.isfinite().all()
    torch.testing.assert_close(weights[1, :, 2:].sum(-1), torch.ones(H, L - 2))
    out.square().sum().backward()
    assert all(p.grad.isfinite().all() for p in mha.parameters())


def test_qkv_conv_acts_on_the_packed_projections():
    conv = TemporalConv(3 * C, 3 * C, 3, causal=True, groups=3 * C)
    mha = MultiHeadAttention(C, H, qkv_conv=conv)
    assert str(mha) == 'MultiHeadAttention(16, heads=4, qkv_conv=True)'
    x = torch.randn(B, L, C)
    qkv = conv(mha.in_proj(x))  # [B, L, 3F]
    q, k, v = qkv.view(B, L, 3, H, C // H).permute(2, 0, 3, 1, 4)
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2)
    torch.testing.assert_close(mha(x, is_causal=True), mha.out_proj(out.reshape(B, L, C)))
    with pytest.raises(ValueError, match='without a separate key and value'):
        mha(x, torch.randn(B, 4, C))


def test_dropout_only_in_training():
    for score in ('scaled_dot', 'dot'):
        mha = MultiHeadAttention(C, H, score=score, dropout=0.5)
        x = torch.randn(B, L, C)
        assert not torch.allclose(mha(x), mha(x))
        mha.eval()
        torch.testing.assert_close(mha(x), mha(x))


def test_reset_repr_and_save_load(tmp_path):
    mha = MultiHeadAttention(C, H, dropout=0.1, dim=2, kdim=8).eval()
    assert str(mha) == 'MultiHeadAttention(16, heads=4, dropout=0.1, dim=2, kdim=8)'
    assert str(MultiHeadAttention(C, H, score='dot')) == \
        'MultiHeadAttention(16, heads=4, score=DotScore)'
    x, y = torch.randn(2, 3, 5, C), torch.randn(2, 3, 4, 8)
    torch.save(mha, tmp_path / 'mha.pt')
    loaded = torch.load(tmp_path / 'mha.pt', weights_only=False)
    torch.testing.assert_close(loaded(x, y, torch.randn(2, 3, 4, C)) * 0, mha(x, y, y.new_zeros(
        2, 3, 4, C)) * 0)
    other = MultiHeadAttention(C, H, dropout=0.1, dim=2, kdim=8).eval()
    other.load_state_dict(mha.state_dict())
    v = torch.randn(2, 3, 4, C)
    torch.testing.assert_close(other(x, y, v), mha(x, y, v))
    torch.testing.assert_close(loaded(x, y, v), mha(x, y, v))
    before = [p.detach().clone() for p in mha.parameters()]
    mha.reset_parameters()
    assert all(not torch.equal(a, b) for a, b in zip(before, mha.parameters()) if a.dim() > 1)
    assert all(p.abs().sum() == 0 for n, p in mha.named_parameters() if n.endswith('bias'))


def test_compiles_without_graph_breaks(graph_breaks):
    mha = MultiHeadAttention(C, H, dropout=0.1)
    x = torch.randn(B, L, C)
    kpm, _, _, _ = masks()
    count, why = graph_breaks(mha, x)
    assert count == 0, why
    count, why = graph_breaks(mha, x, key_padding_mask=kpm, is_causal=True)
    assert count == 0, why


def test_errors_name_the_fix():
    mha = MultiHeadAttention(C, H)
    x = torch.randn(B, L, C)
    with pytest.raises(ValueError, match='must be divisible by heads=3'):
        MultiHeadAttention(C, 3)
    with pytest.raises(ValueError, match="Unknown score 'cosine'"):
        MultiHeadAttention(C, H, score='cosine')
    with pytest.raises(ValueError, match='build it with channels=4'):
        MultiHeadAttention(C, H, score=AdditiveScore(8, 2))
    with pytest.raises(ValueError, match='add absolute encodings to the input'):
        MultiHeadAttention(C, H, positional=SinusoidalPositionalEncoding(C))
    with pytest.raises(ValueError, match='build the layer with in_channels=8'):
        mha(torch.randn(B, L, 8))
    with pytest.raises(ValueError, match='build it with dim=1'):
        MultiHeadAttention(C, H, dim=2)(x)
    with pytest.raises(ValueError, match='they may differ only in axis dim=1'):
        mha(x, torch.randn(B + 1, 4, C))
    with pytest.raises(ValueError, match='give one value per key'):
        mha(x, torch.randn(B, 4, C), torch.randn(B, 5, C))
    with pytest.raises(ValueError, match=r"'key_padding_mask' has shape \[3, 6\]"):
        mha(x, key_padding_mask=torch.zeros(B, L - 1, dtype=torch.bool))
    with pytest.raises(ValueError, match=r'expected \[3, 7\]'):
        mha(x, key_padding_mask=torch.zeros(L, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"'attn_mask' has shape \[7, 6\]"):
        mha(x, attn_mask=torch.zeros(L, L - 1, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"or \[B', H, L_q, L_k\] = \[3, 4, 7, 7\]"):
        mha(x, attn_mask=torch.zeros(H, L, L, dtype=torch.bool))
    with pytest.raises(ValueError, match=r'dropout must lie in \[0, 1\)'):
        MultiHeadAttention(C, H, dropout=1.0)
