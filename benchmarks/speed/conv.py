r"""Speed and memory of pyg_ext's graph layers against their PyG peers, side by side in one run.

    python benchmarks/speed/conv.py            # ogbn-arxiv size (tens of minutes on 2 cores)
    python benchmarks/speed/conv.py --quick    # 20k nodes, 140k edges (a few minutes)

Pairs (same weights; the outputs are checked equal on a small graph first):

1. ``GraphAttentionConv`` (score ``'additive'``, ``share_weights=True``) vs ``GATConv``
2. ``GraphAttentionConv`` (score ``'scaled_dot'``, value / root weight, no self-loops)
   vs ``TransformerConv``
3. ``RecurrentGraphConv`` (``updater='gru'``) vs ``GatedGraphConv``

on a random directed graph the size of ogbn-arxiv (169,343 nodes, 1,166,243 edges drawn
uniformly, 128 input features; ``--nodes``, ``--edges``, ``--channels`` change it), heads 4 x 32
channels for the attention layers and 3 propagation steps for the gated layers. One step =
forward + ``out.sum().backward()`` (parameters and input require gradients).

Timing: wall clock (``time.perf_counter``, CUDA synchronised) of one step, ``--warmup``
untimed steps, then ``--reps`` repetitions of the pair *alternated* in one process (ours, PyG,
PyG, ours, ours, PyG, ...), so that a change in the load of a shared machine, or a benefit
of going first or second, hits both alike; the table gives the medians and their ratio.

Peak memory: every layer runs in a fresh subprocess, so that no cached allocation or earlier
peak of another layer counts. The child builds the graph, the input and the layer, runs one
untimed step (PyG's lazy set-up), drops the gradients, and profiles one more step with
``torch.profiler`` (``profile_memory=True``): summing its allocation (+bytes) and free
(-bytes) events in time order gives the tensor memory alive at every moment of the step, and
the peak is the largest sum (activations saved for backward, gradients, temporaries; exact and
repeatable, since it counts tensors, not pages). As a cross-check the child also reports the
resident-set peak of an unprofiled step (``/proc/self/clear_refs`` reset, then ``VmHWM -
VmRSS``, Linux >= 4.0; it adds the allocator's page reuse and varies by some 10% from run to
run). On CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``, minus
what was allocated before the step.

Figures on a shared machine are noisy; compare ratios from the same run.
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from _common import machine, peak_memory, rss_peak, run_child, sync

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a source tree

from torch_geometric.nn import GATConv, GatedGraphConv, TransformerConv  # noqa: E402

from pyg_ext.nn.conv.graph_attention_conv import GraphAttentionConv  # noqa: E402
from pyg_ext.nn.recurrent.recurrent_graph_conv import RecurrentGraphConv  # noqa: E402

HEADS, STEPS = 4, 3
TRANSFORMER = dict(score='scaled_dot', add_self_loops=False, value_weight=True,
                   root_weight=True, proj_bias=True, bias=False)


def gat_pair(channels):
    theirs = GATConv(channels, channels // HEADS, heads=HEADS)
    ours = GraphAttentionConv(channels, channels // HEADS, HEADS, share_weights=True)
    with torch.no_grad():
        ours.lin_key.weight.copy_(theirs.lin.weight)
        ours.score.att_query.copy_(theirs.att_dst[0])
        ours.score.att_key.copy_(theirs.att_src[0])
        ours.bias.copy_(theirs.bias)
    return ours, theirs


def transformer_pair(channels):
    theirs = TransformerConv(channels, channels // HEADS, heads=HEADS)
    ours = GraphAttentionConv(channels, channels // HEADS, HEADS, **TRANSFORMER)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def gated_pair(channels):
    theirs = GatedGraphConv(channels, num_layers=STEPS)
    ours = RecurrentGraphConv(channels, STEPS, updater='gru')
    with torch.no_grad():
        ours.weight.copy_(theirs.weight)
        ours.cell.input_map.weight.copy_(theirs.rnn.weight_ih)
        ours.cell.hidden_map.weight.copy_(theirs.rnn.weight_hh)
        ours.cell.input_map.bias.copy_(theirs.rnn.bias_ih)
        ours.cell.hidden_map.bias.copy_(theirs.rnn.bias_hh)
    return ours, theirs


PAIRS = {  # name: (builder, label of ours, label of PyG's)
    'gat': (gat_pair, "GraphAttentionConv('additive')", 'GATConv'),
    'transformer': (transformer_pair, "GraphAttentionConv('scaled_dot')", 'TransformerConv'),
    'gated': (gated_pair, "RecurrentGraphConv('gru')", 'GatedGraphConv'),
}


def inputs(config, device):
    gen = torch.Generator().manual_seed(0)
    N, E, F = config['nodes'], config['edges'], config['channels']
    edge_index = torch.randint(0, N, (2, E), generator=gen).to(device)  # [2, E]
    x = torch.randn(N, F, generator=gen).to(device).requires_grad_()  # [N, F]
    return x, edge_index


def step(model, x, edge_index):
    model.zero_grad(set_to_none=True)
    x.grad = None
    model(x, edge_index).sum().backward()


def profiled_peak(model, x, edge_index):
    """Peak bytes of tensors alive during one step, from torch.profiler's memory events."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step(model, x, edge_index)
    events = sorted((e for e in prof.profiler.kineto_results.events() if e.name() == '[memory]'),
                    key=lambda e: e.start_ns())
    live = peak = 0
    for event in events:
        live += event.nbytes()
        peak = max(peak, live)
    return peak


