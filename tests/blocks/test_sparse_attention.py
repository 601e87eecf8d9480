import math

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from pyg_ext.blocks.attention_patterns import (
    bigbird_pattern,
    fixed_pattern,
    sliding_window_pattern,
    strided_pattern,
)
from pyg_ext.blocks.sparse_attention import SparseAttention, sparse_attention

PATTERNS = {
    'strided': strided_pattern(4),
    'fixed': fixed_pattern(4, summary=2),
    'window': sliding_window_pattern(3),
    'window_causal': sliding_window_pattern(3, causal=True),
    'dilated': sliding_window_pattern(2, dilation=3),
    'dilated_causal': sliding_window_pattern(2, dilation=2, causal=True),
    'longformer': sliding_window_pattern(3, global_tokens=[0, 5]),
    'bigbird': bigbird_pattern(3, global_tokens=[1], num_random=2, seed=1),
    'bigbird_causal': bigbird_pattern(4, num_random=3, causal=True),
}


def dense_reference(q, k, v, mask):
    """softmax(q k^T / sqrt(D) + log(mask)) v, written out densely."""
    score = q @ k.transpose(-1, -2) / math.sqrt(q.size(-1))
    return score.masked_fill(~mask, float('-inf')).softmax(-1) @ v


@pytest.mark.parametrize('name', PATTERNS)
@pytest.mark.parametrize('T', [1, 7, 12, 29])
def test_equals_dense_attention_under_the_dense_mask(name, T):
    pattern = PATTERNS[name]
    pattern = pattern._replace(global_tokens=tuple(g for g in pattern.global_tokens if g < T))
    q, k, v = (torch.randn(2, 3, T, 8, requires_grad=True) for _ in range(3))
    out = sparse_attention(q, k, v, pattern)
    ref = dense_reference(q, k, v, pattern.dense_mask(T))
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    grad = torch.randn_like(out)
    got = torch.autograd.grad(out, (q, k, v), grad)
    want = torch.autograd.grad(ref, (q, k, v), grad)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


class LargestTensor(TorchDispatchMode):
    """Records the largest number of elements of any tensor an op returns."""
    def __init__(self):
        super().__init__()
        self.numel = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else [out]:
            if isinstance(t, torch.Tensor):
                self.numel = max(self.numel, t.numel())
        return out


def largest_tensor(pattern, T, backward=False):
    q, k, v = (torch.randn(1, 1, T, 4, requires_grad=backward) for _ in range(3))
    with LargestTensor() as mode:
        out = sparse_attention(q, k, v, pattern)
        if backward:
            out.sum().backward()
    return mode.numel


@pytest.mark.parametrize('pattern', [
    sliding_window_pattern(8), sliding_window_pattern(4, dilation=3, causal=True),
    sliding_window_pattern(8, global_tokens=[0, 9]),
    bigbird_pattern(8, global_tokens=[0], num_random=3),
])
def test_window_patterns_never_build_a_t_by_t_tensor_and_grow_linearly(pattern):
    small, large = largest_tensor(pattern, 512, True), largest_tensor(pattern, 2048, True)
    assert small < 512 * 512 / 8  # [T, T] would be 262144 elements
    assert large <= 4.5 * small  # 4x the length: at most ~4x the largest tensor


@pytest.mark.parametrize('pattern', [strided_pattern(16), fixed_pattern(16, summary=2)])
def test_sparse_transformer_patterns_stay_below_t_by_t(pattern):
    assert largest_tensor(pattern, 512, True) < 512 * 512 / 4


def test_global_tokens_see_everything_and_are_seen():
    T, pattern = 40, sliding_window_pattern(2, global_tokens=[3])
    q, k, v = (torch.randn(1, 2, T, 4) for _ in range(3))
    out = sparse_attention(q, k, v, pattern)
    v2 = v.clone()
    v2[:, :, 30] += 1.0  # far from position 3 and from position 10
    out2 = sparse_attention(q, k, v2, pattern)
    assert not torch.allclose(out[:, :, 3], out2[:, :, 3])  # global row sees position 30
    torch.testing.assert_close(out[:, :, 10], out2[:, :, 10])  # a local row does not
    v3 = v.clone()
    v3[:, :, 3] += 1.0
    changed = ~torch.isclose(sparse_attention(q, k, v3, pattern), out).all(-1)
    assert changed.all()  # every row sees the global token


@pytest.mark.parametrize('name', ['strided', 'fixed', 'window_causal', 'dilated_causal',
                                  'bigbird_causal'])
def test_causal_patterns_never_see_the_future(name):
    T, t = 33, 17
    q, k, v = (torch.randn(1, 2, T, 4) for _ in range(3))
    out = sparse_attention(q, k, v, PATTERNS[name])
    k2, v2 = k.clone(), v.clone()
    k2[:, :, t + 1:] = torch.randn_like(k2[:, :, t + 1:])
    v2[:, :, t + 1:] = torch.randn_like(v2[:, :, t + 1:])
    out2 = sparse_attention(q, k2, v2, PATTERNS[name])
    torch.testing.assert_close(out[:, :, :t + 1], out2[:, :, :t + 1])


