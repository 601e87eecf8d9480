r"""Long-sequence attention patterns: which keys each query may see.

Dimensions: T - sequence length, R - random keys per query block, G - global tokens,
n - query blocks (of the pattern's :obj:`window` positions).

A pattern is an :class:`AttentionPattern` built by one of the constructors below. It is
defined by rules on positions (query :math:`i`, key :math:`j`), so the same rules give the
dense boolean mask :math:`[T, T]` (:meth:`AttentionPattern.dense_mask`, for tests and small
:math:`T`) and the blocked masks that
:func:`~pyg_ext.blocks.sparse_attention.sparse_attention` builds on the fly without a
:math:`T \times T` tensor. Every query always sees itself, so no row is empty.
"""
import math
from typing import NamedTuple, Sequence, Tuple

import torch
from torch import Tensor


class AttentionPattern(NamedTuple):
    r"""A sparse attention pattern (an immutable record); build it with
    :func:`strided_pattern`, :func:`fixed_pattern`, :func:`sliding_window_pattern` or
    :func:`bigbird_pattern`, which check the arguments. :obj:`kind` is one of
    :obj:`'strided'`, :obj:`'fixed'`, :obj:`'sliding_window'`, :obj:`'bigbird'`;
    :obj:`window` is the stride :math:`l` of the Sparse Transformer patterns and the
    one-sided window :math:`w` of the Longformer and BigBird patterns; :obj:`summary` is
    :math:`c` of the fixed pattern; the other fields are the constructors' arguments.
    """
    kind: str
    window: int
    dilation: int = 1
    causal: bool = False
    global_tokens: Tuple[int, ...] = ()
    num_random: int = 0
    summary: int = 0
    seed: int = 0

    def dense_mask(self, seq_len: int, device=None) -> Tensor:
        r"""The boolean mask :math:`[T, T]` (:obj:`True` = query :math:`i` attends to key
        :math:`j`) of this pattern for a sequence of :obj:`seq_len` positions."""
        return dense_mask(self, seq_len, device)

    def __repr__(self) -> str:
        if self.kind in ('strided', 'fixed'):  # causal by definition
            args = [f'stride={self.window}']
            args += [f'summary={self.summary}'] if self.kind == 'fixed' else []
        else:
            args = [f'window={self.window}']
            args += [f'dilation={self.dilation}'] if self.dilation != 1 else []
            args += ['causal=True'] if self.causal else []
            args += [f'global_tokens={self.global_tokens}'] if self.global_tokens else []
            if self.num_random > 0:
                args += [f'num_random={self.num_random}', f'seed={self.seed}']
        return f"{self.kind}({', '.join(args)})"


def _check_positive(value: int, name: str, hint: str) -> None:
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"'{name}' must be an integer >= 1 (got {value!r}); {hint}")


def _check_globals(global_tokens: Sequence[int], causal: bool) -> Tuple[int, ...]:
    tokens = tuple(sorted({int(t) for t in global_tokens}))
    if tokens and tokens[0] < 0:
        raise ValueError(f"'global_tokens' holds negative position {tokens[0]}; give "
                         f"positions counted from 0 (e.g. 0 for a [CLS] token)")
    if tokens and causal:
        raise ValueError("global tokens see the whole sequence, which breaks causality; "
                         "drop 'global_tokens' or set causal=False")
    return tokens


def strided_pattern(stride: int) -> AttentionPattern:
    r"""The strided pattern of the `"Generating Long Sequences with Sparse Transformers"
    <https://arxiv.org/abs/1904.10509>`_ paper (Child et al., 2019), causal, with the two
    heads' sets merged: :math:`A_i = \{j : 0 \le i - j \le l\} \cup
    \{j \le i : (i - j) \bmod l = 0\}` for stride :math:`l`. Cost :math:`O(T(l + T/l))`.

    Args:
        stride (int): The stride :math:`l` (about :math:`\sqrt{T}` in the paper).
    """
    _check_positive(stride, 'stride', 'a stride of about sqrt(T) is the usual choice')
    return AttentionPattern('strided', stride, causal=True)


def fixed_pattern(stride: int, summary: int = 1) -> AttentionPattern:
    r"""The fixed pattern of Child et al. (2019), causal: query :math:`i` sees the earlier
    positions of its own block of :math:`l` positions and the last :math:`c` ("summary")
    positions of every earlier block, :math:`A_i = \{j \le i : \lfloor j / l \rfloor =
    \lfloor i / l \rfloor\} \cup \{j \le i : j \bmod l \ge l - c\}`.

    Args:
        stride (int): The block length :math:`l`.
        summary (int, optional): The summary positions :math:`c \le l` per block (the
            paper uses 8 to 32 with :math:`l = 128`). (default: :obj:`1`)
    """
    _check_positive(stride, 'stride', 'use the block length, e.g. 128')
    _check_positive(summary, 'summary', 'give the number of summary positions c per block')
    if summary > stride:
        raise ValueError(f"'summary' ({summary}) cannot exceed 'stride' ({stride}); a block "
                         f"has only {stride} positions to summarise it")
    return AttentionPattern('fixed', stride, causal=True, summary=summary)


