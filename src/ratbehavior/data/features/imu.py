"""IMU features: raw channels, magnitudes, jerk, gravity direction (head tilt) and dynamic acceleration."""

from __future__ import annotations

import numpy as np

from ratbehavior.data.aligned import IMU_CHANNELS, AlignedSession
from ratbehavior.data.features.timeseries import gradient, lowpass_per_run

# A posture (the head's tilt) holds for a second or more, head movements are faster: what passes
# a 0.8 Hz low-pass of the accelerometer is taken as gravity, the rest as dynamic acceleration.
GRAVITY_CUTOFF_HZ = 0.8
_AXES = ("x", "y", "z")


def _norm(v: np.ndarray) -> np.ndarray:
    return np.linalg.norm(v, axis=1, keepdims=True)


def imu_features(session: AlignedSession) -> tuple[np.ndarray, tuple[str, ...]]:
    """(T, F) float32 features in m/s^2, deg/s and their time derivatives, and their names.

    NaN where `imu_mask` is False.
    """
    fs = session.grid_hz
    valid = session.imu_mask & np.isfinite(session.imu).all(axis=1)
    # Whatever sits under the mask must not reach a filter or a difference.
    raw = np.where(valid[:, None], session.imu.astype(np.float64), np.nan)
    acc, gyr = raw[:, :3], raw[:, 3:]
    jerk = gradient(acc, fs)
    gravity = lowpass_per_run(acc, valid, GRAVITY_CUTOFF_HZ, fs)
    with np.errstate(invalid="ignore", divide="ignore"):
        direction = gravity / _norm(gravity)
    dynamic = acc - gravity
    blocks: list[tuple[tuple[str, ...], np.ndarray]] = [
        (IMU_CHANNELS, raw),
        (("acc_norm",), _norm(acc)),
        (("gyr_norm",), _norm(gyr)),
        (tuple(f"jerk_{a}" for a in _AXES), jerk),
        (("jerk_norm",), _norm(jerk)),
        (tuple(f"gravity_{a}" for a in _AXES), direction),
        (tuple(f"dyn_acc_{a}" for a in _AXES), dynamic),
        (("dyn_acc_norm",), _norm(dynamic)),
    ]
    out = np.hstack([values for _, values in blocks]).astype(np.float32)
    out[~session.imu_mask] = np.nan
    return out, tuple(name for names, _ in blocks for name in names)
