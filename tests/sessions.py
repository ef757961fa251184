"""Tiny contract-format sessions written by tests: a valid baseline that each test may break."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ratbehavior.config import DEFAULT_BEHAVIOURS, DEFAULT_BODYPARTS

GRAVITY = 9.80665


def write_pose_csv(path: Path, xy: np.ndarray, likelihood: np.ndarray, bodyparts=DEFAULT_BODYPARTS) -> None:
    """A single-animal DLC CSV from (N, K, 2) pixels and (N, K) likelihoods."""
    columns = pd.MultiIndex.from_tuples(
        [("DLC_test", b, c) for b in bodyparts for c in ("x", "y", "likelihood")],
        names=["scorer", "bodyparts", "coords"],
    )
    data = np.concatenate([xy, likelihood[..., None]], axis=2).reshape(len(xy), -1)
    pd.DataFrame(data, columns=columns).to_csv(path)


def write_session(
    root: Path,
    session_id: str = "R01_D01",
    *,
    animal: str = "R01",
    seconds: float = 6.0,
    video_fps: float = 30.0,
    imu_rate_hz: float = 200.0,
    imu_offset_s: float = 0.0,
    imu_signal=None,
    labels: bool = True,
    meta_extra: dict | None = None,
) -> Path:
    """A valid session: a skeleton moving slowly, a resting IMU (gravity on z), a few labelled frames."""
    folder = root / "sessions" / session_id
    folder.mkdir(parents=True)
    meta = {
        "animal": animal,
        "day": 1,
        "video_fps": video_fps,
        "imu_rate_hz": imu_rate_hz,
        "imu_offset_s": imu_offset_s,
    }
    meta.update(meta_extra or {})
    (folder / "session.yaml").write_text(yaml.safe_dump(meta))
    n = int(seconds * video_fps)
    k = len(DEFAULT_BODYPARTS)
    base = np.stack([np.linspace(100, 160, k), np.linspace(200, 210, k)], axis=1)
    drift = np.linspace(0, 20, n)[:, None, None]
    write_pose_csv(folder / "pose.csv", base[None] + drift, np.full((n, k), 0.95))
    t = np.arange(int((seconds + 1.0) * imu_rate_hz)) / imu_rate_hz
    imu = pd.DataFrame({"time_s": t})
    for axis, value in zip("xyz", (0.0, 0.0, GRAVITY), strict=True):
        imu[f"acc_{axis}"] = value
        imu[f"gyr_{axis}"] = 0.0
    if imu_signal is not None:
        imu["acc_x"] = imu_signal(t)
    imu.to_csv(folder / "imu.csv", index=False)
    if labels:
        frames = np.arange(10, 60)
        table = pd.DataFrame(0, index=pd.Index(frames, name="frame"), columns=list(DEFAULT_BEHAVIOURS))
        table.loc[10:30, "walk"] = 1
        table.loc[20:40, "turn_left"] = 1
        table.loc[41:59, "still"] = 1
        table.to_csv(folder / "labels.csv")
    return folder
