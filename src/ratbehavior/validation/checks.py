"""Checks across a session's files, and across sessions, that no expectation on a single table can see.

A session may hold both labels.csv and labels_boris.csv: alignment merges them and labels.csv wins
on the frames both label (it is the more precise source), so their disagreement is only a warning.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ratbehavior.data.imu import TIME_COLUMN
from ratbehavior.data.labels import FRAME_COLUMN
from ratbehavior.data.session import BORIS_FILE, IMU_FILE, LABELS_FILE, SessionFiles
from ratbehavior.validation.limits import ValidationLimits
from ratbehavior.validation.report import DATASET, Failure, count

OVERLAP = "modalities_overlap"
# Where each label file says when a label is.
LABEL_TIME_COLUMNS = {LABELS_FILE: FRAME_COLUMN, BORIS_FILE: "Start (s)/Stop (s)"}


def modalities(files: SessionFiles) -> str:
    return f"{files.pose.name} + {IMU_FILE}"


def overlap_share(
    files: SessionFiles,
    pose: pd.DataFrame,
    imu: pd.DataFrame,
    frames: np.ndarray,
    grid_hz: float,
    limits: ValidationLimits,
) -> list[Failure]:
    """Warn when alignment throws away much of either recording: a wrong imu_offset_s or a mismatched file."""
    kept = frames.size / grid_hz
    spans = {
        "video": (pose.index[-1] - pose.index[0]) / files.meta.video_fps,
        "IMU": float(imu[TIME_COLUMN].iloc[-1] - imu[TIME_COLUMN].iloc[0]),
    }
    short = [
        f"{kept / span:.0%} of the {name} ({span:.1f} s)"
        for name, span in spans.items()
        if kept < limits.min_overlap_share * span
    ]
    if not short:
        return []
    message = f"the aligned session ({kept:.1f} s) keeps only {' and '.join(short)}; check imu_offset_s"
    return [Failure(files.session_id, modalities(files), None, OVERLAP, message, "warning")]


def labels_inside(
    files: SessionFiles, tables: dict[str, pd.DataFrame], frames: np.ndarray, grid_hz: float
) -> list[Failure]:
    """Every labelled frame must lie in the session, the span both modalities cover after alignment."""
    failures = []
    for name, table in tables.items():
        outside = table.index[(table.index < frames[0]) | (table.index > frames[-1])]
        if len(outside):
            message = (
                f"{count(len(outside), 'labelled frame')} outside the session (frames {frames[0]:,}-{frames[-1]:,}, "
                f"{frames[0] / grid_hz:.2f}-{frames[-1] / grid_hz:.2f} s on the video clock), first {outside[0]:,}"
            )
            failures.append(Failure(files.session_id, name, LABEL_TIME_COLUMNS[name], "labels_inside_session", message))
    return failures


def label_files_agree(session: str, tables: dict[str, pd.DataFrame], behaviours: Sequence[str]) -> list[Failure]:
    if set(tables) != {LABELS_FILE, BORIS_FILE}:
        return []
    frame_wise, boris = tables[LABELS_FILE], tables[BORIS_FILE]
    both = frame_wise.index.intersection(boris.index)
    columns = [b for b in behaviours if b in frame_wise.columns and b in boris.columns]
    differ = both[(frame_wise.loc[both, columns].to_numpy() != boris.loc[both, columns].to_numpy()).any(axis=1)]
    if not len(differ):
        return []
    message = (
        f"the two label files disagree on {len(differ):,} of the {count(len(both), 'frame')} both label, "
        f"first {differ[0]:,}; "
        f"{LABELS_FILE} wins there"
    )
    return [Failure(session, f"{LABELS_FILE} + {BORIS_FILE}", None, "label_files_agree", message, "warning")]


def behaviours_never_labelled(tables: list[pd.DataFrame], behaviours: Sequence[str]) -> list[Failure]:
    """A behaviour no session ever marks cannot be learnt; only meaningful once some session has labels."""
    if not tables:
        return []
    seen = {column for table in tables for column in table.columns if (table[column] == 1).any()}
    missing = [b for b in behaviours if b not in seen]
    if not missing:
        return []
    message = f"behaviours {missing} are never labelled in any session: a classifier cannot learn them"
    return [Failure(DATASET, "labels", None, "behaviours_labelled", message, "warning")]
