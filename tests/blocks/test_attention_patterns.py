import pytest
import torch

from pyg_ext.blocks.attention_patterns import (
    _uniform,
    bigbird_pattern,
    fixed_pattern,
    random_keys,
    sliding_window_pattern,
    strided_pattern,
)


def loop_mask(rule, T):
    """A dense mask written from the paper's set definition, one entry at a time."""
    return torch.tensor([[bool(rule(i, j)) for j in range(T)] for i in range(T)])


@pytest.mark.parametrize('T', [1, 9, 22])
def test_sparse_transformer_masks_follow_child_et_al(T):
    s, c = 4, 2  # stride l = s
    # Strided: A_i = {t, ..., i} with t = max(0, i - l), and {j : (i - j) mod l = 0}; causal.
    strided = loop_mask(lambda i, j: j <= i and (i - j <= s or (i - j) % s == 0), T)
    assert torch.equal(strided_pattern(s).dense_mask(T), strided)
    # Fixed: same block of s, or one of the last c positions of a block; causal.
    fixed = loop_mask(lambda i, j: j <= i and (j // s == i // s or j % s >= s - c), T)
    assert torch.equal(fixed_pattern(s, summary=c).dense_mask(T), fixed)


@pytest.mark.parametrize('T', [1, 10, 23])
def test_longformer_masks_follow_beltagy_et_al(T):
    w, d = 2, 3
    window = loop_mask(lambda i, j: abs(i - j) <= w, T)
    assert torch.equal(sliding_window_pattern(w).dense_mask(T), window)
    causal = loop_mask(lambda i, j: 0 <= i - j <= w, T)
    assert torch.equal(sliding_window_pattern(w, causal=True).dense_mask(T), causal)
    dilated = loop_mask(lambda i, j: abs(i - j) <= w * d and (i - j) % d == 0, T)
    assert torch.equal(sliding_window_pattern(w, dilation=d).dense_mask(T), dilated)
    if T > 5:
        glob = loop_mask(lambda i, j: abs(i - j) <= w or i in (0, 5) or j in (0, 5), T)
        pattern = sliding_window_pattern(w, global_tokens=[5, 0, 5])
        assert pattern.global_tokens == (0, 5)
        assert torch.equal(pattern.dense_mask(T), glob)


def test_bigbird_mask_is_window_global_and_random_keys():
    T, w, r = 40, 3, 2
    pattern = bigbird_pattern(w, global_tokens=[0], num_random=r, seed=7)
    keys = random_keys(pattern, T)
    assert keys.shape == (14, r)  # one row per query block of w positions
    rand = [set(keys[i // w].tolist()) for i in range(T)]
    ref = loop_mask(lambda i, j: abs(i - j) <= w or i == 0 or j == 0 or j in rand[i], T)
    assert torch.equal(pattern.dense_mask(T), ref)


def test_random_keys_are_distinct_outside_the_window_and_reproducible():
    T, w, r = 200, 8, 5
    keys = random_keys(bigbird_pattern(w, num_random=r, seed=3), T)
    assert keys.min() >= 0 and keys.max() < T
    for block, row in enumerate(keys.tolist()):
        assert len(set(row)) == r
        lo, hi = block * w - w, block * w + 2 * w - 1  # the block's window
        assert all(j < lo or j > hi for j in row)
    assert torch.equal(keys, random_keys(bigbird_pattern(w, num_random=r, seed=3), T))
    assert not torch.equal(keys, random_keys(bigbird_pattern(w, num_random=r, seed=4), T))
    # Causal: drawn before the block's window; early blocks have too few positions (-1).
    causal = random_keys(bigbird_pattern(w, num_random=r, seed=3, causal=True), T)
    for block, row in enumerate(causal.tolist()):
        drawn = [j for j in row if j >= 0]
        room = max(block * w - w, 0)
        assert len(drawn) == min(r, room) and len(set(drawn)) == len(drawn)
        assert all(j < room for j in drawn)


def test_uniform_draws_are_uniform_and_seeded():
    u = _uniform(0, 500, 40)
    assert u.min() >= 0 and u.max() < 1
    assert abs(u.mean().item() - 0.5) < 0.01 and abs(u.var().item() - 1 / 12) < 0.005
    torch.testing.assert_close(torch.histc(u.float(), 10, 0, 1) / u.numel(),
                               torch.full((10,), 0.1), atol=0.01, rtol=0)
    assert torch.equal(u, _uniform(0, 500, 40)) and not torch.equal(u, _uniform(1, 500, 40))


@pytest.mark.parametrize('pattern', [
    strided_pattern(3), fixed_pattern(4, 2), sliding_window_pattern(2, dilation=2),
    sliding_window_pattern(2, causal=True), bigbird_pattern(3, global_tokens=[4]),
    bigbird_pattern(2, num_random=2, causal=True),
])
def test_every_query_sees_itself_and_causal_never_sees_the_future(pattern):
    mask = pattern.dense_mask(31)
    assert mask.diagonal().all()
    if pattern.causal:
        assert not mask.triu(1).any()
    for g in pattern.global_tokens:
        assert mask[g].all() and mask[:, g].all()


def test_repr():
    assert repr(strided_pattern(16)) == 'strided(stride=16)'
    assert repr(fixed_pattern(16, summary=2)) == 'fixed(stride=16, summary=2)'
    assert repr(sliding_window_pattern(8, dilation=2, causal=True)) == \
        'sliding_window(window=8, dilation=2, causal=True)'
    assert repr(sliding_window_pattern(8, global_tokens=[0])) == \
        'sliding_window(window=8, global_tokens=(0,))'
    assert repr(bigbird_pattern(8, global_tokens=[0, 1], num_random=2, seed=5)) == \
        'bigbird(window=8, global_tokens=(0, 1), num_random=2, seed=5)'


def test_bad_arguments_name_the_fix():
    with pytest.raises(ValueError, match=r"'window' must be an integer >= 1 .*window=1"):
        sliding_window_pattern(0)
    with pytest.raises(ValueError, match="'window' must be an integer >= 1"):
        bigbird_pattern(-2)
    with pytest.raises(ValueError, match="use dilation=1"):
        sliding_window_pattern(4, dilation=0)
    with pytest.raises(ValueError, match="'stride' must be an integer >= 1"):
        strided_pattern(0)
    with pytest.raises(ValueError, match=r"'summary' \(5\) cannot exceed 'stride' \(4\)"):
        fixed_pattern(4, summary=5)
    with pytest.raises(ValueError, match="'num_random' must be an integer >= 0"):
        bigbird_pattern(4, num_random=-1)
    with pytest.raises(ValueError, match="counted from 0"):
        sliding_window_pattern(4, global_tokens=[-1])
    with pytest.raises(ValueError, match="set causal=False"):
        sliding_window_pattern(4, causal=True, global_tokens=[0])
    with pytest.raises(ValueError, match=r"give global_tokens in \[0, 9\]"):
        sliding_window_pattern(4, global_tokens=[12]).dense_mask(10)
