"""Toy sessions for training tests: behaviours in bouts, each leaving a clear trace in both modalities."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ratbehavior.config import Config, load_config
from ratbehavior.data.dataset import SessionData
from ratbehavior.data.features import SessionFeatures

CI_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "ci.yaml"
BEHAVIOURS = ("walk", "rear", "groom")
N_POSE, N_IMU = 6, 4


def tiny_config(*overrides: str) -> Config:
    return load_config(CI_CONFIG, ["data.behaviours=[walk, rear, groom]", *overrides])


def toy_session(session_id: str, animal: str, frames: int = 400, seed: int = 0, labelled: float = 0.5) -> SessionData:
    """Bouts of 20-60 frames of one behaviour (walk may overlap the others); pose features carry the
    behaviour on the first three columns, the IMU on its first two (groom and walk alone), plus
    noise. Pose is missing on one stretch, where the IMU must carry the frames."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((frames, 3), dtype=np.int8)
    t = 0
    while t < frames:
        length = int(rng.integers(20, 60))
        labels[t : t + length, int(rng.integers(3))] = 1
        if rng.random() < 0.3:
            labels[t : t + length, 0] = 1
        t += length
    pose = rng.normal(0, 0.3, (frames, N_POSE)).astype(np.float32)
    pose[:, :3] += 2.0 * labels
    imu = rng.normal(0, 0.3, (frames, N_IMU)).astype(np.float32)
    imu[:, 0] += 2.0 * labels[:, 0]
    imu[:, 1] += 2.0 * labels[:, 2] - 2.0 * labels[:, 1]
    pose_mask = np.ones(frames, dtype=bool)
    pose_mask[frames // 2 : frames // 2 + 40] = False
    pose[~pose_mask] = np.nan
    features = SessionFeatures(
        session_id=session_id, animal=animal, pose=pose, pose_names=tuple(f"p{i}" for i in range(N_POSE)),
        imu=imu, imu_names=tuple(f"i{i}" for i in range(N_IMU)), pose_mask=pose_mask,
        imu_mask=np.ones(frames, dtype=bool),
    )  # fmt: skip
    label_mask = np.zeros(frames, dtype=bool)
    label_mask[: int(frames * labelled)] = True
    return SessionData(features, np.arange(frames) + 7, labels, label_mask, BEHAVIOURS)


def toy_dataset(animals: int = 3, per_animal: int = 2, frames: int = 400) -> list[SessionData]:
    return [
        toy_session(f"A{a}_D{d}", f"A{a}", frames, seed=10 * a + d) for a in range(animals) for d in range(per_animal)
    ]
