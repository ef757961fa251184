"""Each planted fault is caught with a message naming the session, the file, the column and what failed."""

import hashlib

import numpy as np
import pandas as pd

from ratbehavior.config import DataConfig
from ratbehavior.validation import validate_dataset
from tests.sessions import write_session

CFG = DataConfig()


def _errors(root, **kwargs):
    report = validate_dataset(root, CFG, **kwargs)
    assert not report.ok
    return report, [f for f in report.errors]


def _one(errors, file, expectation):
    found = [f for f in errors if f.file == file and f.expectation == expectation]
    assert found, [f.line() for f in errors]
    return found[0]


def test_a_valid_session_passes_and_data_docs_are_written(tmp_path):
    write_session(tmp_path / "d")
    report = validate_dataset(tmp_path / "d", CFG, tmp_path / "docs")
    assert report.ok, report.to_text()
    assert report.docs_index.is_file()
    assert "R01_D01" in report.docs_index.read_text() or any((tmp_path / "docs").rglob("*R01_D01*"))


def test_missing_imu_column(tmp_path):
    folder = write_session(tmp_path)
    pd.read_csv(folder / "imu.csv").drop(columns="gyr_y").to_csv(folder / "imu.csv", index=False)
    report, errors = _errors(tmp_path)
    failure = _one(errors, "imu.csv", "file_is_readable")
    assert failure.session == "R01_D01"
    assert "missing columns ['gyr_y']" in failure.message
    assert "R01_D01" in report.to_text() and "imu.csv" in report.to_text()


def test_nan_storm_in_pose(tmp_path):
    folder = write_session(tmp_path)
    lines = (folder / "pose.csv").read_text().splitlines()
    for row in range(3, len(lines) * 2 // 3):
        cells = lines[row].split(",")
        lines[row] = ",".join([cells[0]] + [""] * (len(cells) - 1))
    (folder / "pose.csv").write_text("\n".join(lines) + "\n")
    _, errors = _errors(tmp_path)
    failure = _one(errors, "pose.csv", "expect_column_mean_to_be_between")
    assert failure.column == "usable"
    assert "of frames have a usable pose" in failure.message


def test_non_monotonic_time(tmp_path):
    folder = write_session(tmp_path)
    imu = pd.read_csv(folder / "imu.csv")
    imu.loc[300, "time_s"] = imu.loc[100, "time_s"]
    imu.to_csv(folder / "imu.csv", index=False)
    _, errors = _errors(tmp_path)
    failure = _one(errors, "imu.csv", "expect_column_values_to_be_increasing")
    assert failure.column == "time_s"
    assert "strictly increasing" in failure.message and "line 302" in failure.message


def test_wrong_units_say_what_the_values_look_like(tmp_path):
    folder = write_session(tmp_path, meta_extra={"imu_units": {"acc": "m/s^2", "gyr": "deg/s"}})
    imu = pd.read_csv(folder / "imu.csv")
    imu[["acc_x", "acc_y", "acc_z"]] /= 9.80665
    imu.to_csv(folder / "imu.csv", index=False)
    _, errors = _errors(tmp_path)
    failure = _one(errors, "imu.csv", "expect_column_median_to_be_between")
    assert failure.column == "acc_norm"
    assert "the values look like g" in failure.message


def test_unknown_behaviour(tmp_path):
    folder = write_session(tmp_path)
    labels = pd.read_csv(folder / "labels.csv").rename(columns={"jump": "fly"})
    labels.to_csv(folder / "labels.csv", index=False)
    _, errors = _errors(tmp_path)
    failure = _one(errors, "labels.csv", "expect_table_columns_to_match_set")
    assert "unknown behaviours ['fly']" in failure.message and "missing columns ['jump']" in failure.message


def test_truncated_file(tmp_path):
    folder = write_session(tmp_path)
    text = (folder / "pose.csv").read_text()
    (folder / "pose.csv").write_text(text[: len(text) // 2])
    _, errors = _errors(tmp_path)
    assert "truncated" in _one(errors, "pose.csv", "file_is_readable").message


def test_empty_file(tmp_path):
    folder = write_session(tmp_path)
    (folder / "labels.csv").write_text("")
    _, errors = _errors(tmp_path)
    assert "empty" in _one(errors, "labels.csv", "file_is_readable").message


def test_label_outside_the_session(tmp_path):
    folder = write_session(tmp_path)
    labels = pd.read_csv(folder / "labels.csv")
    labels.loc[len(labels)] = [5000] + [0] * (labels.shape[1] - 1)
    labels.to_csv(folder / "labels.csv", index=False)
    _, errors = _errors(tmp_path)
    failure = _one(errors, "labels.csv", "labels_inside_session")
    assert "1 labelled frames lie outside the session" in failure.message and "first 5000" in failure.message


def test_modalities_that_do_not_overlap(tmp_path):
    write_session(tmp_path, imu_offset_s=100.0)
    _, errors = _errors(tmp_path)
    assert "do not overlap" in _one(errors, "session", "modalities_overlap").message


def test_validation_never_modifies_the_input(tmp_path):
    folder = write_session(tmp_path)
    imu = pd.read_csv(folder / "imu.csv")
    imu["acc_x"] = np.nan
    imu.to_csv(folder / "imu.csv", index=False)

    def digest():
        return {p: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(tmp_path.rglob("*")) if p.is_file()}

    before = digest()
    report = validate_dataset(tmp_path, CFG, tmp_path.parent / f"{tmp_path.name}-docs")
    assert not report.ok
    assert digest() == before


def test_a_broken_session_yaml_is_reported_not_raised(tmp_path):
    folder = write_session(tmp_path)
    (folder / "session.yaml").write_text("animal: R01\nvideo_fps: 30\nimu_rate_hz: 200\n")
    _, errors = _errors(tmp_path)
    assert "key 'day'" in _one(errors, "session.yaml", "file_is_readable").message
