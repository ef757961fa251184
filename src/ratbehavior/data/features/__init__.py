"""Per-frame features of an aligned session, normalised per session, stored as .npz.

- `pose`: egocentric pose features (body frame, body lengths, camera-invariant)
- `imu`: IMU channels, magnitudes, jerk, gravity direction, dynamic acceleration
- `normalise`: robust per-session normalisation (median, IQR)
- `timeseries`: derivatives and filters that never cross a missing frame
"""

from __future__ import annotations

import zipfile
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

# A fixed member timestamp makes the same features the same bytes, so DVC sees no change on a rerun.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


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
    """A compressed .npz at exactly `path` that `np.load` reads; byte-identical for identical features."""
    arrays = {
        "session_id": np.array(features.session_id), "animal": np.array(features.animal),
        "pose": features.pose, "pose_names": np.array(features.pose_names, dtype=str),
        "imu": features.imu, "imu_names": np.array(features.imu_names, dtype=str),
        "pose_mask": features.pose_mask, "imu_mask": features.imu_mask,
    }  # fmt: skip
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            member = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            member.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(member, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.asanyarray(array), allow_pickle=False)


def load_features(path: Path) -> SessionFeatures:
    with np.load(path) as stored:
        return SessionFeatures(
            session_id=str(stored["session_id"]), animal=str(stored["animal"]), pose=stored["pose"],
            pose_names=tuple(str(n) for n in stored["pose_names"]), imu=stored["imu"],
            imu_names=tuple(str(n) for n in stored["imu_names"]), pose_mask=stored["pose_mask"],
            imu_mask=stored["imu_mask"],
        )  # fmt: skip
