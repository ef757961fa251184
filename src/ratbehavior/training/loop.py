"""One optimisation loop for every stage: seeded epochs of fixed length, gradient clipping, a
checkpoint after each epoch, resumption from the last one, and per-epoch loss means."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from ratbehavior.model.network import RatBehaviourNet
from ratbehavior.training.checkpoint import Checkpoints, seed_everything
from ratbehavior.training.config import StageConfig
from ratbehavior.training.distributed import average_gradients, average_scalars, is_main

Losses = dict[str, torch.Tensor]
# Called at the start of each epoch with its generator; returns the step, which returns the losses
# with the total under "loss". Per-epoch work (prototypes, pseudo-labels) happens in the outer call.
EpochPlan = Callable[[int, torch.Generator], Callable[[], Losses]]
# (stage, epoch, mean losses): tracking hooks in here, and tests stop a training here.
EpochHook = Callable[[str, int, dict[str, float]], None]


@dataclass
class TrainContext:
    seed: int
    checkpoints: Checkpoints = field(default_factory=lambda: Checkpoints(None))
    max_grad_norm: float = 1.0
    progress: bool = False
    on_epoch_end: list[EpochHook] = field(default_factory=list)
    # Names this training's stages in checkpoints, progress and hooks (an ensemble's later members);
    # seeding keeps the bare stage name, so a member trains as a training under its own seed would.
    prefix: str = ""


def run_stage(
    ctx: TrainContext, name: str, model: RatBehaviourNet, cfg: StageConfig, plan: EpochPlan
) -> list[dict[str, float]]:
    """Train the parameters that currently require grad for `cfg.epochs` epochs (the caller sets the
    freezing). A stage whose checkpoint holds all its epochs is not run again: its weights are loaded."""
    stage = ctx.prefix + name
    optimizer = torch.optim.AdamW(model.parameter_groups(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    history: list[dict[str, float]] = []
    start = 0
    saved = ctx.checkpoints.load(stage)
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        start, history = saved["epoch"], saved["history"]
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for epoch in range(start, cfg.epochs):
        generator = seed_everything(ctx.seed, name, epoch)
        model.train()
        step = plan(epoch, generator)
        sums: dict[str, float] = {}
        bar = tqdm(
            range(cfg.steps_per_epoch),
            desc=f"{stage} {epoch + 1}/{cfg.epochs}",
            disable=not (ctx.progress and is_main()),
        )
        for _ in bar:
            losses = step()
            optimizer.zero_grad(set_to_none=True)
            losses["loss"].backward()
            average_gradients(params)
            torch.nn.utils.clip_grad_norm_(params, ctx.max_grad_norm)
            optimizer.step()
            for key, value in losses.items():
                sums[key] = sums.get(key, 0.0) + float(value.detach())
            bar.set_postfix(loss=f"{float(losses['loss'].detach()):.3f}")
        means = average_scalars({key: value / cfg.steps_per_epoch for key, value in sums.items()})
        history.append(means)
        ctx.checkpoints.save(
            stage,
            {"epoch": epoch + 1, "model": model.state_dict(), "optimizer": optimizer.state_dict(), "history": history},
        )
        for hook in ctx.on_epoch_end:
            hook(stage, epoch, means)
    return history
