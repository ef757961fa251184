"""Each planted fault is caught, and named by session, file, column and what failed; nothing else is reported.

One dataset holds one broken session per fault and is validated once: GE costs seconds to import and
~15 ms per expectation, and sharing the run also shows that a fault never leaks into another session.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ratbehavior.config import DEFAULT_BODYPARTS, DataConfig
from ratbehavior.data.dlc import read_dlc
from ratbehavior.errors import DataContractError
from ratbehavior.validation import ValidationReport, validate_dataset
from tests.sessions import GRAVITY, write_pose_csv, write_session

CFG = DataConfig()
GE_INCREASING = "expect_column_values_to_be_increasing"
GE_MEDIAN = "expect_column_median_to_be_between"
GE_BETWEEN = "expect_column_values_to_be_between"
GE_IN_SET = "expect_column_values_to_be_in_set"
GE_NOT_NULL = "expect_column_values_to_not_be_null"
READABLE = "file_is_readable"


def _csv(folder: Path, name: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    change(pd.read_csv(folder / name)).to_csv(folder / name, index=False)


def _turning_head(folder: Path) -> None:
    """A resting gyroscope is ambiguous (deg/s of a still rat, or rad/s), so valid sessions turn their head."""
    imu = pd.read_csv(folder / "imu.csv")
    imu["gyr_z"] = 120.0 * np.sin(np.pi * imu["time_s"])
    imu.to_csv(folder / "imu.csv", index=False)


def _pose(folder: Path, change: Callable[[np.ndarray, np.ndarray], None], bodyparts=DEFAULT_BODYPARTS) -> None:
    """Rewrites pose.csv after `change(xy, likelihood)` edits its (N, K, 2) and (N, K) arrays in place."""
    pose = read_dlc(folder / "pose.csv")
    xy = np.stack([pose.xs("x", axis=1, level=1).to_numpy(), pose.xs("y", axis=1, level=1).to_numpy()], axis=2)
    likelihood = pose.xs("likelihood", axis=1, level=1).to_numpy().copy()
    change(xy, likelihood)
    write_pose_csv(folder / "pose.csv", xy[:, : len(bodyparts)], likelihood[:, : len(bodyparts)], bodyparts)


def _meta(folder: Path, **changes) -> None:
    meta = yaml.safe_load((folder / "session.yaml").read_text())
    meta.update(changes)
    (folder / "session.yaml").write_text(yaml.safe_dump({k: v for k, v in meta.items() if v is not None}))


def _boris(folder: Path, events: list[tuple[str, str, float, float]]) -> None:
    table = pd.DataFrame(events, columns=["Behavior", "Behavior type", "Start (s)", "Stop (s)"])
    table.insert(0, "Subject", "R01")
    table.to_csv(folder / "labels_boris.csv", index=False)


def _blank_pose_rows(folder: Path) -> None:
    def blank(xy, likelihood):
        xy[: len(xy) * 2 // 3] = np.nan
        likelihood[: len(xy) * 2 // 3] = np.nan

    _pose(folder, blank)


def _bad_pose_values(folder: Path) -> None:
    def spoil(xy, likelihood):
        xy[30:41, 0, 0] = np.nan  # nose x lost while its likelihood stays 0.95
        likelihood[50, 3] = 1.5

    _pose(folder, spoil)


def _truncate(folder: Path) -> None:
    text = (folder / "pose.csv").read_text()
    (folder / "pose.csv").write_text(text[: len(text) // 2])


def _duplicate_pose_frame(folder: Path) -> None:
    lines = (folder / "pose.csv").read_text().splitlines()
    lines[10] = lines[9]
    (folder / "pose.csv").write_text("\n".join(lines) + "\n")


def _bad_labels(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[5, "walk"] = 2
    frame.loc[7, "frame"] = frame.loc[6, "frame"]
    return frame


@dataclass(frozen=True)
class Fault:
    """How to break a valid session, and what the report must then say about it (and nothing more)."""

    breaks: Callable[[Path], None]
    errors: set[tuple[str, str | None, str]]  # (file, column, expectation)
    says: tuple[str, ...]
    warnings: set[tuple[str, str | None, str]] = field(default_factory=set)
    session: dict = field(default_factory=dict)  # arguments of write_session


FAULTS: dict[str, Fault] = {
    "valid": Fault(lambda folder: None, set(), ()),
    "imu_missing_column": Fault(
        lambda f: _csv(f, "imu.csv", lambda t: t.drop(columns="gyr_y")),
        {("imu.csv", None, READABLE)},
        ("imu.csv: missing columns ['gyr_y']",),
    ),
    "imu_time_goes_back": Fault(
        lambda f: _csv(f, "imu.csv", lambda t: t.assign(time_s=t["time_s"].where(t.index != 300, t["time_s"][100]))),
        {("imu.csv", "time_s", GE_INCREASING)},
        ("imu.csv column time_s: values must be strictly increasing (1 row fails, first at line 302: 0.5)",),
    ),
    "imu_in_g_declared_m_s2": Fault(
        lambda f: _csv(f, "imu.csv", lambda t: t.assign(acc_z=t["acc_z"] / GRAVITY)),
        {("imu.csv", "acc_x/acc_y/acc_z", GE_MEDIAN)},
        ("median |acc| is 1, expected about 9.81 (gravity) for the declared m/s^2; the values look like g",),
    ),
    "imu_gyro_deg_s_declared_rad_s": Fault(
        lambda f: None,
        {("imu.csv", "gyr_x/gyr_y/gyr_z", GE_BETWEEN)},
        ("exceed 2000 deg/s", "the values look like deg/s"),
        session={"meta_extra": {"imu_units": {"acc": "m/s^2", "gyr": "rad/s"}}},
    ),
    "imu_gyro_at_rest": Fault(
        lambda f: _csv(f, "imu.csv", lambda t: t.assign(gyr_z=0.0)),
        set(),
        ("the head barely turned, or the values are rad/s while session.yaml declares deg/s",),
        warnings={("imu.csv", "gyr_x/gyr_y/gyr_z", GE_BETWEEN)},
    ),
    "imu_rate_mismatch": Fault(
        lambda f: _meta(f, imu_rate_hz=100),
        {("imu.csv", "time_s", GE_MEDIAN)},
        ("median sample spacing 0.005 s means 200 Hz, session.yaml says imu_rate_hz 100",),
    ),
    "imu_time_in_ms": Fault(
        lambda f: _csv(f, "imu.csv", lambda t: t.assign(time_s=t["time_s"] * 1000)),
        {("imu.csv", "time_s", GE_MEDIAN), ("imu.csv", "time_s", "expect_column_sum_to_be_between")},
        ("time_s looks like milliseconds",),
        warnings={("pose.csv + imu.csv", None, "modalities_overlap")},
    ),
    "imu_long_gap": Fault(
        lambda f: _csv(f, "imu.csv", lambda t: t[(t["time_s"] < 1.0) | (t["time_s"] > 3.0)]),
        {("imu.csv", "time_s", "expect_column_sum_to_be_between")},
        ("gaps longer than 0.2 s cover 29% of the recording (1 gap, the first ending at line 202); at most 20%",),
    ),
    "pose_nan_storm": Fault(
        _blank_pose_rows,
        {("pose.csv", None, "expect_column_mean_to_be_between")},
        ("pose.csv: NaN storm: only 33% of frames have a usable pose",),
    ),
    "pose_bad_values": Fault(
        _bad_pose_values,
        {("pose.csv", "likelihood", GE_BETWEEN)},
        (
            "pose.csv column likelihood: must lie in [0, 1] (1 keypoint fails, first at frame 50 (neck): 1.5)",
            "pose.csv column x/y: not finite although likelihood >= 0.6 (11 keypoints fail, first at frame 30 (nose)); "
            "they count as missing",
        ),
        warnings={("pose.csv", "x/y", GE_IN_SET)},
    ),
    "pose_truncated": Fault(_truncate, {("pose.csv", None, READABLE)}, ("pose.csv: truncated",)),
    "pose_duplicate_frame": Fault(
        _duplicate_pose_frame, {("pose.csv", None, READABLE)}, ("frame index must be unique and increasing",)
    ),
    "pose_lacks_a_bodypart": Fault(
        lambda f: _pose(f, lambda xy, lik: None, DEFAULT_BODYPARTS[:-1]),
        set(),
        ("bodyparts ['tail_tip'] are missing; features that need them are dropped",),
        warnings={("pose.csv", "bodypart", "expect_column_distinct_values_to_contain_set")},
    ),
    "pose_other_bodyparts": Fault(
        lambda f: _pose(f, lambda xy, lik: None, tuple(f"part{i}" for i in range(len(DEFAULT_BODYPARTS)))),
        {("pose.csv", None, "bodyparts_present")},
        ("none of the configured bodyparts",),
    ),
    "session_yaml_broken": Fault(
        lambda f: _meta(f, animal=3, day=None, video_fps=-30, imu_units={"acc": "G"}),
        {
            ("session.yaml", "day", GE_NOT_NULL),
            ("session.yaml", "video_fps", GE_BETWEEN),
            ("session.yaml", "imu_units.acc", GE_IN_SET),
            ("session.yaml", "animal", "expect_column_values_to_be_in_type_list"),
        },
        (
            "session.yaml key day: required key missing or empty",
            "session.yaml key video_fps: must be > 0, got -30",
            "session.yaml key animal: must be text (quote it), got 3",
            "session.yaml key imu_units.acc: must be one of ['m/s^2', 'g'], got 'G'",
        ),
    ),
    "session_yaml_rate_is_text": Fault(
        lambda f: _meta(f, imu_rate_hz="fast"),
        {("session.yaml", "imu_rate_hz", "expect_column_values_to_be_in_type_list")},
        ("session.yaml key imu_rate_hz: must be a number, got 'fast'",),
    ),
    "labels_unknown_behaviour": Fault(
        lambda f: _csv(f, "labels.csv", lambda t: t.rename(columns={"jump": "fly"})),
        {("labels.csv", None, "expect_table_columns_to_match_set")},
        ("labels.csv: unknown behaviours ['fly']; missing columns ['jump']",),
    ),
    "labels_bad_values": Fault(
        lambda f: _csv(f, "labels.csv", _bad_labels),
        {("labels.csv", "frame", "expect_column_values_to_be_unique"), ("labels.csv", None, GE_IN_SET)},
        (
            "labels.csv column frame: every frame may appear once (2 rows fail, first at line 8: 16)",
            "labels.csv: values must be 0 or 1 (1 cell fails, first at line 7, column walk: 2)",
        ),
    ),
    "labels_empty": Fault(
        lambda f: (f / "labels.csv").write_text(""), {("labels.csv", None, READABLE)}, ("labels.csv: empty file",)
    ),
    "labels_outside_session": Fault(
        lambda f: _csv(f, "labels.csv", lambda t: pd.concat([t, t.tail(1).assign(frame=5000)])),
        {("labels.csv", "frame", "labels_inside_session")},
        ("1 labelled frame outside the session (frames 0-298, 0.00-5.96 s on the video clock), first 5,000",),
    ),
    "boris_unknown_behaviour": Fault(
        lambda f: _boris(f, [("walk", "STATE", 0.2, 0.6), ("fly", "POINT", 0.8, 0.8)]),
        {("labels_boris.csv", "Behavior", GE_IN_SET)},
        ("unknown behaviours ['fly'] (1 event fails, first at event 2: 'fly'",),
        session={"labels": False},
    ),
    "label_files_disagree": Fault(
        lambda f: _boris(f, [("still", "STATE", 0.2, 0.6)]),
        set(),
        ("the two label files disagree on 20 of the 20 frames both label, first 10; labels.csv wins there",),
        warnings={("labels.csv + labels_boris.csv", None, "label_files_agree")},
    ),
    "no_overlap": Fault(
        lambda f: None,
        {("pose.csv + imu.csv", None, "modalities_overlap")},
        ("imu_offset_s=100.0): they do not overlap",),
        session={"imu_offset_s": 100.0},
    ),
    "short_overlap": Fault(
        lambda f: None,
        set(),
        ("keeps only 42% of the video (6.0 s) and 36% of the IMU (7.0 s); check imu_offset_s",),
        warnings={("pose.csv + imu.csv", None, "modalities_overlap")},
        session={"imu_offset_s": 4.5},
    ),
    "bad folder name": Fault(
        lambda f: None, {("session folder", None, READABLE)}, ("may use only letters, digits, '_' and '-'",)
    ),
}


def _digest(root: Path) -> dict[str, str]:
    return {str(p): hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def faulty(tmp_path_factory) -> tuple[ValidationReport, dict[str, str], dict[str, str], Path]:
    root = tmp_path_factory.mktemp("faulty")
    for session, fault in FAULTS.items():
        folder = write_session(root, session, **fault.session)
        _turning_head(folder)
        fault.breaks(folder)
    docs = tmp_path_factory.mktemp("docs")
    before = _digest(root)
    report = validate_dataset(root, CFG, docs)
    return report, before, _digest(root), docs


def _found(report: ValidationReport, session: str, severity: str) -> set[tuple[str, str | None, str]]:
    return {
        (f.file, f.column, f.expectation) for f in report.failures if f.session == session and f.severity == severity
    }


@pytest.mark.parametrize("session", FAULTS)
def test_each_fault_is_reported_in_its_session_only(faulty, session):
    report, fault = faulty[0], FAULTS[session]
    assert _found(report, session, "error") == fault.errors, report.to_text()
    assert _found(report, session, "warning") == fault.warnings, report.to_text()
    lines = [f.line() for f in report.failures if f.session == session]
    for words in fault.says:
        assert any(words in line for line in lines), report.to_text()
    assert all(line in report.to_text() for line in lines)


def test_the_report_fails_reads_by_session_and_serialises(faulty):
    report, _, _, docs = faulty
    assert not report.ok and report.sessions == sorted(FAULTS)
    text = report.to_text()
    assert text.startswith(f"validation FAILED: {len(FAULTS)} sessions, {len(report.errors)} errors")
    assert f"Data Docs: {docs / 'index.html'}" in text
    as_json = json.loads(report.to_json())
    assert as_json["ok"] is False and len(as_json["failures"]) == len(report.failures)
    # The demo labels mark only walk, turn_left and still: the others can never be learnt.
    assert "behaviours ['jump', 'aiming'," in text.split("\n  (dataset)\n", 1)[1]


def test_validation_never_modifies_the_input(faulty):
    _, before, after, _ = faulty
    assert after == before


def test_data_docs_show_every_file_suite(faulty):
    report, _, _, docs = faulty
    assert report.docs_index == docs / "index.html" and report.docs_index.is_file()
    pages = {p.relative_to(docs / "validations").parts[:2] for p in (docs / "validations").rglob("*.html")}
    assert {("(dataset)", "session"), ("valid", "pose"), ("valid", "imu"), ("valid", "labels")} <= pages


def test_a_valid_dataset_passes_without_data_docs(tmp_path):
    _turning_head(write_session(tmp_path, "R01_D01"))
    boris = write_session(tmp_path, "R02_D01", animal="R02", labels=False)
    _turning_head(boris)
    _boris(boris, [(b, "STATE", 0.2 + 0.1 * i, 0.3 + 0.1 * i) for i, b in enumerate(CFG.behaviours)])
    report = validate_dataset(tmp_path, CFG)
    assert report.ok and not report.failures, report.to_text()
    assert report.to_text() == "validation PASSED: 2 sessions, 0 errors, 0 warnings"
    assert report.docs_index is None


def test_no_session_is_a_user_error(tmp_path):
    with pytest.raises(DataContractError, match="no sessions/ folder"):
        validate_dataset(tmp_path, CFG)
    (tmp_path / "sessions").mkdir()
    with pytest.raises(DataContractError, match="no session folders"):
        validate_dataset(tmp_path, CFG)
