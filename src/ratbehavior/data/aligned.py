"""One session on the 50 Hz video-clock grid: what every later step (features, model) consumes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ratbehavior.data.session import SessionMeta

IMU_CHANNELS: tuple[str, ...] = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")


@dataclass(frozen=True)
class AlignedSession:
    """Arrays share the first axis T (frames at `time_s = k / grid_hz`).

    Units after alignment: pose in pixels, acceleration in m/s^2 (gravity included), angular rate
    in deg/s. Missing values are NaN and are described by the masks; nothing is zero-filled.
    """

    session_id: str
    meta: SessionMeta
    grid_hz: float
    time_s: np.ndarray  # (T,) float64
    bodyparts: tuple[str, ...]
    pose_xy: np.ndarray  # (T, K, 2) float32, NaN where the keypoint is missing
    pose_likelihood: np.ndarray  # (T, K) float32
    keypoint_mask: np.ndarray  # (T, K) bool, keypoint above the likelihood threshold
    pose_mask: np.ndarray  # (T,) bool, enough keypoints for a usable pose
    imu: np.ndarray  # (T, 6) float32 in IMU_CHANNELS order, NaN in long gaps
    imu_mask: np.ndarray  # (T,) bool
    behaviours: tuple[str, ...]
    labels: np.ndarray  # (T, C) int8, 0 where unlabelled (see label_mask)
    label_mask: np.ndarray  # (T,) bool, frame was annotated

    @property
    def n_frames(self) -> int:
        return int(self.time_s.shape[0])

    @property
    def frames(self) -> np.ndarray:
        """Absolute grid frame numbers: frame k is at k / grid_hz seconds of video time."""
        return np.rint(self.time_s * self.grid_hz).astype(np.int64)

    @property
    def animal(self) -> str:
        return self.meta.animal
