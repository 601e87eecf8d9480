r"""Speed and memory of the attention blocks against their peers, side by side in one run.

    python benchmarks/speed/blocks.py            # full run (a few minutes on 2 CPU cores)
    python benchmarks/speed/blocks.py --quick    # smoke run, T = 1024 only (about a minute)

1. ``MultiHeadAttention`` (scaled dot, packed Q/K/V) against ``torch.nn.MultiheadAttention``
   (batch_first, same weights; the largest output difference is printed): forward in
   inference (eval, no_grad; torch may take its native fast path) and forward+backward in
   training mode, the two modules timed alternately so that they share the machine's noise.
2. Each sparse pattern of ``sparse_attention`` against dense masked attention on the same
   ``q, k, v [B, H, T, D]``: ``scaled_dot_product_attention`` with the dense boolean mask,
   and the naive ``softmax(q k^T / sqrt(D) + mask) v``, forward (no_grad), for several T.

Timing: wall clock (``time.perf_counter``; with CUDA synchronised), median of ``--reps``
repetitions after ``--warmup`` calls.

Peak memory (section 2): each (method, T) runs in a fresh subprocess, so that no cached
allocation or earlier peak of another configuration counts. The child builds its inputs
(``q, k, v`` and, for the dense methods, their ``[T, T]`` boolean mask: an input, so NOT
counted, which flatters the dense side by T^2 bytes), then on CPU resets the kernel's peak
resident-set counter (writes ``5`` to ``/proc/self/clear_refs``, Linux >= 4.0) and reads
``VmRSS`` from ``/proc/self/status`` as its baseline; it runs the method once and reads
``VmHWM``, the peak resident set since the reset. Peak memory = VmHWM - baseline: every page
the call touched at its highest point, allocator slack included. Without ``clear_refs`` the
child falls back to ``ru_maxrss`` minus the baseline (it then also counts the peak of
importing torch, so it can only overstate). On CUDA it uses ``torch.cuda.max_memory_allocated``
after ``reset_peak_memory_stats``. The timing runs follow in the same child (for T >= 8192
the measured call is the only warm-up). A dense method whose estimated need exceeds 60% of
``MemAvailable`` is skipped and says so (the machine is shared).
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from _common import machine, median_ms, peak_memory, run_child, sync

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a source tree

from pyg_ext.blocks.attention_patterns import (  # noqa: E402
    bigbird_pattern,
    fixed_pattern,
    sliding_window_pattern,
    strided_pattern,
)
from pyg_ext.blocks.sparse_attention import sparse_attention  # noqa: E402

PATTERNS = {  # window 128-ish, as in the papers' long-sequence settings
    'strided(128)': lambda: strided_pattern(128),
    'fixed(128, c=8)': lambda: fixed_pattern(128, summary=8),
    'window(128)': lambda: sliding_window_pattern(128),
    'window(64, d=2)': lambda: sliding_window_pattern(64, dilation=2),
    'longformer(128, g=1)': lambda: sliding_window_pattern(128, global_tokens=[0]),
    'bigbird(128, g=1, r=3)': lambda: bigbird_pattern(128, global_tokens=[0], num_random=3),
}
DENSE_WINDOW = 128  # the dense baselines use the window(128) mask; their cost ignores it


def dense_window_mask(T, window, device):
    """The boolean mask [T, T] of window(window), built with bool ops only."""
    full = torch.ones(T, T, dtype=torch.bool, device=device)
    return full.triu_(-window).tril_(window)  # [T, T]


def naive_attention(q, k, v, mask):
    score = q @ k.transpose(-1, -2) / q.size(-1) ** 0.5  # [B, H, T, T]
    return score.masked_fill_(~mask, float('-inf')).softmax(-1) @ v  # [B, H, T, D]


def sdpa_attention(q, k, v, mask):
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # [B, H, T, D]


def child(config):
    """One (method, T) in a fresh process: peak memory of one call, then the timing."""
    torch.set_num_threads(config['threads'])
    device = torch.device(config['device'])
    T, B, H, D = config['T'], config['B'], config['H'], config['D']
    method = config['method']
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(B, H, T, D, generator=gen).to(device) for _ in range(3))
    if method in PATTERNS:
        pattern = PATTERNS[method]()
        fn = lambda: sparse_attention(q, k, v, pattern)  # noqa: E731
    else:  # the dense mask is an input, built before the baseline: not counted
        mask = dense_window_mask(T, DENSE_WINDOW, device)  # [T, T]
        attend = sdpa_attention if method == 'sdpa' else naive_attention
        fn = lambda: attend(q, k, v, mask)  # noqa: E731
    with torch.no_grad():
        peak = peak_memory(fn, device)  # one call (see _common.py)
        ms = median_ms(fn, device, config['warmup'], config['reps'])
    print(json.dumps({'ms': ms, 'mb': peak / 2**20}))


def available_bytes():
    try:
        with open('/proc/meminfo') as f:
            return next(int(line.split()[1]) * 1024 for line in f
                        if line.startswith('MemAvailable'))
    except (OSError, StopIteration):
        return float('inf')


def dense_need(method, B, H, T):
    # naive: two [B, H, T, T] float tensors alive at once; SDPA: a float copy of the mask.
    return (2 * B * H * 4 if method == 'naive' else 4) * T * T + 2 * T * T


def section_multi_head(args, device):
    from torch import nn

    from pyg_ext.blocks.multi_head_attention import MultiHeadAttention
    B, T, Fc, H = args.mha_shape
    ours = MultiHeadAttention(Fc, H).to(device)
    theirs = nn.MultiheadAttention(Fc, H, batch_first=True).to(device)
    with torch.no_grad():
        theirs.in_proj_weight.copy_(ours.in_proj.weight)
        theirs.in_proj_bias.copy_(ours.in_proj.bias)
        theirs.out_proj.load_state_dict(ours.out_proj.state_dict())
    x = torch.randn(B, T, Fc, device=device)
    diff = (ours(x) - theirs(x, x, x, need_weights=False)[0]).abs().max().item()
    print(f'\n## 1. MultiHeadAttention vs torch.nn.MultiheadAttention '
          f'(B={B}, T={T}, F={Fc}, heads={H}; max |out diff| = {diff:.1e})\n')
    calls = {'ours': (ours, lambda inp: ours(inp)),
             'torch': (theirs, lambda inp: theirs(inp, inp, inp, need_weights=False)[0])}
    xg = x.clone().requires_grad_()

    def infer(model, call):
        with torch.no_grad():
            call(x)

    def train(model, call):
        model.zero_grad(set_to_none=True)
        call(xg).sum().backward()

    times = {}
    for mode, step, training in (('forward (eval, no_grad)', infer, False),
                                 ('forward+backward (train)', train, True)):
        samples = {name: [] for name in calls}
        for model, _ in calls.values():
            model.train(training)
        for rep in range(args.warmup + args.reps):  # ours and torch alternate: same noise
            for name, (model, call) in calls.items():
                sync(device)
                start = time.perf_counter()
                step(model, call)
                sync(device)
                if rep >= args.warmup:
                    samples[name].append(time.perf_counter() - start)
        for name in calls:
            times[mode, name] = 1e3 * statistics.median(samples[name])
    rows = [(mode, times[mode, 'ours'], times[mode, 'torch'],
             times[mode, 'ours'] / times[mode, 'torch'])
            for mode in ('forward (eval, no_grad)', 'forward+backward (train)')]
    print(f"| {'pass':<26} | {'ours (ms)':>10} | {'torch (ms)':>10} | {'ours/torch':>10} |")
    print(f"| {'-' * 26} | {'-' * 10}:| {'-' * 10}:| {'-' * 10}:|")
    for mode, a, b, r in rows:
        print(f'| {mode:<26} | {a:>10.2f} | {b:>10.2f} | {r:>10.2f} |')


def section_sparse(args, device):
    B, H, D = 1, 4, 64
    print(f'\n## 2. Sparse patterns vs dense masked attention (B={B}, H={H}, D={D}, '
          f'forward, no_grad; dense mask = window({DENSE_WINDOW}))\n')
    methods = list(PATTERNS) + ['sdpa', 'naive']
    results = {}
    for T in args.lengths:
        for method in methods:
            long = T >= 8192
            config = dict(method=method, T=T, B=B, H=H, D=D, threads=args.threads,
                          device=str(device), warmup=0 if long else args.warmup,
                          reps=min(args.reps, 3) if long else args.reps)
            need = dense_need(method, B, H, T) if method in ('sdpa', 'naive') else 0
            if device.type == 'cpu' and need > 0.6 * available_bytes():
                results[method, T] = {'error': f'skipped: needs ~{need / 2**30:.1f} GiB'}
            else:
                results[method, T] = run_child(__file__, [json.dumps(config)])
            print(f'  measured {method} T={T}: {results[method, T]}', file=sys.stderr)
    head = (f"| {'T':>6} | {'method':<24} | {'time (ms)':>10} | {'peak MB':>9} | "
            f"{'time/sdpa':>9} | {'sdpa MB/ours':>12} | {'naive MB/ours':>13} |")
    print(head)
    print('|' + '|'.join('-' * (len(c) - 1) + (':' if i > 1 else '-')
                         for i, c in enumerate(head.split('|')[1:-1])) + '|')
    for T in args.lengths:
        sdpa, naive = results['sdpa', T], results['naive', T]
        for method in methods:
            r = results[method, T]
            if 'error' in r:
                print(f"| {T:>6} | {method:<24} | {r['error']:>48} |")
                continue
            ratio = lambda ref, key, inv: (  # noqa: E731
                f"{(ref[key] / r[key] if inv else r[key] / ref[key]):.2f}"
                if 'error' not in ref else '-')
            print(f"| {T:>6} | {method:<24} | {r['ms']:>10.1f} | {r['mb']:>9.1f} | "
                  f"{ratio(sdpa, 'ms', False):>9} | {ratio(sdpa, 'mb', True):>12} | "
                  f"{ratio(naive, 'mb', True):>13} |")
    lo, hi = min(args.lengths), max(args.lengths)
    if lo != hi:
        print(f'\nGrowth from T={lo} to T={hi} ({hi // lo}x longer; linear = {hi / lo:.0f}x, '
              f'quadratic = {(hi / lo) ** 2:.0f}x):')
        for method in methods:
            a, b = results[method, lo], results[method, hi]
            if 'error' not in a and 'error' not in b:
                print(f'  {method:<24} time x{b["ms"] / a["ms"]:.1f}   '
                      f'peak memory x{b["mb"] / max(a["mb"], 1e-3):.1f}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true', help='a one-minute smoke run')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--reps', type=int, default=None)
    parser.add_argument('--warmup', type=int, default=None)
    parser.add_argument('--lengths', type=int, nargs='+', default=None)
    parser.add_argument('--mha-shape', type=int, nargs=4, default=[8, 256, 256, 8],
                        metavar=('B', 'T', 'F', 'HEADS'))
    parser.add_argument('--skip', nargs='*', default=[], choices=['mha', 'sparse'])
    parser.add_argument('--child', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(json.loads(args.child))
    args.reps = args.reps or (3 if args.quick else 7)
    args.warmup = args.warmup or (1 if args.quick else 2)
    args.lengths = args.lengths or ([1024] if args.quick else [1024, 4096, 16384])
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print('command: ' + ' '.join([Path(sys.executable).name] + sys.argv))
    print('machine: ' + machine(device))
    start = time.perf_counter()
    if 'mha' not in args.skip:
        section_multi_head(args, device)
    if 'sparse' not in args.skip:
        section_sparse(args, device)
    print(f'\n(total {time.perf_counter() - start:.0f} s)')


if __name__ == '__main__':
    main()
