"""The sessions a training sees: modality switches, held-out labels, the calibration split, the
labels of each stage (real plus pseudo), and seeded window batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch.utils.data import default_collate

from ratbehavior.config import Config
from ratbehavior.data.dataset import SessionData
from ratbehavior.model.losses import inverse_frequency_weights
from ratbehavior.training.checkpoint import derived_seed
from ratbehavior.training.distributed import shard
from ratbehavior.training.windows import WindowDataset, session_indices

Batch = dict[str, torch.Tensor]


def restrict_modalities(session: SessionData, use_pose: bool, use_imu: bool) -> SessionData:
    """The session as a model limited to some modalities sees it: the others never recorded."""
    f = session.features
    if not use_pose:
        f = replace(f, pose=np.full_like(f.pose, np.nan), pose_mask=np.zeros_like(f.pose_mask))
    if not use_imu:
        f = replace(f, imu=np.full_like(f.imu, np.nan), imu_mask=np.zeros_like(f.imu_mask))
    return replace(session, features=f)


def with_labels(session: SessionData, labels: np.ndarray, mask: np.ndarray) -> SessionData:
    return replace(session, labels=labels, label_mask=mask)


def label_blocks(
    session: SessionData, fraction: float, block: int, seed: int, purpose: str, exact: bool = False
) -> np.ndarray:
    """(T,) bool: about `fraction` of the labelled frames, chosen in whole blocks of `block` frames so
    that the chosen and the other frames share no near-identical neighbours; `purpose` names the draw.
    Each block is drawn on its own, unless `exact`: then round(fraction * blocks) of them, at least one."""
    blocks = np.unique(np.flatnonzero(session.label_mask) // block)
    rng = np.random.default_rng(derived_seed(seed, purpose, session.session_id))
    if exact:
        count = min(blocks.size, max(1, round(fraction * blocks.size)))
        chosen = rng.choice(blocks, size=count, replace=False)
    else:
        chosen = blocks[rng.random(blocks.size) < fraction]
    in_chosen = np.isin(np.arange(session.frames.size) // block, chosen)
    return session.label_mask & in_chosen


@dataclass
class TrainData:
    """`sessions` carry only the labels the model may fit (no held-out animal, no calibration frames);
    `calibration` holds the labels kept aside for the classifier's calibration and thresholds."""

    sessions: list[SessionData]
    calibration: list[SessionData]
    slots: dict[str, int]
    behaviours: tuple[str, ...]

    @property
    def labelled_frames(self) -> int:
        return int(sum(s.label_mask.sum() for s in self.sessions))

    def label_counts(self) -> dict[str, dict[str, int]]:
        """Per behaviour, its labelled frames on each side: `fit` (stages 2-3 and the classifier) and `calibration`."""
        start = np.zeros(len(self.behaviours), dtype=np.int64)
        fit, held = (
            sum((s.labels[s.label_mask].sum(0) for s in side), start) for side in (self.sessions, self.calibration)
        )
        return {b: {"fit": int(fit[c]), "calibration": int(held[c])} for c, b in enumerate(self.behaviours)}


def prepare_training_data(
    sessions: Sequence[SessionData], cfg: Config, holdout_animals: Sequence[str] = ()
) -> TrainData:
    """Held-out animals keep their recordings (the self-supervised parts may use them) but lose every label."""
    t = cfg.training
    block = max(1, round(t.classifier.calibration_block_s * cfg.data.grid_hz))
    fitted, calibration = [], []
    for session in sessions:
        session = restrict_modalities(session, t.use_pose, t.use_imu)
        labelled = session.label_mask & (session.animal not in holdout_animals)
        session = with_labels(session, session.labels, labelled)
        held = label_blocks(session, t.classifier.calibration_fraction, block, cfg.seed, "calibration")
        fitted.append(with_labels(session, session.labels, labelled & ~held))
        calibration.append(with_labels(session, session.labels, held))
    return TrainData(
        sessions=fitted,
        calibration=calibration,
        slots=session_indices([s.session_id for s in sessions]),
        behaviours=tuple(sessions[0].behaviours),
    )


class WindowSampler:
    """Draws batches of windows with replacement, by weight, from a seeded generator: no DataLoader
    state to checkpoint, and the same generator gives the same batches."""

    def __init__(self, dataset: WindowDataset, weights: np.ndarray | None = None) -> None:
        self.dataset = dataset
        self.weights = torch.as_tensor(np.ones(len(dataset)) if weights is None else weights, dtype=torch.float64)

    def __len__(self) -> int:
        return int((self.weights > 0).sum())

    def draw(self, n: int, generator: torch.Generator) -> Batch:
        """This worker's share of a global batch of `n` windows (all of it in a single process)."""
        picked = shard(torch.multinomial(self.weights, n, replacement=True, generator=generator))
        return default_collate([self.dataset[int(i)] for i in picked])


def uniform_sampler(sessions: Sequence[SessionData], slots: dict[str, int], window: int, stride: int) -> WindowSampler:
    return WindowSampler(WindowDataset(sessions, window, stride, slots))


def balanced_sampler(
    sessions: Sequence[SessionData], slots: dict[str, int], window: int, stride: int
) -> WindowSampler | None:
    """Windows holding labelled frames, drawn in proportion to the inverse class frequency of those
    frames (summed over the window), so rare behaviours fill batches as often as common ones.
    None when nothing is labelled."""
    dataset = WindowDataset(sessions, window, stride, slots, labelled_only=True)
    if len(dataset) == 0:
        return None
    frame_weights = inverse_frequency_weights(
        torch.from_numpy(np.concatenate([s.labels for s in sessions])),
        torch.from_numpy(np.concatenate([s.label_mask for s in sessions])),
    ).numpy()
    offsets = np.cumsum([0] + [s.frames.size for s in sessions])
    cumulative = np.concatenate([[0.0], np.cumsum(frame_weights)])
    weights = np.empty(len(dataset))
    for i, where in enumerate(dataset.index):
        first = offsets[where.session] + where.start
        last = min(first + window, offsets[where.session + 1])
        weights[i] = cumulative[last] - cumulative[first]
    return WindowSampler(dataset, weights)
