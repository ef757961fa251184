"""The network over a whole session: overlapping windows, outputs averaged per frame; an ensemble's
members each in turn, their logits averaged."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ratbehavior.data.dataset import SessionData
from ratbehavior.model.ensemble import Model, networks
from ratbehavior.model.network import RatBehaviourNet
from ratbehavior.training.windows import window_starts


@dataclass(frozen=True)
class FrameOutputs:
    embedding: np.ndarray  # (T, E)
    projection: np.ndarray  # (T, P), unit norm
    logits: np.ndarray  # (T, C)
    valid: np.ndarray  # (T,) bool: pose or IMU present


def _windows(values: np.ndarray, index: np.ndarray, inside: np.ndarray, fill: float | bool) -> torch.Tensor:
    """values[index] as (W, L, ...), with `fill` where a window runs past the session's end."""
    taken = values[index]
    taken[~inside] = fill
    return torch.from_numpy(taken)


@torch.inference_mode()
def run_session(
    model: Model, session: SessionData, slot: int, window: int, stride: int, batch_size: int
) -> FrameOutputs:
    """Every frame's outputs (`_run_network`). An ensemble's logits are its members' mean; its
    embedding and projection are theirs side by side, the projection normalised again."""
    outputs = [_run_network(net, session, slot, window, stride, batch_size) for net in networks(model)]
    if len(outputs) == 1:
        return outputs[0]
    projection = F.normalize(torch.from_numpy(np.concatenate([o.projection for o in outputs], axis=1)), dim=-1)
    return FrameOutputs(
        np.concatenate([o.embedding for o in outputs], axis=1),
        projection.numpy(),
        np.mean([o.logits for o in outputs], axis=0, dtype=np.float32),
        outputs[0].valid,
    )


def _run_network(
    model: RatBehaviourNet, session: SessionData, slot: int, window: int, stride: int, batch_size: int
) -> FrameOutputs:
    """Every frame's outputs, averaged over the windows that contain it: a frame near a window's
    edge sees only one side of its context, and averaging with a window where it sits inside
    smooths the seams. Windows are cut by fancy indexing, not one by one, to keep Python out of
    the inference loop."""
    n = session.frames.size
    f = session.features
    starts = np.asarray(window_starts(n, window, stride))
    index = starts[:, None] + np.arange(window)
    inside = index < n
    index = np.minimum(index, n - 1)
    inputs = {
        "pose": _windows(f.pose, index, inside, np.nan),
        "imu": _windows(f.imu, index, inside, np.nan),
        "pose_mask": _windows(f.pose_mask, index, inside, False),
        "imu_mask": _windows(f.imu_mask, index, inside, False),
    }
    flat = torch.from_numpy(index[inside])
    counts = torch.bincount(flat, minlength=n).double()
    sums: dict[str, torch.Tensor] = {}
    was_training = model.training
    model.eval()
    try:
        for first in range(0, len(starts), batch_size):
            rows = slice(first, first + batch_size)
            batch = {key: value[rows] for key, value in inputs.items()}
            batch["session_index"] = torch.full((batch["pose"].shape[0],), slot, dtype=torch.long)
            out = model(batch)
            keep = torch.from_numpy(inside[rows])
            positions = torch.from_numpy(index[rows])[keep]
            for name in ("embedding", "projection", "logits"):
                tensor = getattr(out, name)
                total = sums.setdefault(name, torch.zeros(n, tensor.shape[-1], dtype=torch.float64))
                total.index_add_(0, positions, tensor[keep].double())
    finally:
        model.train(was_training)
    mean = {name: (total / counts[:, None]).float() for name, total in sums.items()}
    valid = f.pose_mask | f.imu_mask
    return FrameOutputs(
        mean["embedding"].numpy(), F.normalize(mean["projection"], dim=-1).numpy(), mean["logits"].numpy(), valid
    )