def test_random_pattern_is_reproducible_with_a_seed():
    x = torch.randn(2, 50, 8)
    a = SparseAttention(8, 2, bigbird_pattern(4, num_random=3, seed=11))
    b = SparseAttention(8, 2, bigbird_pattern(4, num_random=3, seed=11))
    c = SparseAttention(8, 2, bigbird_pattern(4, num_random=3, seed=12))
    b.load_state_dict(a.state_dict())
    c.load_state_dict(a.state_dict())
    torch.testing.assert_close(a(x), b(x))
    assert not torch.allclose(a(x), c(x))


@pytest.mark.parametrize('name', ['fixed', 'longformer', 'bigbird'])
def test_module_equals_torch_multihead_attention_with_the_dense_mask(name):
    pattern, T = PATTERNS[name], 23
    model = SparseAttention(16, 4, pattern)
    torch_mha = nn.MultiheadAttention(16, 4, batch_first=True)
    with torch.no_grad():
        torch_mha.in_proj_weight.copy_(model.qkv.weight)
        torch_mha.in_proj_bias.copy_(torch.randn(48))
        model.qkv.bias.copy_(torch_mha.in_proj_bias)
        torch_mha.out_proj.load_state_dict(model.out.state_dict())
    x = torch.randn(3, T, 16)
    ref, _ = torch_mha(x, x, x, attn_mask=~pattern.dense_mask(T), need_weights=False)
    torch.testing.assert_close(model(x), ref, atol=1e-5, rtol=1e-5)


def test_spatiotemporal_input_attends_along_time_per_node(spatiotemporal):
    model = SparseAttention(3, 1, sliding_window_pattern(2, causal=True), dim=1)
    out = model(spatiotemporal)  # [B, T, N, F] = [2, 6, 7, 3]
    assert out.shape == spatiotemporal.shape
    folded = spatiotemporal.permute(0, 2, 1, 3).reshape(14, 6, 3)  # [B * N, T, F]
    torch.testing.assert_close(out, model(folded).view(2, 7, 6, 3).permute(0, 2, 1, 3))
    across_nodes = SparseAttention(3, 1, sliding_window_pattern(1), dim=2)
    assert across_nodes(spatiotemporal).shape == spatiotemporal.shape


def test_dropout_acts_in_training_only(sequence):
    model = SparseAttention(5, 1, sliding_window_pattern(3), dropout=0.5)
    assert repr(model) == 'SparseAttention(5, heads=1, pattern=sliding_window(window=3), ' \
        'dropout=0.5)'
    assert not torch.allclose(model(sequence), model(sequence))
    model.eval()
    torch.testing.assert_close(model(sequence), model(sequence))


def test_gradients_reach_every_parameter_and_reset_redraws(sequence):
    model = SparseAttention(6, 2, PATTERNS['bigbird'])
    model(torch.randn(3, 11, 6)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    before = [p.clone() for p in model.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    model.reset_parameters()
    assert not torch.equal(before[0], model.qkv.weight)
    assert (model.qkv.bias == 0).all() and (model.out.bias == 0).all()
    assert SparseAttention(6, 2, PATTERNS['window'], bias=False).qkv.bias is None


def test_repr_and_save_load_round_trip(tmp_path, reloaded):
    model = SparseAttention(8, 2, PATTERNS['bigbird'])
    assert repr(model) == ('SparseAttention(8, heads=2, pattern=bigbird(window=3, '
                           'global_tokens=(1,), num_random=2, seed=1))')
    x = torch.randn(2, 20, 8)
    loaded = reloaded(model)
    assert loaded.pattern == model.pattern
    torch.testing.assert_close(loaded(x), model(x))


@pytest.mark.parametrize('name', ['fixed', 'bigbird'])
def test_compiles_without_graph_breaks(name, graph_breaks):
    model = SparseAttention(8, 2, PATTERNS[name])
    count, why = graph_breaks(model, torch.randn(2, 13, 8))
    assert count == 0, why


def test_bad_inputs_name_the_fix():
    q = torch.randn(1, 2, 10, 4)
    with pytest.raises(ValueError, match='pass keys and values of the same length T'):
        sparse_attention(q, torch.randn(1, 2, 9, 4), torch.randn(1, 2, 9, 4),
                         PATTERNS['window'])
    with pytest.raises(ValueError, match=r'expected \[B, H, T, D\] \(split the heads'):
        sparse_attention(q[0], q[0], q[0], PATTERNS['window'])
    with pytest.raises(ValueError, match='with the same B and H'):
        sparse_attention(q, torch.randn(1, 2, 10, 3), q, PATTERNS['window'])
    with pytest.raises(ValueError, match=r'give global_tokens in \[0, 3\]'):
        sparse_attention(q[:, :, :4], q[:, :, :4], q[:, :, :4], PATTERNS['longformer'])
    with pytest.raises(ValueError, match="'window' must be an integer >= 1"):
        SparseAttention(8, 2, sliding_window_pattern(0))
    with pytest.raises(ValueError, match='pick heads among the divisors of 8'):
        SparseAttention(8, 3, PATTERNS['window'])
    with pytest.raises(ValueError, match=r'build one with e.g. sliding_window_pattern'):
        SparseAttention(8, 2, 'sliding_window')
    with pytest.raises(ValueError, match='build the layer with in_channels=5'):
        SparseAttention(8, 2, PATTERNS['window'])(torch.randn(2, 10, 5))
