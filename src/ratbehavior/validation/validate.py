"""A dataset against the data contract: each session's files through their suites, then the checks across files.

Expectations run on the file as pandas reads it where the contract reader would stop at the first
problem (session.yaml, labels.csv, the IMU's time column), so that the report lists them all. A
reader's own refusal is reported only when no failed expectation on that file already explains it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import yaml

from ratbehavior.config import DataConfig
from ratbehavior.data.align import session_frames
from ratbehavior.data.csvfile import read_table
from ratbehavior.data.dlc import read_dlc
from ratbehavior.data.imu import read_imu, read_imu_raw
from ratbehavior.data.labels import FRAME_COLUMN, read_boris, read_boris_events, read_frame_labels
from ratbehavior.data.session import BORIS_FILE, IMU_FILE, LABELS_FILE, SESSION_YAML, SessionFiles, open_session
from ratbehavior.errors import DataContractError
from ratbehavior.validation.checks import (
    OVERLAP,
    behaviours_never_labelled,
    label_files_agree,
    labels_inside,
    modalities,
    overlap_share,
)  # fmt: skip
from ratbehavior.validation.limits import ValidationLimits
from ratbehavior.validation.report import DATASET, Failure, ValidationReport
from ratbehavior.validation.runner import Check, ExpectationRunner
from ratbehavior.validation.signals import imu_checks, imu_table, pose_checks, pose_table
from ratbehavior.validation.suites import (
    boris_checks,
    cells,
    file_lines,
    label_value_checks,
    labels_checks,
    meta_checks,
    meta_range_checks,
    meta_tables,
)

READABLE = "file_is_readable"
T = TypeVar("T")


def _yaml_mapping(path: Path) -> dict[str, Any] | None:
    """session.yaml's keys when it parses to a mapping; anything else is left for the reader to explain."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    return raw if isinstance(raw, dict) else None


class _Session:
    """Validates one session folder and collects its failures under its name."""

    def __init__(self, folder: Path, cfg: DataConfig, limits: ValidationLimits, runner: ExpectationRunner) -> None:
        self.folder, self.name, self.cfg, self.limits, self.runner = folder, folder.name, cfg, limits, runner
        self.failures: list[Failure] = []

    def expect(self, file: str, table: pd.DataFrame, checks: list[Check], suite: str = "") -> None:
        """Run `checks` on `table`; `suite` tells apart the suites of one file in the Data Docs."""
        for item in self.runner.run(_suite_name(self.name, file, suite), table, checks):
            self.failures.append(Failure(self.name, file, item.column, item.name, item.message, item.check.severity))

    def read(self, reader: Callable[[], T]) -> T | None:
        try:
            return reader()
        except DataContractError as err:
            file = err.path.name if err.path != self.folder else "session folder"
            if not any(f.file == file and f.severity == "error" for f in self.failures):
                where = f" ({err.where})" if err.where else ""
                self.failures.append(Failure(self.name, file, None, READABLE, f"{err.problem}{where}"))
            return None

    def run(self) -> list[pd.DataFrame]:
        """Every check of the session after its session.yaml suite; returns its readable label tables."""
        files = self.read(lambda: open_session(self.folder))
        if files is None:
            return []
        pose, imu, labels = self._pose(files), self._imu(files), self._labels(files)
        self.failures += label_files_agree(self.name, labels, self.cfg.behaviours)
        if pose is not None and imu is not None:
            try:
                frames: np.ndarray = session_frames(files, pose, imu, self.cfg.grid_hz)
            except DataContractError as err:
                self.failures.append(Failure(self.name, modalities(files), None, OVERLAP, err.problem))
            else:
                self.failures += overlap_share(files, pose, imu, frames, self.cfg.grid_hz, self.limits)
                self.failures += labels_inside(files, labels, frames, self.cfg.grid_hz)
        return list(labels.values())

    def _pose(self, files: SessionFiles) -> pd.DataFrame | None:
        cfg = self.cfg
        pose = self.read(lambda: read_dlc(files.pose, individual=cfg.individual))
        if pose is None:
            return None
        in_file = list(dict.fromkeys(pose.columns.get_level_values(0)))
        present = [part for part in cfg.bodyparts if part in in_file]
        if not present:
            message = f"none of the configured bodyparts {cfg.bodyparts} is in the file, which has {in_file}"
            self.failures.append(Failure(self.name, files.pose.name, None, "bodyparts_present", message))
            return None
        table, place = pose_table(pose, present, cfg)
        self.expect(files.pose.name, table, pose_checks(place, present, cfg, self.limits))
        return pose

    def _imu(self, files: SessionFiles) -> pd.DataFrame | None:
        raw = self.read(lambda: read_imu_raw(files.imu, files.meta))
        if raw is None:
            return None
        table = imu_table(raw, files.meta, self.cfg)
        self.expect(IMU_FILE, table, imu_checks(table, files.meta, self.cfg, self.limits))
        return self.read(lambda: read_imu(files.imu, files.meta))

    def _labels(self, files: SessionFiles) -> dict[str, pd.DataFrame]:
        """The label tables on the 50 Hz grid, by file name, of the label files the readers accept."""
        behaviours, tables = self.cfg.behaviours, {}
        frame_wise, boris = files.labels, files.boris
        if frame_wise is not None:
            raw = self.read(lambda: read_table(frame_wise, "a header 'frame' and one column per behaviour"))
            if raw is not None:
                raw = file_lines(raw.rename(columns=lambda c: str(c).strip()))
                self.expect(LABELS_FILE, raw, labels_checks(list(raw.columns), behaviours))
                values, place = cells(raw, [c for c in raw.columns if c != FRAME_COLUMN])
                self.expect(LABELS_FILE, values, label_value_checks(place), suite="values")
                tables[LABELS_FILE] = self.read(lambda: read_frame_labels(frame_wise, behaviours, strict=False))
        if boris is not None:
            events = self.read(lambda: read_boris_events(boris))
            if events is not None:
                events.index = pd.RangeIndex(1, len(events) + 1)  # BORIS users count events from 1
                self.expect(BORIS_FILE, events, boris_checks(behaviours))
                grid_hz = self.cfg.grid_hz
                tables[BORIS_FILE] = self.read(lambda: read_boris(boris, grid_hz, behaviours, strict=False))
        return {name: table for name, table in tables.items() if table is not None}


