r"""Train-step time and peak memory of our spatio-temporal models against the peers' versions
of the same models, side by side in one run, on the METR-LA shape.

    PYTHONPATH=. /work/bench-venv/bin/python benchmarks/speed/spatiotemporal.py
    ... spatiotemporal.py --quick                         # smoke run (about a minute)
    ... spatiotemporal.py --models dcrnn agcrn --batch-sizes 32
    ... spatiotemporal.py --device cuda                   # GPU, B = 64
    ... spatiotemporal.py --models stgcn --profile        # where our model's time goes
    ... spatiotemporal.py --device cuda --compile reduce-overhead   # ours compiled + CUDA graphs

Shape: N = 207 nodes of the real METR-LA graph (``adj_mx.pkl`` of the DCRNN authors: every
non-zero entry of the Gaussian-kernel adjacency, self-loops included, 1,722 directed weighted
edges; a random graph of that size when the file is absent), T = 12 input steps, F = 2
features, hidden 64, horizon 12, one output feature, B = 32 and 64 on CPU (64 on CUDA).
A train step is ``zero_grad``, forward, MAE loss, backward and one Adam step (lr 1e-3);
DCRNN (ours) decodes with the paper's decoder and scheduled sampling (targets fed).

The peers (never dependencies of pyg_ext; see ``benchmarks/speed/README.md``), built with the
same sizes as ours where their API allows (each row prints its configuration):
PyTorch Geometric Temporal (PGT) ``BatchedDCRNN`` (1 layer, K = 3, encoder only + linear
readout), ``GConvGRU`` (diagonal batching: the batch folded into one block-diagonal graph of
B N nodes, Python loop over T), ``STConv`` x 2 (+ linear readout), ``AGCRN`` (2 layers, loop
over T); tsl ``DCRNNModel`` (2 layers, encoder + MLP readout), ``GraphWaveNetModel`` and
``AGCRNModel``. Readouts added to PGT layers are one ``nn.Linear`` (negligible cost).

Timing: wall clock (``time.perf_counter``, with ``torch.cuda.synchronize()`` on CUDA), the
median of ``--reps`` train steps after ``--warmup`` steps. The CPU is shared with other jobs
on a busy machine, so expect noise of 10-30 % between runs; ratios from one run are fairer
than figures from different runs.

``--compile MODE`` wraps our models (not the peers) in ``torch.compile(model, mode=MODE)``;
on CUDA ``reduce-overhead`` also replays the compiled forward and backward as CUDA graphs,
which is what a model this small needs there (it is bound by kernel launches). Three more
warm-up steps are run first (compilation, graph capture) and the peak memory is that of the
first step after them. FlopCounterMode does not see inside compiled kernels, so a compiled
row's GF/s is left out.

Peak memory: each (model, B) runs in a fresh subprocess, so no cached allocation or earlier
peak of another configuration counts. The child builds its inputs, graph, model and
optimiser; then on CPU it resets the kernel's peak resident-set counter (writes ``5`` to
``/proc/self/clear_refs``, Linux >= 4.0) and reads ``VmRSS`` as its baseline; it runs ONE
train step (the first: Adam's state, gradients and any cache a model builds on first use
included) and reads ``VmHWM``, the peak resident set since the reset. Peak = VmHWM -
baseline: every page touched at the highest point, allocator slack included. Without
``clear_refs`` it falls back to ``ru_maxrss`` - baseline (it can only overstate). On CUDA:
``max_memory_allocated`` after ``reset_peak_memory_stats``, minus the memory allocated
before the step.

FLOP/s: ``torch.utils.flop_counter.FlopCounterMode`` counts one train step (after timing);
achieved = counted FLOPs / median step time, printed beside the machine's dense fp32 matmul
FLOP/s (median of a 2048^3 matmul on CPU, 8192^3 on CUDA). FlopCounterMode has formulas for
dense ops (mm, bmm, addmm, conv, attention); its mm/addmm formulas are replaced here so that a
sparse (CSR/COO) operand counts 2 nnz F, not the dense 2 N^2 F. Message passing by gather/
scatter (PyG ``propagate`` on an edge index, ``torch_scatter``) and elementwise ops count
zero, so the achieved figure is a lower bound, most of all for the peers whose graph work is
scatter-based message passing.
"""
import argparse
import importlib.metadata
import json
import os
import resource
import sys
import time
from pathlib import Path

