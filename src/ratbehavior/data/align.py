"""A session's files -> one `AlignedSession` on the 50 Hz video-clock grid."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from ratbehavior.config import DataConfig
from ratbehavior.data.aligned import IMU_CHANNELS, AlignedSession
from ratbehavior.data.dlc import read_dlc
from ratbehavior.data.imu import TIME_COLUMN, read_imu
from ratbehavior.data.labels import read_boris, read_frame_labels
from ratbehavior.data.resample import resample_to_grid
from ratbehavior.data.session import SessionFiles
from ratbehavior.errors import DataContractError


def _bodyparts(files: SessionFiles, pose: pd.DataFrame, wanted: list[str]) -> list[str]:
    present = list(dict.fromkeys(pose.columns.get_level_values(0)))
    kept = [b for b in wanted if b in present]
    if not kept:
        raise DataContractError(
            files.pose, f"none of the configured bodyparts {wanted} is in the file, which has {present}"
        )
    if len(kept) < len(wanted):
        missing = [b for b in wanted if b not in present]
        warnings.warn(
            f"{files.pose}: bodyparts {missing} are missing; features that need them are dropped", stacklevel=2
        )
    return kept


def session_frames(files: SessionFiles, pose: pd.DataFrame, imu: pd.DataFrame, grid_hz: float) -> np.ndarray:
    """Grid frames covered by both modalities once the IMU clock is shifted onto the video clock."""
    meta = files.meta
    video = (pose.index[0] / meta.video_fps, pose.index[-1] / meta.video_fps)
    imu_t = imu[TIME_COLUMN].to_numpy() - meta.imu_offset_s
    start = math.ceil(max(video[0], imu_t[0]) * grid_hz - 1e-6)
    stop = math.floor(min(video[1], imu_t[-1]) * grid_hz + 1e-6)
    if stop < start:
        raise DataContractError(
            files.root,
            f"video covers {video[0]:.2f}-{video[1]:.2f} s and IMU {imu_t[0]:.2f}-{imu_t[-1]:.2f} s on the video "
            f"clock (imu_offset_s={meta.imu_offset_s}): they do not overlap",
        )
    return np.arange(start, stop + 1)


def _align_pose(files: SessionFiles, pose: pd.DataFrame, parts: list[str], frames: np.ndarray, cfg: DataConfig):
    fps = files.meta.video_fps
    t = pose.index.to_numpy() / fps
    n, k = frames.size, len(parts)
    xy = np.full((n, k, 2), np.nan, dtype=np.float32)
    likelihood = np.zeros((n, k), dtype=np.float32)
    keypoint_mask = np.zeros((n, k), dtype=bool)
    every = np.ones(t.size, dtype=bool)
    for j, part in enumerate(parts):
        lik = np.nan_to_num(pose[(part, "likelihood")].to_numpy(), nan=0.0)
        coords = pose[[(part, "x"), (part, "y")]].to_numpy()
        # Below the threshold DLC's coordinates are guesses; they must never pass as positions.
        seen = lik >= cfg.likelihood_threshold
        values, covered = resample_to_grid(t, coords, seen, frames, cfg.grid_hz, fps, max_gap_s=1.5 / fps)
        xy[:, j] = values
        keypoint_mask[:, j] = covered
        likelihood[:, j] = resample_to_grid(t, lik, every, frames, cfg.grid_hz, fps, max_gap_s=np.inf)[0][:, 0]
    pose_mask = keypoint_mask.sum(axis=1) >= min(cfg.min_keypoints, k)
    return xy, likelihood, keypoint_mask, pose_mask


def _align_imu(files: SessionFiles, imu: pd.DataFrame, frames: np.ndarray, cfg: DataConfig):
    t = imu[TIME_COLUMN].to_numpy() - files.meta.imu_offset_s
    rate = 1.0 / float(np.median(np.diff(t)))
    values, covered = resample_to_grid(
        t, imu[list(IMU_CHANNELS)].to_numpy(), np.ones(t.size, dtype=bool), frames, cfg.grid_hz, rate, cfg.imu_max_gap_s
    )
    return values.astype(np.float32), covered


def _align_labels(files: SessionFiles, frames: np.ndarray, cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    tables = []
    if files.labels is not None:
        tables.append(read_frame_labels(files.labels, cfg.behaviours))
    if files.boris is not None:
        tables.append(read_boris(files.boris, cfg.grid_hz, cfg.behaviours))
    labels = np.zeros((frames.size, len(cfg.behaviours)), dtype=np.int8)
    mask = np.zeros(frames.size, dtype=bool)
    # labels.csv is the more precise source, so it is applied last and wins where both cover a frame.
    for table in reversed(tables):
        rows = np.searchsorted(frames, table.index.to_numpy())
        inside = (rows < frames.size) & (frames[np.clip(rows, 0, frames.size - 1)] == table.index.to_numpy())
        labels[rows[inside]] = table[cfg.behaviours].to_numpy()[inside]
        mask[rows[inside]] = True
    return labels, mask


def align_session(files: SessionFiles, cfg: DataConfig) -> AlignedSession:
    pose = read_dlc(files.pose, individual=cfg.individual)
    imu = read_imu(files.imu, files.meta)
    parts = _bodyparts(files, pose, cfg.bodyparts)
    frames = session_frames(files, pose, imu, cfg.grid_hz)
    xy, likelihood, keypoint_mask, pose_mask = _align_pose(files, pose, parts, frames, cfg)
    imu_values, imu_mask = _align_imu(files, imu, frames, cfg)
    labels, label_mask = _align_labels(files, frames, cfg)
    return AlignedSession(
        session_id=files.session_id,
        meta=files.meta,
        grid_hz=cfg.grid_hz,
        time_s=frames / cfg.grid_hz,
        bodyparts=tuple(parts),
        pose_xy=xy,
        pose_likelihood=likelihood,
        keypoint_mask=keypoint_mask,
        pose_mask=pose_mask,
        imu=imu_values,
        imu_mask=imu_mask,
        behaviours=tuple(cfg.behaviours),
        labels=labels,
        label_mask=label_mask,
    )
