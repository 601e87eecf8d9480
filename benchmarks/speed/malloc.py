r"""Train-step time of the spatio-temporal models with glibc's default allocator and with freed
memory kept for reuse (:func:`pyg_ext.malloc.keep_freed_memory`, which the ``pyg-ext``
commands and the OGB scripts call at start), side by side in one run.

    PYTHONPATH=. python benchmarks/speed/malloc.py                      # ours, B = 64
    PYTHONPATH=. python benchmarks/speed/malloc.py --models stgcn agcrn --batch-sizes 32 64
    PYTHONPATH=. /work/bench-venv/bin/python benchmarks/speed/malloc.py --peers  # + peers

Each configuration is one child of ``spatiotemporal.py`` (the same shape, train step, timing
and peak memory; see its docstring) with ``malloc`` = ``system`` or ``keep``. The two modes
alternate for ``--rounds`` rounds, so that a load on the machine falls on both alike; the
figure of a mode is the median over rounds of each child's median step time. Beside the time:
minor page faults per step (``getrusage``), which is what the setting removes.
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from _common import matmul_flops, run_child
from spatiotemporal import MODELS, machine, metr_la_graph

SCRIPT = str(Path(__file__).with_name('spatiotemporal.py'))
MODES = ('system', 'keep')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', nargs='+', default=list(MODELS), choices=list(MODELS))
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[64])
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--reps', type=int, default=3, help='timed steps per child')
    parser.add_argument('--rounds', type=int, default=2, help='children per mode, alternated')
    parser.add_argument('--peers', action='store_true', help="also the peers' models")
    parser.add_argument('--timeout', type=int, default=900, help='seconds per child')
    args = parser.parse_args()
    device = torch.device('cpu')
    print('command: ' + ' '.join([Path(sys.executable).name] + sys.argv))
    print('machine: ' + machine(device, args.threads))
    edge_index, _, graph = metr_la_graph()
    print(f'graph: {graph}, E={edge_index.size(1)}; B={args.batch_sizes}; median over '
          f'{args.rounds} rounds (modes alternated) of the median of {args.reps} steps')
    print(f'dense fp32 matmul: {matmul_flops(device, args.threads)[0] * 1e-9:.1f} GFLOP/s\n')
    start, rows = time.perf_counter(), []
    for name in args.models:
        ours, peers, _, _ = MODELS[name]
        builders = [(name, ours)] + ([(label, b) for label, b in peers.items()]
                                     if args.peers else [])
        for label, builder in builders:
            for B in args.batch_sizes:
                runs = {mode: [] for mode in MODES}
                for _ in range(args.rounds):
                    for mode in MODES:
                        config = dict(builder=builder, B=B, device='cpu', threads=args.threads,
                                      warmup=1, reps=args.reps, malloc=mode)
                        r = run_child(SCRIPT, [json.dumps(config)], args.timeout, width=90)
                        if 'error' not in r:
                            runs[mode].append(r)
                        print(f'  {builder} B={B} {mode}: ' + (r.get('error') or
                              f"{r['ms']:.0f} ms, {r['faults']:.0f} faults/step"),
                              file=sys.stderr, flush=True)
                rows.append((label, B, runs))
    print('| model | B | system ms | keep ms | speed-up | system faults/step | '
          'keep faults/step |')
    print('|---|--:|--:|--:|--:|--:|--:|')
    for label, B, runs in rows:
        if not all(runs[mode] for mode in MODES):
            print(f'| {label} | {B} | - | - | - | - | - |')
            continue
        ms = {m: statistics.median(r['ms'] for r in runs[m]) for m in MODES}
        faults = {m: statistics.median(r['faults'] for r in runs[m]) for m in MODES}
        print(f"| {label} | {B} | {ms['system']:.0f} | {ms['keep']:.0f} | "
              f"{ms['system'] / ms['keep']:.2f}x | {faults['system']:.0f} | "
              f"{faults['keep']:.0f} |")
    print(f'\n(total {time.perf_counter() - start:.0f} s)')


if __name__ == '__main__':
    main()