def sliding_window_pattern(window: int, dilation: int = 1, causal: bool = False,
                           global_tokens: Sequence[int] = ()) -> AttentionPattern:
    r"""The Longformer pattern of the `"Longformer: The Long-Document Transformer"
    <https://arxiv.org/abs/2004.05150>`_ paper (Beltagy et al., 2020): a (dilated) sliding
    window :math:`\{j : |i - j| \le w d,\ (i - j) \bmod d = 0\}` (:math:`j \le i` if
    :obj:`causal`), plus global tokens that attend to and are attended by every position.

    Args:
        window (int): The one-sided window :math:`w` (in steps of :obj:`dilation`).
        dilation (int, optional): The gap :math:`d` between attended positions.
            (default: :obj:`1`)
        causal (bool, optional): Attend to earlier positions only. (default: :obj:`False`)
        global_tokens (Sequence[int], optional): Positions that attend to and are attended
            by all positions (e.g. :obj:`[0]` for a [CLS] token). (default: :obj:`()`)
    """
    _check_positive(window, 'window', 'use window=1 to see the direct neighbours')
    _check_positive(dilation, 'dilation', 'use dilation=1 for a dense window')
    return AttentionPattern('sliding_window', window, dilation, causal,
                            _check_globals(global_tokens, causal))


def bigbird_pattern(window: int, global_tokens: Sequence[int] = (), num_random: int = 3,
                    seed: int = 0, causal: bool = False) -> AttentionPattern:
    r"""The BigBird pattern of the `"Big Bird: Transformers for Longer Sequences"
    <https://arxiv.org/abs/2007.14062>`_ paper (Zaheer et al., 2020): a sliding window of
    :math:`w` each side, global tokens, and :obj:`num_random` random keys per query block of
    :math:`w` positions, drawn (without repeats, outside the block's window; before it if
    :obj:`causal`) from a counter-based generator seeded with :obj:`seed`, so a pattern is
    reproducible on any device. A random key that is also a global token is counted once.

    Args:
        window (int): The one-sided window :math:`w`, also the query block length.
        global_tokens (Sequence[int], optional): Global positions. (default: :obj:`()`)
        num_random (int, optional): Random keys :math:`r` per query block.
            (default: :obj:`3`)
        seed (int, optional): Seed of the random keys. (default: :obj:`0`)
        causal (bool, optional): Attend to earlier positions only (then no global tokens).
            (default: :obj:`False`)
    """
    _check_positive(window, 'window', 'use window=1 to see the direct neighbours')
    if not isinstance(num_random, int) or num_random < 0:
        raise ValueError(f"'num_random' must be an integer >= 0 (got {num_random!r})")
    return AttentionPattern('bigbird', window, 1, causal,
                            _check_globals(global_tokens, causal), num_random, 0, int(seed))


def local_allowed(pattern: AttentionPattern, i: Tensor, j: Tensor) -> Tensor:
    r"""The local (banded) part of :obj:`pattern` for query positions :obj:`i` and key
    positions :obj:`j` (broadcast together); it always holds :math:`i = j`."""
    diff = i - j
    if pattern.kind == 'strided':
        return (diff >= 0) & (diff <= pattern.window)
    if pattern.kind == 'fixed':
        return (diff >= 0) & (i.div(pattern.window, rounding_mode='floor')
                               == j.div(pattern.window, rounding_mode='floor'))
    ok = diff.abs() <= pattern.window * pattern.dilation
    if pattern.dilation > 1:
        ok = ok & (diff % pattern.dilation == 0)
    return ok & (diff >= 0) if pattern.causal else ok


def strided_allowed(pattern: AttentionPattern, i: Tensor, j: Tensor) -> Tensor:
    r"""The strided keys of a strided pattern that the local part does not hold:
    :math:`(i - j) \bmod l = 0,\ i - j > l`."""
    diff = i - j
    return (diff > pattern.window) & (diff % pattern.window == 0)


