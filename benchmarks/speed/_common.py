r"""Measuring helpers shared by the speed benchmarks in this folder.

The scripts import it as ``from _common import ...``: Python puts a script's own folder on
``sys.path``, both for ``python benchmarks/speed/X.py`` and for the ``--child`` subprocesses
that :func:`run_child` starts.

- :func:`machine`, :func:`cpu_name`, :func:`device_name`: the machine, for each script's
  ``machine:`` line.
- :func:`sync`, :func:`median_ms`: wall-clock timing (CUDA synchronised).
- :func:`proc_status`, :func:`reset_peak_rss`, :func:`rss_peak`, :func:`peak_memory`: peak
  memory of one call. On CPU: write ``5`` to ``/proc/self/clear_refs`` (Linux >= 4.0) to
  reset the kernel's peak resident-set counter, read ``VmRSS`` as the baseline, run the call
  and read ``VmHWM``, the peak resident set since the reset; without ``clear_refs``,
  ``ru_maxrss`` minus the baseline (it also counts earlier peaks, so it can only
  overstate). On CUDA: ``max_memory_allocated`` after ``reset_peak_memory_stats``, minus
  what was allocated before the call.
- :func:`run_child`: one configuration in a fresh ``python <script> --child ...`` process.
- :func:`matmul_flops`: the machine's dense fp32 matmul FLOP/s.
"""
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import torch


def cpu_name() -> str:
    r"""The CPU's model name from ``/proc/cpuinfo``, else what :mod:`platform` knows."""
    try:
        with open('/proc/cpuinfo') as f:
            return next(line.split(':', 1)[1].strip() for line in f if 'model name' in line)
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    r"""``'cpu'``, or ``'cuda:0 (NVIDIA H100 ...)'``."""
    if device.type == 'cuda':
        return f'{device} ({torch.cuda.get_device_name(device)})'
    return str(device)


def machine(device: torch.device) -> str:
    r"""The ``machine:`` line of ``blocks.py`` and ``conv.py``."""
    return (f'CPU: {cpu_name()}; cores: {os.cpu_count()}; torch {torch.__version__}; '
            f'threads: {torch.get_num_threads()}; device: {device_name(device)}')


def sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize()


def median_ms(fn: Callable[[], Any], device: torch.device, warmup: int, reps: int) -> float:
    r"""The median wall-clock time of ``fn()`` in milliseconds, over :obj:`reps` calls
    after :obj:`warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def proc_status(key: str) -> int:
    r"""A ``/proc/self/status`` entry in bytes, e.g. ``'VmRSS'`` or ``'VmHWM'``."""
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))


def reset_peak_rss() -> bool:
    r"""Resets this process's peak resident set (``VmHWM``); :obj:`False` where
    ``/proc/self/clear_refs`` is not supported."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
    except OSError:
        return False
    return True


def rss_peak(fn: Callable[[], Any]) -> Optional[int]:
    r"""``VmHWM - VmRSS`` of one call of ``fn`` in bytes, after resetting the peak counter;
    :obj:`None` (and ``fn`` not called) where the counter cannot be reset."""
    if not reset_peak_rss():
        return None
    base = proc_status('VmRSS')
    fn()
    return proc_status('VmHWM') - base


def peak_memory(fn: Callable[[], Any], device: torch.device) -> int:
    r"""Peak memory in bytes of one call of ``fn`` (see the module's docstring)."""
    sync(device)
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        sync(device)
        return torch.cuda.max_memory_allocated() - base
    peak = rss_peak(fn)
    if peak is not None:
        return peak
    base = proc_status('VmRSS')
    fn()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base


def run_child(script: str, args: Sequence[str], timeout: Optional[float] = None,
              width: int = 60) -> Dict[str, Any]:
    r"""Runs ``python script --child *args`` in a fresh process and returns the JSON object
    of its last stdout line; earlier stdout lines (e.g. a profiler table) are printed. A
    failure gives ``{'error': <the last stderr line, at most width characters>}``."""
    try:
        out = subprocess.run([sys.executable, script, '--child', *args],
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {'error': f'timed out after {timeout} s'}
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines() or ['?']
        return {'error': lines[-1][:width]}
    lines = out.stdout.strip().splitlines()
    if len(lines) > 1:
        print('\n'.join(lines[:-1]))
    return json.loads(lines[-1])


def matmul_flops(device: torch.device, threads: int) -> Tuple[float, int]:
    r"""``(FLOP/s, n)``: the median speed of a dense fp32 ``n x n`` matmul (n = 2048 on
    CPU, 8192 on CUDA; 5 timed calls after one warm-up), with :obj:`threads` threads."""
    torch.set_num_threads(threads)
    n = 8192 if device.type == 'cuda' else 2048
    a, b = (torch.randn(n, n, device=device) for _ in range(2))
    times = []
    for i in range(6):
        sync(device)
        start = time.perf_counter()
        a @ b
        sync(device)
        if i:
            times.append(time.perf_counter() - start)
    return 2 * n ** 3 / statistics.median(times), n
