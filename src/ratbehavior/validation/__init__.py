"""Validation of a dataset against the data contract: Great Expectations suites plus cross-file checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ratbehavior.config import DataConfig
from ratbehavior.data.align import session_frames
from ratbehavior.data.dlc import read_dlc
from ratbehavior.data.imu import read_imu, read_imu_raw
from ratbehavior.data.labels import read_boris, read_boris_events, read_frame_labels
from ratbehavior.data.session import SessionFiles, open_session
from ratbehavior.errors import DataContractError
from ratbehavior.validation.report import Failure, ValidationReport
from ratbehavior.validation.runner import ExpectationRunner, FailedCheck
from ratbehavior.validation.suites import (
    boris_checks,
    imu_checks,
    imu_table,
    labels_checks,
    pose_checks,
    pose_table,
)  # fmt: skip

__all__ = ["Failure", "ValidationReport", "validate_dataset"]

READABLE = "file_is_readable"
# Warn when the two modalities share less than this share of the shorter recording.
MIN_OVERLAP_SHARE = 0.5


class _Session:
    """Collects one session's failures under its name."""

    def __init__(self, session: str, runner: ExpectationRunner) -> None:
        self.session, self.runner, self.failures = session, runner, []

    def unreadable(self, file: str, err: DataContractError) -> None:
        where = f" ({err.where})" if err.where else ""
        self.failures.append(Failure(self.session, file, None, READABLE, f"{err.problem}{where}"))

    def fail(
        self, file: str, expectation: str, message: str, severity: str = "error", column: str | None = None
    ) -> None:
        self.failures.append(Failure(self.session, file, column, expectation, message, severity))

    def expect(self, file: str, table: pd.DataFrame, checks) -> None:
        failed: list[FailedCheck] = self.runner.run(f"{self.session}.{file}", table, checks)
        for item in failed:
            self.fail(file, item.name, item.message, item.check.severity, item.column)


def _lines(table: pd.DataFrame, header_lines: int = 1) -> pd.DataFrame:
    table = table.copy()
    table.index = np.arange(len(table)) + header_lines + 1
    return table


def _check_session(files: SessionFiles, cfg: DataConfig, check: _Session) -> None:
    pose = imu = None
    try:
        pose_path = files.pose
        pose = read_dlc(pose_path, individual=cfg.individual)
        missing = [b for b in cfg.bodyparts if b not in pose.columns.get_level_values(0)]
        if missing:
            check.fail(
                pose_path.name,
                "bodyparts_present",
                f"bodyparts {missing} are missing; features needing them are dropped",
                "warning",
            )
        parts = [b for b in cfg.bodyparts if b not in missing]
        header = 3 if pose_path.suffix == ".csv" and pose.columns.nlevels == 2 else 0
        check.expect(pose_path.name, pose_table(pose[parts], header, cfg), pose_checks(parts, cfg))
    except DataContractError as err:
        check.unreadable(err.path.name, err)
    try:
        raw = read_imu_raw(files.imu, files.meta)
        check.expect(files.imu.name, imu_table(raw, files.meta), imu_checks(files.meta))
        imu = read_imu(files.imu, files.meta)
    except DataContractError as err:
        if not err.problem.startswith("time_s must be strictly increasing"):  # already reported by the suite
            check.unreadable(files.imu.name, err)
    frames = None
    if pose is not None and imu is not None:
        try:
            frames = session_frames(files, pose, imu, cfg.grid_hz)
        except DataContractError as err:
            check.fail("session", "modalities_overlap", err.problem)
    if frames is not None:
        video_s = len(pose) / files.meta.video_fps
        imu_s = float(imu["time_s"].iloc[-1] - imu["time_s"].iloc[0])
        if frames.size / cfg.grid_hz < MIN_OVERLAP_SHARE * min(video_s, imu_s):
            check.fail(
                "session",
                "modalities_overlap",
                f"video and IMU overlap for only {frames.size / cfg.grid_hz:.1f} s",
                "warning",
            )
    _check_labels(files, cfg, check, frames)


def _check_labels(files: SessionFiles, cfg: DataConfig, check: _Session, frames: np.ndarray | None) -> None:
    tables = []
    if files.labels is not None:
        try:
            table = read_frame_labels(files.labels, cfg.behaviours, strict=False)
        except DataContractError as err:
            check.unreadable(files.labels.name, err)
        else:
            raw = pd.read_csv(files.labels, skipinitialspace=True)
            check.expect(files.labels.name, _lines(raw), labels_checks(list(raw.columns), cfg.behaviours))
            tables.append((files.labels.name, table))
    if files.boris is not None:
        try:
            events = read_boris_events(files.boris)
            check.expect(files.boris.name, _lines(events), boris_checks(cfg.behaviours))
            tables.append((files.boris.name, read_boris(files.boris, cfg.grid_hz, cfg.behaviours, strict=False)))
        except DataContractError as err:
            check.unreadable(files.boris.name, err)
    if frames is None:
        return
    for name, table in tables:
        outside = table.index[(table.index < frames[0]) | (table.index > frames[-1])]
        if len(outside):
            check.fail(
                name, "labels_inside_session",
                f"{len(outside)} labelled frames lie outside the session "
                f"(frames {frames[0]}-{frames[-1]}), first {outside[0]}",
            )  # fmt: skip


def validate_dataset(root: Path, cfg: DataConfig, docs_dir: Path | None = None) -> ValidationReport:
    """Check every session under `root/sessions`; reads files only, never writes next to them."""
    sessions_dir = Path(root) / "sessions"
    if not sessions_dir.is_dir():
        raise DataContractError(root, "no sessions/ folder: expected <root>/sessions/<session_id>/")
    folders = sorted(p for p in sessions_dir.iterdir() if p.is_dir())
    runner = ExpectationRunner(docs_dir)
    report = ValidationReport(sessions=[f.name for f in folders])
    for folder in folders:
        check = _Session(folder.name, runner)
        try:
            files = open_session(folder)
        except DataContractError as err:
            check.unreadable(err.path.name, err)
        else:
            _check_session(files, cfg, check)
        report.failures += check.failures
    report.docs_index = runner.build_docs()
    return report
