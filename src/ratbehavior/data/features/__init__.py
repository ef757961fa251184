"""Per-frame features of an aligned session, normalised per session, stored as .npz."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ratbehavior.data.aligned import AlignedSession
from ratbehavior.data.features.imu import imu_features
from ratbehavior.data.features.normalise import NormStats, apply_normalisation, robust_normalise
from ratbehavior.data.features.pose import pose_features

__all__ = [
    "NormStats", "SessionFeatures", "apply_normalisation", "imu_features", "load_features", "pose_features",
    "robust_normalise", "save_features", "session_features",
]  # fmt: skip


@dataclass(frozen=True)
class SessionFeatures:
    session_id: str
    animal: str
    pose: np.ndarray  # (T, Fp) float32, NaN where the frame's pose is missing
    pose_names: tuple[str, ...]
    imu: np.ndarray  # (T, Fi) float32, NaN where the IMU is missing
    imu_names: tuple[str, ...]
    pose_mask: np.ndarray  # (T,) bool
    imu_mask: np.ndarray  # (T,) bool


def session_features(session: AlignedSession) -> SessionFeatures:
    pose, pose_names = pose_features(session)
    imu, imu_names = imu_features(session)
    pose, _ = robust_normalise(pose, session.pose_mask)
    imu, _ = robust_normalise(imu, session.imu_mask)
    return SessionFeatures(
        session_id=session.session_id, animal=session.animal, pose=pose, pose_names=pose_names,
        imu=imu, imu_names=imu_names, pose_mask=session.pose_mask.copy(), imu_mask=session.imu_mask.copy(),
    )  # fmt: skip


def save_features(features: SessionFeatures, path: Path) -> None:
    np.savez_compressed(
        path, session_id=features.session_id, animal=features.animal, pose=features.pose,
        pose_names=np.array(features.pose_names), imu=features.imu, imu_names=np.array(features.imu_names),
        pose_mask=features.pose_mask, imu_mask=features.imu_mask,
    )  # fmt: skip


def load_features(path: Path) -> SessionFeatures:
    with np.load(path) as stored:
        return SessionFeatures(
            session_id=str(stored["session_id"]), animal=str(stored["animal"]), pose=stored["pose"],
            pose_names=tuple(str(n) for n in stored["pose_names"]), imu=stored["imu"],
            imu_names=tuple(str(n) for n in stored["imu_names"]), pose_mask=stored["pose_mask"],
            imu_mask=stored["imu_mask"],
        )  # fmt: skip