import torch
from _common import (
    cpu_name,
    device_name,
    matmul_flops,
    median_ms,
    peak_memory,
    run_child,
    sync,
)
from torch import nn

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run from a source tree
GRAPH = Path('/work/shared/data/traffic/metr_la_pems_bay_graph/adj_mx.pkl')
N_NODES, T_IN, F_IN, F_OUT, HIDDEN, HORIZON = 207, 12, 2, 1, 64, 12
PEER_PACKAGES = ('torch_geometric', 'torch_scatter', 'torch_sparse',
                 'torch_geometric_temporal', 'torch_spatiotemporal')


# ----------------------------------------------------------------------------- the graph
def metr_la_graph():
    """(edge_index [2, E], edge_weight [E], description) of METR-LA, or a random stand-in."""
    if GRAPH.exists():
        import pickle
        with open(GRAPH, 'rb') as f:
            adj = torch.as_tensor(pickle.load(f, encoding='latin1')[2])  # [N, N]
        src, dst = adj.nonzero(as_tuple=True)
        return torch.stack([src, dst]), adj[src, dst].float(), f'METR-LA ({GRAPH.name})'
    gen = torch.Generator().manual_seed(0)
    E = 1722
    edge_index = torch.randint(0, N_NODES, (2, E), generator=gen)  # [2, E]
    return edge_index, torch.rand(E, generator=gen), 'random (adj_mx.pkl not found)'


# ----------------------------------------------------------------------------- peer wrappers
class LastStateReadout(nn.Module):
    """A peer's recurrent encoder + one linear map from the last state to all steps."""
    def __init__(self, encoder, hidden):
        super().__init__()
        self.encoder = encoder
        self.out = nn.Linear(hidden, HORIZON * F_OUT)

    def readout(self, h_last):  # h_last [B, N, H]
        B, N = h_last.shape[:2]
        out = self.out(h_last).view(B, N, HORIZON, F_OUT)  # [B, N, horizon, F_out]
        return out.transpose(1, 2)  # [B, horizon, N, F_out]


class PGTBatchedDCRNN(LastStateReadout):
    def forward(self, x, ei, ew):
        return self.readout(self.encoder(x, ei, ew)[:, -1])  # [B, T, N, H] -> last


class PGTDiagonalGConvGRU(LastStateReadout):
    """PGT's cell on the block-diagonal graph of the batch (``ei``/``ew`` already folded)."""
    def forward(self, x, ei, ew):
        B, T, N, Fi = x.shape
        h = None
        for t in range(T):
            h = self.encoder(x[:, t].reshape(B * N, Fi), ei, ew, h)  # [B N, H]
        return self.readout(h.view(B, N, -1))  # [B, N, H]


class PGTAGCRN(LastStateReadout):
    def __init__(self, cells, hidden, emb_dim):
        super().__init__(nn.ModuleList(cells), hidden)
        self.node_emb = nn.Parameter(torch.randn(N_NODES, emb_dim))

    def forward(self, x, ei, ew):
        for cell in self.encoder:
            h, states = None, []
            for t in range(x.size(1)):
                h = cell(x[:, t], self.node_emb, h)  # [B, N, H]
                states.append(h)
            x = torch.stack(states, dim=1)  # [B, T, N, H]
        return self.readout(x[:, -1])


class PGTSTConvStack(nn.Module):
    def __init__(self, blocks, hidden, steps_left):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.Linear(steps_left * hidden, HORIZON * F_OUT)

    def forward(self, x, ei, ew):
        for block in self.blocks:
            x = block(x, ei, ew)  # [B, T', N, H]
        B, Tl, N, H = x.shape
        z = x.permute(0, 2, 1, 3).reshape(B, N, Tl * H)  # [B, N, T' H]
        return self.out(z).view(B, N, HORIZON, F_OUT).transpose(1, 2)  # [B, horizon, N, F]


