r"""Running under ``torchrun``: the process group, each process's device, reductions, and a
clean exit. Shared by ``pyg-ext forecast`` and the OGB scripts.

``torchrun --nproc_per_node=P ...`` sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; when
``WORLD_SIZE > 1`` :func:`setup` starts the process group, with NCCL on GPUs and Gloo on
CPUs, unless the caller has started one already. :func:`teardown` ends only a group that
:func:`setup` started, so a program that runs these commands inside its own distributed job
keeps its group. Every helper is a no-op in a single process.
"""
import gc
import os
from typing import NamedTuple, Tuple

import torch
import torch.distributed as dist
from torch import Tensor


class Context(NamedTuple):
    r"""This process's place in the job: ``rank`` of ``world_size`` processes, its
    ``device``, and whether :func:`setup` started the process group (``owns_group``)."""
    rank: int
    world_size: int
    device: torch.device
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def pick_device(device: str, local_rank: int = 0) -> torch.device:
    r"""``'auto'`` means ``cuda`` if a GPU is visible, else ``cpu``; a ``cuda`` device
    without an index becomes ``cuda:LOCAL_RANK`` (modulo the GPUs there are)."""
    if device == 'auto':
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    device = torch.device(device)
    if device.type == 'cuda':
        if not torch.cuda.is_available():
            raise ValueError("--device cuda was asked for but no GPU is visible; use --device "
                             "cpu (or auto)")
        if device.index is None:
            device = torch.device('cuda', local_rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
    return device


def setup(device: str = 'auto') -> Context:
    r"""Start the process group when launched by ``torchrun`` with several processes (and
    none is running yet), and pick this process's device with :func:`pick_device`."""
    world_size = int(os.environ.get('WORLD_SIZE', '1'))
    rank = int(os.environ.get('RANK', '0'))
    local_rank = int(os.environ.get('LOCAL_RANK', '0'))
    dev = pick_device(device, local_rank)
    owns_group = world_size > 1 and not dist.is_initialized()
    if owns_group:
        dist.init_process_group('nccl' if dev.type == 'cuda' else 'gloo')
    return Context(rank, world_size, dev, owns_group)


def teardown(ctx: Context) -> None:
    r"""Destroy the process group if :func:`setup` started it. A process that exits with a
    live Gloo group, or with a DDP model that still holds it, can abort (SIGABRT) while the
    interpreter shuts down: callers let their models go first (train in a function that has
    returned), meet at :func:`barrier`, and what reference cycles still hold is collected
    here before the group ends."""
    if ctx.owns_group and dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()


def active() -> bool:
    r"""Whether a process group with more than one process is running."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank_and_world_size() -> Tuple[int, int]:
    r"""``(rank, world_size)`` in the running process group; ``(0, 1)`` without one."""
    if active():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    r"""Whether this process is rank 0 (or not distributed at all); once the group is gone
    (after :func:`teardown`), ``torchrun``'s ``RANK`` tells."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return int(os.environ.get('RANK', '0')) == 0


def all_reduce_sum_(tensor: Tensor) -> Tensor:
    r"""Sum :obj:`tensor` over all processes, in place; returns it."""
    if active():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def barrier() -> None:
    r"""Wait for every process (no rank leaves while another still talks to it)."""
    if active():
        dist.barrier()
