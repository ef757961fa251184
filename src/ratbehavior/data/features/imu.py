"""IMU features: raw channels, magnitudes, jerk, gravity direction (head tilt) and dynamic acceleration."""

from __future__ import annotations

import numpy as np

from ratbehavior.data.aligned import IMU_CHANNELS, AlignedSession
from ratbehavior.data.features.runs import derivative_per_run, lowpass_per_run

GRAVITY_CUTOFF_HZ = 0.8


def imu_features(session: AlignedSession) -> tuple[np.ndarray, tuple[str, ...]]:
    fs, mask = session.grid_hz, session.imu_mask
    raw = session.imu.astype(np.float64)
    acc, gyr = raw[:, :3], raw[:, 3:]
    gravity = lowpass_per_run(acc, mask, GRAVITY_CUTOFF_HZ, fs)
    direction = gravity / np.linalg.norm(gravity, axis=1, keepdims=True)
    dynamic = acc - gravity
    jerk = derivative_per_run(acc, mask, fs)
    columns = [
        raw,
        np.linalg.norm(acc, axis=1, keepdims=True),
        np.linalg.norm(gyr, axis=1, keepdims=True),
        jerk,
        np.linalg.norm(jerk, axis=1, keepdims=True),
        direction,
        dynamic,
        np.linalg.norm(dynamic, axis=1, keepdims=True),
    ]
    names = (
        *IMU_CHANNELS, "acc_norm", "gyr_norm", "jerk_x", "jerk_y", "jerk_z", "jerk_norm",
        "gravity_x", "gravity_y", "gravity_z", "dyn_acc_x", "dyn_acc_y", "dyn_acc_z", "dyn_acc_norm",
    )  # fmt: skip
    out = np.hstack(columns).astype(np.float32)
    out[~mask] = np.nan
    return out, names
