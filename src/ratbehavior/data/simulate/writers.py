"""The contract's files, written as the lab's tools write them, byte-for-byte reproducible.

Floats have a fixed format, lines end in '\\n', and nothing depends on the clock or dict order.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ratbehavior.data.simulate.annotate import Annotation
from ratbehavior.data.simulate.camera import PoseTrack
from ratbehavior.data.simulate.imu import ImuRecord
from ratbehavior.data.simulate.plan import SessionPlan

POSE_FLOAT = "%.4f"
IMU_FLOAT = "%.4f"
DLC_SCORER = "DLC_resnet50_ratimuOct3shuffle1_500000"
MADLC_SCORER = "DLC_dlcrnetms5_ratimuOct3shuffle1_200000"
MADLC_INDIVIDUAL = "rat1"
_BORIS_CATEGORY = {
    "walk": "locomotion", "jump": "locomotion", "turn_left": "locomotion", "turn_right": "locomotion",
    "aiming": "exploration", "local_search": "exploration", "rearing": "exploration", "stand_up": "exploration",
    "still": "rest", "eating": "maintenance", "grooming": "maintenance", "scratch": "maintenance",
}  # fmt: skip


def write_session_yaml(path: Path, plan: SessionPlan) -> None:
    meta = {
        "animal": plan.animal,
        "day": plan.day,
        "condition": plan.condition,
        "video_fps": plan.video_fps,
        "imu_rate_hz": plan.imu_rate_hz,
        "imu_offset_s": plan.imu_offset_s,
        "imu_units": {"acc": plan.acc_unit, "gyr": plan.gyr_unit},
    }
    path.write_text(yaml.safe_dump(meta, sort_keys=False, default_flow_style=None))


def write_pose(
    path: Path, pose: PoseTrack, bodyparts: Sequence[str], keypoints: Sequence[str], multi_animal: bool
) -> None:
    """A DeepLabCut CSV: single-animal (scorer/bodyparts/coords) or maDLC with one individual."""
    columns, blocks = [], []
    for part in bodyparts:
        k = keypoints.index(part)
        blocks += [pose.xy[:, k, 0], pose.xy[:, k, 1], pose.likelihood[:, k]]
        for coord in ("x", "y", "likelihood"):
            columns.append((MADLC_SCORER, MADLC_INDIVIDUAL, part, coord) if multi_animal else (DLC_SCORER, part, coord))
    names = ["scorer", "individuals", "bodyparts", "coords"] if multi_animal else ["scorer", "bodyparts", "coords"]
    frame = pd.DataFrame(np.stack(blocks, axis=1), columns=pd.MultiIndex.from_tuples(columns, names=names))
    frame.to_csv(path, float_format=POSE_FLOAT, lineterminator="\n")


def write_imu(path: Path, imu: ImuRecord, columns: Sequence[str], temperature: bool) -> None:
    values = {"time_s": imu.time_s}
    for axis, name in enumerate("xyz"):
        values[f"acc_{name}"] = imu.acc[:, axis]
        values[f"gyr_{name}"] = imu.gyr[:, axis]
    table = pd.DataFrame({c: values[c] for c in columns})
    if temperature:
        table["temperature"] = np.round(imu.temperature, 2)
    table.to_csv(path, index=False, float_format=IMU_FLOAT, lineterminator="\n")


def write_labels(path: Path, annotation: Annotation, behaviours: Sequence[str]) -> None:
    table = pd.DataFrame(annotation.labels, columns=list(behaviours), index=pd.Index(annotation.frames, name="frame"))
    table.to_csv(path, lineterminator="\n")


def write_boris(path: Path, annotation: Annotation, plan: SessionPlan, media_s: float) -> None:
    """BORIS's aggregated-events export: one row per STATE event, times in seconds of the video."""
    assert annotation.events is not None
    video = f"{plan.session_id}.mp4"
    rows = [
        {
            "Observation id": plan.session_id,
            "Observation type": "Media file(s)",
            "Source": f"player #1:{video}",
            "Media duration (s)": f"{media_s:.3f}",
            "FPS": f"{plan.video_fps:.2f}",
            "Subject": plan.animal,
            "Behavior": name,
            "Behavioral category": _BORIS_CATEGORY.get(name, ""),
            "Behavior type": "STATE",
            "Start (s)": f"{start:.3f}",
            "Stop (s)": f"{stop:.3f}",
            "Duration (s)": f"{stop - start:.3f}",
            "Media file name": video,
            "Image index start": round(start * plan.video_fps),
            "Image index stop": round(stop * plan.video_fps),
            "Comment start": "",
            "Comment stop": "",
        }
        for name, start, stop in annotation.events
    ]
    pd.DataFrame(rows).to_csv(path, index=False, lineterminator="\n")