# ----------------------------------------------------------------------------- registry
# Each builder returns (model, call(model, x, y, step, ei, ew) -> prediction, description).
def ours_dcrnn():
    from pyg_ext.nn.models.dcrnn import DCRNN
    m = DCRNN(F_IN, F_OUT, HIDDEN, HORIZON, num_nodes=N_NODES, K=2, num_layers=2)
    return m, lambda m, x, y, s, ei, ew: m(x, ei, ew, targets=y, batches_seen=s), repr(m)


def ours_gconv_gru():
    from pyg_ext.nn.models.gconv_gru import GConvGRU
    m = GConvGRU(F_IN, F_OUT, HIDDEN, HORIZON, num_nodes=N_NODES, K=2)
    return m, lambda m, x, y, s, ei, ew: m(x, ei, ew), repr(m)


def ours_stgcn():
    from pyg_ext.nn.models.stgcn import STGCN
    m = STGCN(F_IN, F_OUT, HIDDEN, HORIZON, num_nodes=N_NODES, input_steps=T_IN,
              spatial_channels=HIDDEN, num_blocks=2, kernel_size=3, K=3)
    return m, lambda m, x, y, s, ei, ew: m(x, ei, ew), repr(m) + ' spatial_channels=64'


def ours_graph_wavenet():
    from pyg_ext.nn.models.graph_wave_net import GraphWaveNet
    m = GraphWaveNet(F_IN, F_OUT, GWN_HIDDEN, HORIZON, num_nodes=N_NODES)
    return m, lambda m, x, y, s, ei, ew: m(x, ei, ew), repr(m)


def ours_agcrn():
    from pyg_ext.nn.models.agcrn import AGCRN
    m = AGCRN(F_IN, F_OUT, HIDDEN, HORIZON, num_nodes=N_NODES, K=2, embedding_dim=10,
              num_layers=2)
    return m, lambda m, x, y, s, ei, ew: m(x), repr(m)


def pgt_batched_dcrnn():
    from torch_geometric_temporal.nn.recurrent.dcrnn import BatchedDCRNN
    m = PGTBatchedDCRNN(BatchedDCRNN(F_IN, HIDDEN, K=3), HIDDEN)
    return m, lambda m, x, y, s, ei, ew: m(x, ei, ew), 'BatchedDCRNN(2, 64, K=3) + Linear'


def pgt_gconv_gru():
    from torch_geometric_temporal.nn.recurrent import GConvGRU
    m = PGTDiagonalGConvGRU(GConvGRU(F_IN, HIDDEN, K=2), HIDDEN)
    return m, lambda m, x, y, s, ei, ew: m(x, ei, ew), 'GConvGRU(2, 64, K=2), block-diag batch'


def pgt_stconv():
    from torch_geometric_temporal.nn.attention import STConv
    blocks = [STConv(N_NODES, c, HIDDEN, HIDDEN, kernel_size=3, K=3) for c in (F_IN, HIDDEN)]
    m = PGTSTConvStack(blocks, HIDDEN, T_IN - 2 * 2 * (3 - 1))
    return m, lambda m, x, y, s, ei, ew: m(x, ei, ew), 'STConv(207, *, 64, 64, 3, K=3) x 2'


def pgt_agcrn():
    from torch_geometric_temporal.nn.recurrent import AGCRN
    cells = [AGCRN(N_NODES, c, HIDDEN, K=2, embedding_dimensions=10) for c in (F_IN, HIDDEN)]
    return (PGTAGCRN(cells, HIDDEN, 10), lambda m, x, y, s, ei, ew: m(x, ei, ew),
            'AGCRN(207, *, 64, K=2, emb 10) x 2 layers')


def tsl_dcrnn():
    from tsl.nn.models import DCRNNModel
    m = DCRNNModel(F_IN, F_OUT, HORIZON, hidden_size=HIDDEN, kernel_size=2, n_layers=2)
    return m, lambda m, x, y, s, ei, ew: m(x, ei, ew), 'DCRNNModel(hidden 64, K=2, 2 layers)'