def _suite_name(session: str, file: str, part: str = "") -> str:
    return ".".join(filter(None, [session, file, part]))


def _check_session_yamls(sessions: dict[str, _Session], runner: ExpectationRunner) -> None:
    """Every session.yaml in one table, one row per session: two GE runs for the dataset instead of two per session."""
    raws = {name: raw for name, s in sessions.items() if (raw := _yaml_mapping(s.folder / SESSION_YAML)) is not None}
    if not raws:
        return
    written, numbers = meta_tables(raws)
    for table, checks, part in ((written, meta_checks(), ""), (numbers, meta_range_checks(), "values")):
        for item in runner.run(_suite_name(DATASET, SESSION_YAML, part), table, checks, every_row=True):
            for name in item.rows:
                value = table.at[name, item.column]
                got = "" if value is None or value != value else f", got {value!r}"  # value != value: NaN
                failure = Failure(name, SESSION_YAML, item.column, item.name, item.message + got, item.check.severity)
                sessions[name].failures.append(failure)


def _session_folders(root: Path) -> list[Path]:
    sessions_dir = root / "sessions"
    if not sessions_dir.is_dir():
        raise DataContractError(root, "no sessions/ folder: expected <root>/sessions/<session_id>/")
    folders = sorted(p for p in sessions_dir.iterdir() if p.is_dir())
    if not folders:
        raise DataContractError(sessions_dir, "no session folders found")
    return folders


def validate_dataset(
    root: Path, config: DataConfig, docs_dir: Path | None = None, limits: ValidationLimits | None = None
) -> ValidationReport:
    """Check every session under `root/sessions`; reads the dataset only, writes nothing but `docs_dir`.

    Raises DataContractError only when there is no session to check; every other problem is in the report.
    """
    limits = limits or ValidationLimits()
    folders = _session_folders(Path(root))
    runner = ExpectationRunner(docs_dir)
    sessions = {folder.name: _Session(folder, config, limits, runner) for folder in folders}
    _check_session_yamls(sessions, runner)
    report = ValidationReport(sessions=list(sessions))
    label_tables: list[pd.DataFrame] = []
    for session in sessions.values():
        label_tables += session.run()
        report.failures += session.failures
    report.failures += behaviours_never_labelled(label_tables, config.behaviours)
    report.docs_index = runner.build_docs()
    return report