def child_memory(config):
    """Peak memory of one step of one layer, in a fresh process."""
    torch.set_num_threads(config['threads'])
    device = torch.device(config['device'])
    torch.manual_seed(0)
    ours, theirs = PAIRS[config['pair']][0](config['channels'])
    model = (ours if config['which'] == 'ours' else theirs).to(device)
    del ours, theirs
    x, edge_index = inputs(config, device)
    if device.type == 'cuda':
        step(model, x, edge_index)
        model.zero_grad(set_to_none=True)
        x.grad = None
        peak = peak_memory(lambda: step(model, x, edge_index), device)
        print(json.dumps({'mb': peak / 2**20, 'rss_mb': None}))
        return
    rss = rss_peak(lambda: step(model, x, edge_index))  # also the warm-up step
    model.zero_grad(set_to_none=True)
    x.grad = None
    peak = profiled_peak(model, x, edge_index)
    print(json.dumps({'mb': peak / 2**20, 'rss_mb': None if rss is None else rss / 2**20}))


def child_time(config):
    """Median step time of ours and PyG's, alternated in one process."""
    torch.set_num_threads(config['threads'])
    device = torch.device(config['device'])
    torch.manual_seed(0)
    models = [m.to(device) for m in PAIRS[config['pair']][0](config['channels'])]
    x, edge_index = inputs(config, device)
    for _ in range(config['warmup']):
        for model in models:
            step(model, x, edge_index)
    times = ([], [])
    for rep in range(config['reps']):
        order = (0, 1) if rep % 2 == 0 else (1, 0)  # who goes first alternates too
        for model, record in ((models[i], times[i]) for i in order):
            sync(device)
            start = time.perf_counter()
            step(model, x, edge_index)
            sync(device)
            record.append(time.perf_counter() - start)
    print(json.dumps({'ours': 1e3 * statistics.median(times[0]),
                      'theirs': 1e3 * statistics.median(times[1])}))


def measure(kind, config):
    """One measurement ('memory' or 'time') in a fresh process."""
    return run_child(__file__, [kind, json.dumps(config)], width=80)


def check_equal(name):
    """max |ours - PyG| of outputs and input gradients on a small random graph."""
    torch.manual_seed(0)
    ours, theirs = PAIRS[name][0](32)
    x = torch.randn(200, 32)
    edge_index = torch.randint(0, 200, (2, 1000))
    diffs = []
    for model in (ours, theirs):
        xg = x.clone().requires_grad_()
        out = model(xg, edge_index)
        out.square().sum().backward()
        diffs.append((out.detach(), xg.grad))
    return max((a - b).abs().max().item() for a, b in zip(*diffs))


def rss(result):
    return '-' if result.get('rss_mb') is None else f"{result['rss_mb']:.0f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true', help='a small graph, a few minutes')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--nodes', type=int, default=None)
    parser.add_argument('--edges', type=int, default=None)
    parser.add_argument('--channels', type=int, default=128)
    parser.add_argument('--reps', type=int, default=None)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--pairs', nargs='+', default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument('--child', nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, config = args.child
        return (child_memory if kind == 'memory' else child_time)(json.loads(config))
    args.nodes = args.nodes or (20_000 if args.quick else 169_343)
    args.edges = args.edges or (140_000 if args.quick else 1_166_243)
    args.reps = args.reps or (3 if args.quick else 5)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print('command: ' + ' '.join([Path(sys.executable).name] + sys.argv))
    print('machine: ' + machine(device))
    print(f'graph: {args.nodes:,} nodes, {args.edges:,} random edges, {args.channels} '
          f'features; attention {HEADS} heads x {args.channels // HEADS}, gated {STEPS} steps; '
          f'forward+backward, median of {args.reps} (after {args.warmup} warm-up)\n')
    start = time.perf_counter()
    config = dict(nodes=args.nodes, edges=args.edges, channels=args.channels,
                  threads=args.threads, device=str(device), warmup=args.warmup, reps=args.reps)
    rows = []
    for name in args.pairs:
        diff = check_equal(name)
        mem = {which: measure('memory', dict(config, pair=name, which=which))
               for which in ('ours', 'theirs')}
        times = measure('time', dict(config, pair=name))
        print(f'  measured {name}: |diff| {diff:.1e}, memory {mem}, time {times}',
              file=sys.stderr)
        rows.append((name, diff, mem, times))

    head = (f"| {'ours':<32} | {'PyG':<15} | {'ours ms':>9} | {'PyG ms':>9} | {'time ratio':>10} "
            f"| {'ours MB':>8} | {'PyG MB':>8} | {'mem ratio':>9} | {'RSS MB ours / PyG':>17} "
            f"| {'max diff':>8} |")
    print(head)
    print('|' + '|'.join('-' * (len(c) - 1) + (':' if i > 1 else '-')
                         for i, c in enumerate(head.split('|')[1:-1])) + '|')
    for name, diff, mem, times in rows:
        _, ours_label, theirs_label = PAIRS[name]
        t = (f"{times['ours']:>9.0f} | {times['theirs']:>9.0f} | "
             f"{times['ours'] / times['theirs']:>10.3f}" if 'error' not in times
             else f"{times['error']:>33}")
        m = (f"{mem['ours']['mb']:>8.0f} | {mem['theirs']['mb']:>8.0f} | "
             f"{mem['ours']['mb'] / mem['theirs']['mb']:>9.3f} | "
             f"{rss(mem['ours']):>8} / {rss(mem['theirs']):<6}"
             if 'error' not in mem['ours'] and 'error' not in mem['theirs']
             else f"{str(mem)[:50]:>50}")
        print(f'| {ours_label:<32} | {theirs_label:<15} | {t} | {m} | {diff:>8.1e} |')
    print(f'\n(total {time.perf_counter() - start:.0f} s)')


if __name__ == '__main__':
    main()