def tsl_graph_wavenet():
    from tsl.nn.models import GraphWaveNetModel
    m = GraphWaveNetModel(F_IN, F_OUT, HORIZON, hidden_size=GWN_HIDDEN, n_nodes=N_NODES)
    return (m, lambda m, x, y, s, ei, ew: m(x, ei, ew),
            f'GraphWaveNetModel(hidden {GWN_HIDDEN}, ff 256, 8 layers, learned adj)')


def tsl_agcrn():
    from tsl.nn.models import AGCRNModel
    m = AGCRNModel(F_IN, F_OUT, HORIZON, n_nodes=N_NODES, hidden_size=HIDDEN, emb_size=10,
                   n_layers=2)
    return m, lambda m, x, y, s, ei, ew: m(x), 'AGCRNModel(hidden 64, emb 10, 2 layers)'


GWN_HIDDEN = 32  # residual/dilation channels of the Graph WaveNet paper (tsl's default)
BUILDERS = {name: fn for name, fn in globals().items() if name.split('_')[0] in
            ('ours', 'pgt', 'tsl')}
# model -> (ours, {peer label: builder}, target peer label or 'fastest', speed-up factor)
MODELS = {
    'dcrnn': ('ours_dcrnn', {'tsl DCRNNModel': 'tsl_dcrnn',
                             'PGT BatchedDCRNN': 'pgt_batched_dcrnn'}, 'tsl DCRNNModel', 4),
    'gconv_gru': ('ours_gconv_gru', {'PGT GConvGRU': 'pgt_gconv_gru'}, 'fastest', 2),
    'stgcn': ('ours_stgcn', {'PGT STConv x 2': 'pgt_stconv'}, 'PGT STConv x 2', 5),
    'graph_wavenet': ('ours_graph_wavenet', {'tsl GraphWaveNetModel': 'tsl_graph_wavenet'},
                      'fastest', 2),
    'agcrn': ('ours_agcrn', {'tsl AGCRNModel': 'tsl_agcrn', 'PGT AGCRN': 'pgt_agcrn'},
              'fastest', 2),
}


# ----------------------------------------------------------------------------- measuring
def mm_flops(a, b, *args, out_val=None, **kwargs):
    """2 x multiply-adds of ``a @ b``; a sparse operand counts its non-zeros, not N^2."""
    if a.layout != torch.strided:
        return 2 * a._nnz() * b.shape[-1]
    if b.layout != torch.strided:
        return 2 * b._nnz() * a.shape[0]
    return 2 * a.shape[0] * a.shape[1] * b.shape[1]


def addmm_flops(bias, a, b, *args, out_val=None, **kwargs):
    return mm_flops(a, b)


def sparse_mm_reduce_flops(a, b, *args, out_val=None, **kwargs):
    return mm_flops(a, b)  # torch.sparse.mm(csr, x, 'sum') on CPU


# FlopCounterMode passes the tensors
mm_flops._get_raw = addmm_flops._get_raw = sparse_mm_reduce_flops._get_raw = True


