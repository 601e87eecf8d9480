r"""Keep freed memory in the process for reuse, so that large tensors skip the page faults
of fresh mappings (glibc on Linux).

glibc's ``malloc`` serves each allocation above its mmap threshold (at most 32 MB on 64-bit
systems) with a fresh ``mmap`` and returns it with ``munmap`` on free. A training step on the
CPU allocates its large tensors (activations, gradients, dropout masks) anew at every step, so
each is faulted in page by page every time: on this project's machine about 320,000 minor page
faults per AGCRN train step at batch 64 and 360,000 per STGCN step
(``benchmarks/speed/malloc.py``). :func:`keep_freed_memory`
sets two of glibc's ``mallopt`` parameters (the ones the ``MALLOC_MMAP_MAX_`` and
``MALLOC_TRIM_THRESHOLD_`` environment variables set): no per-allocation mappings, and no
trimming of the heap, so freed tensors are reused in place. The cost: the process keeps the
memory of its peak until it exits. The ``pyg-ext`` commands and the OGB scripts call it at
start unless given ``--system-malloc``; a library import never does.
"""
import ctypes
import platform
from typing import Any

#: glibc's mallopt parameter numbers (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4

#: The help of the ``--system-malloc`` option of the commands that call it.
SYSTEM_MALLOC_HELP = ("keep glibc's default allocator; by default the program keeps freed "
                      "memory for reuse, so that large tensors skip the page faults of fresh "
                      "mappings (faster steps; the process keeps its peak memory)")

#: The largest trim threshold mallopt takes (an int): the heap is never trimmed below it.
NO_TRIM = 2**31 - 1


def keep_freed_memory() -> bool:
    r"""Tell glibc's ``malloc`` to serve every allocation from its heap (``M_MMAP_MAX = 0``)
    and to keep freed memory at the heap's top (``M_TRIM_THRESHOLD`` at its maximum), for
    the rest of the process (memory already mapped is unaffected). Returns :obj:`True` if
    both were set, :obj:`False` where the C library is not glibc (nothing is changed).
    """
    if platform.system() != 'Linux' or platform.libc_ver()[0] != 'glibc':
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # pragma: no cover - glibc always has mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, NO_TRIM) == 1


def apply_malloc_option(args: Any) -> bool:
    r""":func:`keep_freed_memory` for parsed arguments that have the ``--system-malloc``
    option and were not given it; arguments without the option (a command that trains
    nothing) leave the allocator alone. Returns whether it was set."""
    if getattr(args, 'system_malloc', True) is not False:
        return False
    return keep_freed_memory()
