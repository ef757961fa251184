"""Data parallelism without wrapping the model: every rank draws the same global batch from the same
seeded generator and keeps its share; gradients are averaged across ranks after each backward pass.

Plain `torch.distributed` collectives rather than DistributedDataParallel, because the stages call
the model's submodules directly (encoders, heads) and DDP only synchronises what goes through its
`forward`. With one process (no process group) everything here is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.distributed as dist


def rank_and_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main() -> bool:
    return rank_and_world()[0] == 0


def shard(indices: torch.Tensor) -> torch.Tensor:
    """This rank's share of a global batch: contiguous, so a global batch split over W ranks holds
    exactly the rows one process would have drawn, each once."""
    rank, world = rank_and_world()
    if world == 1:
        return indices
    if indices.shape[0] % world:
        raise ValueError(f"a global batch of {indices.shape[0]} does not split over {world} workers")
    return indices.chunk(world)[rank]


def average_gradients(parameters: Iterable[torch.nn.Parameter]) -> None:
    """Mean of every gradient over the ranks, in one flat all-reduce."""
    _, world = rank_and_world()
    if world == 1:
        return
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def average_scalars(values: dict[str, float]) -> dict[str, float]:
    """Per-epoch loss means over the ranks, so the logged numbers describe the global batch."""
    _, world = rank_and_world()
    if world == 1 or not values:
        return values
    keys = sorted(values)
    stacked = torch.tensor([values[k] for k in keys], dtype=torch.float64)
    dist.all_reduce(stacked)
    return {k: float(v) / world for k, v in zip(keys, stacked, strict=True)}