def child(config):
    """One (builder, B) in a fresh process: peak memory of the first step, time, FLOPs."""
    if config.get('malloc') == 'keep':
        from pyg_ext.malloc import keep_freed_memory
        keep_freed_memory()
    torch.set_num_threads(config['threads'])
    torch.manual_seed(0)
    device, B = torch.device(config['device']), config['B']
    edge_index, edge_weight, _ = metr_la_graph()
    ei, ew = edge_index.to(device), edge_weight.to(device)
    if config['builder'] == 'pgt_gconv_gru':  # diagonal batching: the data loader's work
        offsets = torch.arange(B, device=device).repeat_interleave(ei.size(1)) * N_NODES
        ei, ew = ei.repeat(1, B) + offsets, ew.repeat(B)  # [2, B E], [B E]
    x = torch.randn(B, T_IN, N_NODES, F_IN, device=device)
    y = torch.randn(B, HORIZON, N_NODES, F_OUT, device=device)
    model, call, desc = BUILDERS[config['builder']]()
    model = model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    if config.get('compile'):
        model = torch.compile(model, mode=config['compile'])
        desc += f" [torch.compile mode={config['compile']}]"
    step_count = [0]

    def step():
        opt.zero_grad(set_to_none=True)
        loss = (call(model, x, y, step_count[0], ei, ew) - y).abs().mean()
        loss.backward()
        opt.step()
        step_count[0] += 1

    if config.get('compile'):
        for _ in range(3):  # compilation (and, on CUDA with reduce-overhead, graph capture)
            step()
    peak = peak_memory(step, device)  # the first (timed-to-be) step (see _common.py)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    ms = median_ms(step, device, config['warmup'], config['reps'])
    faults = ((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults)
              / (config['warmup'] + config['reps']))  # minor page faults per step
    from torch.utils.flop_counter import FlopCounterMode
    aten = torch.ops.aten
    counter = FlopCounterMode(display=False, custom_mapping={
        aten.mm: mm_flops, aten.addmm: addmm_flops, aten.addmm_: addmm_flops,
        aten._sparse_mm_reduce_impl: sparse_mm_reduce_flops})
    with counter:
        step()
    if config.get('profile'):
        from torch.profiler import ProfilerActivity, profile
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA]
                                               if device.type == 'cuda' else [])
        with profile(activities=activities) as prof:
            step()
            sync(device)
        key = 'self_cuda_time_total' if device.type == 'cuda' else 'self_cpu_time_total'
        print(prof.key_averages().table(sort_by=key, row_limit=config['profile']))
    flops = None if config.get('compile') else counter.get_total_flops()
    print(json.dumps({'ms': ms, 'mb': peak / 2**20, 'flops': flops, 'desc': desc,
                      'faults': faults, 'params': sum(p.numel() for p in model.parameters())}))


def machine(device, threads):
    text = (f'CPU: {cpu_name()}; cores: {os.cpu_count()}; torch threads: {threads}; '
            f'torch {torch.__version__}; device: {device_name(device)}')
    versions = []
    for pkg in PEER_PACKAGES:
        try:
            versions.append(f'{pkg} {importlib.metadata.version(pkg)}')
        except importlib.metadata.PackageNotFoundError:
            versions.append(f'{pkg} (not installed)')
    return text + '\npeers: ' + ', '.join(versions)


def target_row(name, B, results):
    """Rows (model, B, peer, ours, peer result, is_target) for one model and batch size."""
    ours_key, peers, target, factor = MODELS[name]
    ok = {label: results[b, B] for label, b in peers.items() if 'error' not in results[b, B]}
    if target == 'fastest':  # with no peer figure, the first peer carries the verdict
        target = min(ok, key=lambda label: ok[label]['ms']) if ok else next(iter(peers))
    return [(label, results[b, B], label == target, factor) for label, b in peers.items()]


def gflop(result) -> str:
    """The counted GFLOP of one train step ('-' for a compiled model, whose kernels
    FlopCounterMode cannot see)."""
    return '-' if result['flops'] is None else f"{result['flops'] / 1e9:.1f}"


