"""Multi-process training helpers: torchrun detection, process group, sharding, reductions.

Launch with ``torchrun --nproc_per_node=N -m mimo_lib.cli train ...``; torchrun sets
``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (plus ``MASTER_ADDR``/``MASTER_PORT``),
which :func:`process_group` reads. Processes talk over ``nccl`` on CUDA and ``gloo``
on CPU. ``training.batch_size`` is the GLOBAL batch: every step, each rank takes its
own contiguous slice of the same global batch (sizes differ by at most one).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.distributed._functional_collectives as funcol
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.parallel import DistributedDataParallel


@dataclass(frozen=True)
class Topology:
    """Where this process sits: its global rank, the number of processes, its rank on this machine."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 writes files and shows progress."""
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} is not an integer (set by torchrun)") from None


def topology_from_env() -> Topology:
    """The running process group's topology, else the one torchrun's variables describe, else one process."""
    local_rank = _env_int("LOCAL_RANK", 0)
    if dist.is_available() and dist.is_initialized():
        return Topology(dist.get_rank(), dist.get_world_size(), local_rank)
    topology = Topology(_env_int("RANK", 0), _env_int("WORLD_SIZE", 1), local_rank)
    if not 0 <= topology.rank < topology.world_size:
        raise ValueError(f"RANK={topology.rank} is outside WORLD_SIZE={topology.world_size}")
    return topology


def backend_for(device: torch.device) -> str:
    """``nccl`` for CUDA, ``gloo`` otherwise."""
    return "nccl" if device.type == "cuda" else "gloo"


def process_device(device: torch.device, topology: Topology) -> torch.device:
    """The CUDA device of this rank (``cuda:LOCAL_RANK``), made current; other devices unchanged."""
    if device.type != "cuda" or not topology.distributed:
        return device
    if topology.local_rank >= torch.cuda.device_count():
        raise ValueError(f"LOCAL_RANK={topology.local_rank} but only {torch.cuda.device_count()} CUDA device(s) here")
    torch.cuda.set_device(topology.local_rank)
    return torch.device("cuda", topology.local_rank)


@contextmanager
def process_group(device: torch.device) -> Iterator[Topology]:
    """Join the process group torchrun describes (when ``WORLD_SIZE > 1``) and leave it on exit.

    A group that is already initialised (e.g. by the caller) is used as is and left running.
    """
    topology = topology_from_env()
    started = False
    if topology.distributed and not dist.is_initialized():
        if not dist.is_available():
            raise RuntimeError("WORLD_SIZE > 1 but this torch build has no torch.distributed support")
        dist.init_process_group(backend_for(device), rank=topology.rank, world_size=topology.world_size)
        started = True
    try:
        yield topology
        barrier()  # rank 0 has finished writing before any rank moves on
    finally:
        if started:
            dist.destroy_process_group()


def barrier() -> None:
    """Wait for every rank (nothing to wait for in one process)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def global_batches(order: torch.Tensor, batch_size: int, topology: Topology) -> list[torch.Tensor]:
    """``order`` cut into global batches; a last batch too small to give every rank a window is left out."""
    batches = list(torch.split(order, batch_size))
    if batches and len(batches[-1]) < topology.world_size:
        batches.pop()
    return batches


def shard_bounds(count: int, topology: Topology) -> tuple[int, int]:
    """This rank's contiguous ``[start, stop)`` of ``count`` items (the first ``count % world_size`` ranks get one more)."""
    size, extra = divmod(count, topology.world_size)
    start = topology.rank * size + min(topology.rank, extra)
    return start, start + size + (topology.rank < extra)


def shard(batch: torch.Tensor, topology: Topology) -> torch.Tensor:
    """This rank's contiguous slice of a global batch (first dimension)."""
    start, stop = shard_bounds(len(batch), topology)
    return batch[start:stop]


def sum_across(values: torch.Tensor) -> torch.Tensor:
    """Element-wise sum over all ranks (a copy of ``values`` when not distributed)."""
    total = values.clone()
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(total)
    return total


def global_means(values: dict[str, float], count: int, device: torch.device) -> dict[str, float]:
    """Turn this rank's means over ``count`` windows into means over every rank's windows."""
    keys = list(values)
    local = torch.tensor([values[k] * count for k in keys] + [count], dtype=torch.float64, device=device)
    *sums, total = sum_across(local).tolist()
    return {k: v / total for k, v in zip(keys, sums)}


class AllReduceBatchNorm(_BatchNorm):
    """BatchNorm whose training statistics span every rank, on any device (CPU with gloo included).

    ``nn.SyncBatchNorm`` (torch 2.13) runs on GPUs only; this module all-reduces
    sums through the autograd-aware functional ``all_reduce``
    so gradients flow across ranks too. Outside training, or in one process, it is
    plain BatchNorm.
    """

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(input)
        self._check_input_dim(input)
        input = input.float()  # statistics in fp32, as autocast does for BatchNorm
        dims = [0, *range(2, input.dim())]
        shape = [1, -1] + [1] * (input.dim() - 2)
        local_count = input.new_tensor([input.numel() / input.shape[1]])
        sums = funcol.all_reduce(torch.cat([input.sum(dims), local_count]), "sum", dist.group.WORLD)
        count = sums[-1]
        mean = sums[:-1] / count
        centred = input - mean.view(shape)
        var = funcol.all_reduce(centred.pow(2).sum(dims), "sum", dist.group.WORLD) / count
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                factor = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                unbiased = var * count / (count - 1).clamp_min(1)
                self.running_mean.lerp_(mean.detach(), factor)
                self.running_var.lerp_(unbiased.detach(), factor)
        output = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            output = output * self.weight.view(shape) + self.bias.view(shape)
        return output


def sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """BatchNorm layers whose statistics span all ranks: ``nn.SyncBatchNorm`` on CUDA, else :class:`AllReduceBatchNorm`.

    Parameters and running statistics are shared with the replaced layers, so the
    state dict (and checkpoints) keep their keys.
    """
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    if isinstance(module, _BatchNorm) and not isinstance(module, (nn.SyncBatchNorm, AllReduceBatchNorm)):
        replacement = AllReduceBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                                         module.track_running_stats)
        if module.affine:
            replacement.weight, replacement.bias = module.weight, module.bias
        if module.track_running_stats:
            replacement.running_mean, replacement.running_var = module.running_mean, module.running_var
            replacement.num_batches_tracked = module.num_batches_tracked
        replacement.train(module.training)
        return replacement
    for name, child in module.named_children():
        module.add_module(name, sync_batchnorm(child, device))
    return module


def wrap(model: nn.Module, device: torch.device) -> DistributedDataParallel:
    """DistributedDataParallel around ``model`` with batch statistics synchronised across ranks.

    Buffers are not broadcast: synchronised BatchNorm keeps them equal on every rank.
    """
    model = sync_batchnorm(model, device)
    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids, forward_sync_buffers=False)