def summary_allowed(pattern: AttentionPattern, i: Tensor, j: Tensor) -> Tensor:
    r"""The summary keys of a fixed pattern in earlier blocks:
    :math:`j \bmod l \ge l - c,\ \lfloor j / l \rfloor < \lfloor i / l \rfloor`."""
    stride = pattern.window
    return ((j % stride >= stride - pattern.summary)
            & (j.div(stride, rounding_mode='floor') < i.div(stride, rounding_mode='floor')))


def _hash32(x: Tensor) -> Tensor:
    # A 32-bit integer mix (T. Mueller's constant); products stay below 2**63 in int64.
    x = ((x >> 16) ^ x) * 0x45D9F3B & 0xFFFFFFFF
    x = ((x >> 16) ^ x) * 0x45D9F3B & 0xFFFFFFFF
    return (x >> 16) ^ x


def _uniform(seed: int, rows: int, cols: int, device=None) -> Tensor:
    r"""Reproducible uniform numbers in :math:`[0, 1)` of shape :math:`[rows, cols]`: a
    counter-based generator (the hash of the seed and of each entry's index), so the draw
    is the same on every device and compiles without graph breaks."""
    index = torch.arange(rows * cols, device=device).view(rows, cols)  # [rows, cols]
    key = _hash32(torch.tensor(seed & 0xFFFFFFFF, device=device))
    return _hash32(_hash32(index & 0xFFFFFFFF) ^ key).double() / 2.0**32


def random_keys(pattern: AttentionPattern, seq_len: int, device=None) -> Tensor:
    r"""The random key positions :math:`[n, R]` of a BigBird pattern, one row per query
    block of :obj:`window` positions (:math:`n = \lceil T / w \rceil`), :obj:`-1` where a
    block has fewer than :math:`R` positions to draw from. Distinct draws per row by Floyd's
    algorithm, from a counter-based generator seeded with :obj:`seed`; a few integer ops on
    :math:`[n, R]`."""
    w, r = pattern.window, pattern.num_random
    n = math.ceil(seq_len / w)
    start = torch.arange(n, device=device) * w  # [n]
    lo = (start - w).clamp(min=0)  # first key of the block's window
    hi = (start + 2 * w - 1).clamp(max=seq_len - 1)  # last key of the block's window
    size = lo if pattern.causal else seq_len - (hi - lo + 1)  # positions to draw from
    u = _uniform(pattern.seed, n, r, device)  # [n, R]
    chosen = []
    for s in range(r):  # Floyd: r steps, each vectorised over the blocks
        top = size - r + s  # [n]
        t = (u[:, s] * (top + 1)).floor().long()
        if chosen:
            t = torch.where((torch.stack(chosen, 1) == t[:, None]).any(1), top, t)
        chosen.append(torch.where(top >= 0, t, torch.full_like(t, -1)))
    v = torch.stack(chosen, 1) if chosen else start.new_zeros(n, 0)  # [n, R]
    if not pattern.causal:  # skip over the window [lo, hi]
        v = torch.where(v >= lo[:, None], v + (hi - lo + 1)[:, None], v)
    return torch.where(v >= 0, v, -1)


def dense_mask(pattern: AttentionPattern, seq_len: int, device=None) -> Tensor:
    r"""The boolean mask :math:`[T, T]` of :obj:`pattern` (:obj:`True` = may attend)."""
    i = torch.arange(seq_len, device=device)[:, None]  # [T, 1]
    j = torch.arange(seq_len, device=device)[None, :]  # [1, T]
    mask = local_allowed(pattern, i, j)  # [T, T]
    if pattern.kind == 'strided':
        mask = mask | strided_allowed(pattern, i, j)
    if pattern.kind == 'fixed':
        mask = mask | summary_allowed(pattern, i, j)
    if pattern.num_random > 0:
        keys = random_keys(pattern, seq_len, device)[i[:, 0] // pattern.window]  # [T, R]
        hits = torch.zeros(seq_len, seq_len, dtype=torch.int32, device=device)
        hits.scatter_add_(1, keys.clamp(min=0), (keys >= 0).int())
        mask = mask | (hits > 0)
    if pattern.global_tokens:
        check_global_tokens(pattern, seq_len)
        g = torch.tensor(pattern.global_tokens, device=device)
        mask = mask.index_fill(0, g, True).index_fill(1, g, True)
    return mask


def check_global_tokens(pattern: AttentionPattern, seq_len: int) -> None:
    r"""Raise if a global token lies past the end of a sequence of :obj:`seq_len`."""
    if pattern.global_tokens and pattern.global_tokens[-1] >= seq_len:
        raise ValueError(
            f"global token {pattern.global_tokens[-1]} lies past the end of a sequence of "
            f"{seq_len} positions; give global_tokens in [0, {seq_len - 1}] (or pad the "
            f"sequence)")