def print_table(args, results, peak_flops):
    cols = ('model', 'B', 'peer', 'ours ms', 'peer ms', 'speed-up', 'ours MB', 'peer MB',
            'ours GF/s', 'peer GF/s', 'target met?')
    print('| ' + ' | '.join(cols) + ' |')
    print('|' + '|'.join('-' * (len(c) + 2) for c in cols) + '|')
    fmt = lambda r, k, f: format(r[k], f) if 'error' not in r else '-'  # noqa: E731
    gfs = lambda r: (f"{r['flops'] / r['ms'] * 1e-6:.1f}"  # noqa: E731
                     if 'error' not in r and r['flops'] is not None else '-')
    for name in args.models:
        for B in args.batch_sizes:
            ours = results[MODELS[name][0], B]
            for label, peer, is_target, factor in target_row(name, B, results):
                both = 'error' not in ours and 'error' not in peer
                ratio = peer['ms'] / ours['ms'] if both else None
                if not is_target:
                    met = '(not the target peer)'
                elif not both:
                    met = 'no figure: ' + (ours.get('error') or peer.get('error'))
                else:
                    fast, lean = ratio >= factor, ours['mb'] <= peer['mb']
                    met = (f"{'yes' if fast else 'NO'} (>= {factor}x), memory "
                           f"{'yes' if lean else 'NO'}")
                print(f"| {name} | {B} | {label} | {fmt(ours, 'ms', '.0f')} | "
                      f"{fmt(peer, 'ms', '.0f')} | {f'{ratio:.2f}x' if ratio else '-'} | "
                      f"{fmt(ours, 'mb', '.0f')} | {fmt(peer, 'mb', '.0f')} | {gfs(ours)} | "
                      f"{gfs(peer)} | {met} |")
    print(f'\nMachine dense fp32 matmul: {peak_flops * 1e-9:.1f} GFLOP/s. GF/s above = '
          f'FLOPs counted by FlopCounterMode (dense ops only) / median step time.')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='a smoke run: B=4, 1 step (about a minute unloaded)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--models', nargs='+', default=list(MODELS), choices=list(MODELS))
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=None)
    parser.add_argument('--reps', type=int, default=None)
    parser.add_argument('--warmup', type=int, default=None)
    parser.add_argument('--skip-peers', action='store_true', help='time ours only')
    parser.add_argument('--profile', nargs='?', type=int, const=20, default=0,
                        help='print the torch.profiler table (top N ops) of our models')
    parser.add_argument('--compile', choices=('default', 'reduce-overhead', 'max-autotune'),
                        help='torch.compile our models with this mode (reduce-overhead on '
                        'CUDA also uses CUDA graphs); the peers stay eager')
    parser.add_argument('--malloc', choices=('system', 'keep'), default='system',
                        help="glibc's default allocator, or freed memory kept for reuse "
                        "(pyg_ext.malloc.keep_freed_memory, what the pyg-ext commands do), "
                        "in every configuration alike (default: system; malloc.py compares "
                        "the two)")
    parser.add_argument('--timeout', type=int, default=900, help='seconds per configuration')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(json.loads(args.child))
    device = torch.device(args.device)
    args.batch_sizes = args.batch_sizes or ([4] if args.quick else
                                            [64] if device.type == 'cuda' else [32, 64])
    args.reps = args.reps or (1 if args.quick else 5)
    args.warmup = args.warmup if args.warmup is not None else (0 if args.quick else 1)
    print('command: ' + ' '.join([Path(sys.executable).name] + sys.argv))
    print('machine: ' + machine(device, args.threads))
    print(f'graph: {metr_la_graph()[2]}, N={N_NODES}, E={metr_la_graph()[0].size(1)}; '
          f'T={T_IN}, F={F_IN}, hidden={HIDDEN}, horizon={HORIZON}, B={args.batch_sizes}; '
          f'median of {args.reps} steps after {args.warmup} warm-up (+1 measured for memory); '
          f'allocator: {args.malloc}')
    peak_flops, n = matmul_flops(device, args.threads)
    print(f'dense fp32 matmul {n}^3: {peak_flops * 1e-9:.1f} GFLOP/s\n')
    start, results = time.perf_counter(), {}
    for name in args.models:
        ours, peers, _, _ = MODELS[name]
        for B in args.batch_sizes:
            for builder in [ours] + ([] if args.skip_peers else list(peers.values())):
                config = dict(builder=builder, B=B, device=str(device), threads=args.threads,
                              warmup=args.warmup, reps=args.reps, malloc=args.malloc,
                              profile=args.profile if builder == ours else 0,
                              compile=args.compile if builder == ours else None)
                results[builder, B] = r = run_child(__file__, [json.dumps(config)],
                                                    args.timeout, width=90)
                print(f'  {builder} B={B}: ' + (r['error'] if 'error' in r else
                      f"{r['ms']:.0f} ms, {r['mb']:.0f} MB, {gflop(r)} GFLOP, "
                      f"{r['params']} params; {r['desc']}"), file=sys.stderr, flush=True)
    if args.skip_peers:
        for name in args.models:
            for label, b in MODELS[name][1].items():
                for B in args.batch_sizes:
                    results[b, B] = {'error': 'peers skipped'}
    print_table(args, results, peak_flops)
    print(f'\n(total {time.perf_counter() - start:.0f} s)')


if __name__ == '__main__':
    main()
