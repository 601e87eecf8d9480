r"""Running ``pyg-ext forecast`` under ``torchrun``: process group, device and reductions.

``torchrun --nproc_per_node=P ...`` sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; when
``WORLD_SIZE > 1`` the process group is started with NCCL on GPUs and Gloo on CPUs. Every
helper here is a no-op in a single process.
"""
import gc
import os
from typing import NamedTuple

import torch
import torch.distributed as dist
from torch import Tensor


class Context(NamedTuple):
    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _pick_device(device: str, local_rank: int) -> torch.device:
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
    r"""Start the process group when launched by ``torchrun`` with several processes, and
    pick this process's device (``'auto'``: ``cuda:LOCAL_RANK`` if a GPU exists, else CPU)."""
    world_size = int(os.environ.get('WORLD_SIZE', '1'))
    rank = int(os.environ.get('RANK', '0'))
    local_rank = int(os.environ.get('LOCAL_RANK', '0'))
    dev = _pick_device(device, local_rank)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group('nccl' if dev.type == 'cuda' else 'gloo')
    return Context(rank, world_size, dev)


def teardown() -> None:
    r"""Destroy the process group, if one was started. A process that exits with a live Gloo
    group, or with a DDP model that still holds it, can abort (SIGABRT) while the
    interpreter shuts down; the caller lets its models go first, and what reference cycles
    still hold is collected here."""
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def all_reduce_sum_(tensor: Tensor) -> Tensor:
    r"""Sum :obj:`tensor` over all processes, in place; returns it."""
    if active():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def barrier() -> None:
    if active():
        dist.barrier()
