"""Malformed inputs fail with one line naming the file, the place and what was expected."""

import numpy as np
import pytest

from ratbehavior.data.dlc import read_dlc
from ratbehavior.data.imu import read_imu, read_imu_raw
from ratbehavior.data.labels import read_boris, read_frame_labels
from ratbehavior.data.session import list_sessions, open_session
from ratbehavior.errors import DataContractError
from tests.sessions import write_session

BEHAVIOURS = ["walk", "still"]


@pytest.fixture
def session(tmp_path):
    return open_session(write_session(tmp_path))


def _one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


def test_truncated_pose_file_names_the_last_row(session):
    text = session.pose.read_text()
    session.pose.write_text(text[: len(text) - 40])
    with pytest.raises(DataContractError, match="truncated") as err:
        read_dlc(session.pose)
    assert "pose.csv (last row)" in _one_line(err)


def test_empty_files(session):
    session.pose.write_text("")
    with pytest.raises(DataContractError, match="pose.csv: empty file"):
        read_dlc(session.pose)
    session.imu.write_text("")
    with pytest.raises(DataContractError, match="imu.csv: empty file"):
        read_imu(session.imu, session.meta)


def test_non_numeric_pose_cell_is_located(session):
    lines = session.pose.read_text().splitlines()
    cells = lines[10].split(",")
    cells[4] = "oops"
    lines[10] = ",".join(cells)
    session.pose.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataContractError, match=r"\(line 11, column \('left_ear', 'x'\)\): non-numeric value 'oops'"):
        read_dlc(session.pose)


def test_imu_missing_column_and_order_and_extra_columns(session):
    table = read_imu_raw(session.imu, session.meta)
    shuffled = table[["gyr_z", "acc_y", "time_s", "acc_x", "gyr_x", "acc_z", "gyr_y"]].assign(temperature=21.0)
    shuffled.to_csv(session.imu, index=False)
    again = read_imu(session.imu, session.meta)
    np.testing.assert_allclose(again.to_numpy(), table.to_numpy())
    shuffled.drop(columns="gyr_y").to_csv(session.imu, index=False)
    with pytest.raises(DataContractError, match=r"missing columns \['gyr_y'\]"):
        read_imu(session.imu, session.meta)


def test_imu_time_must_increase(session):
    table = read_imu_raw(session.imu, session.meta)
    table.loc[100, "time_s"] = table.loc[99, "time_s"]
    table.to_csv(session.imu, index=False)
    with pytest.raises(
        DataContractError, match=r"imu.csv \(line 102\): time_s must be strictly increasing \(1 steps are not\)"
    ):
        read_imu(session.imu, session.meta)


def test_units_are_converted_as_declared(tmp_path):
    folder = write_session(tmp_path, meta_extra={"imu_units": {"acc": "g", "gyr": "rad/s"}})
    session = open_session(folder)
    table = read_imu_raw(session.imu, session.meta)
    table["gyr_x"] = 1.0
    table.to_csv(session.imu, index=False)
    imu = read_imu(session.imu, session.meta)
    assert imu["acc_z"].iloc[0] == pytest.approx(9.80665 * 9.80665)
    assert imu["gyr_x"].iloc[0] == pytest.approx(57.29578, rel=1e-6)


def test_labels_with_unknown_behaviour_or_bad_value(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("frame,walk,still,fly\n1,0,1,0\n")
    with pytest.raises(DataContractError, match=r"unknown behaviours \['fly'\]"):
        read_frame_labels(path, BEHAVIOURS)
    assert "fly" in read_frame_labels(path, BEHAVIOURS, strict=False).columns
    path.write_text("frame,walk,still\n1,0,2\n")
    with pytest.raises(DataContractError, match=r"labels.csv \(line 2, column 'still'\): value 2: expected 0 or 1"):
        read_frame_labels(path, BEHAVIOURS)


def test_boris_aggregated_export_states_and_points(tmp_path):
    path = tmp_path / "labels_boris.csv"
    path.write_text(
        "Observation id,Subject,Behavior,Behavior type,Start (s),Stop (s),Duration (s)\n"
        "obs,rat,walk,STATE,1.000,1.100,0.1\n"
        "obs,rat,still,POINT,1.500,1.500,0\n"
        "obs,rat,walk,STATE,1.900,2.000,0.1\n"
    )
    table = read_boris(path, 50, BEHAVIOURS)
    assert table.index[0] == 50 and table.index[-1] == 99
    assert table.loc[50:54, "walk"].tolist() == [1] * 5 and table.loc[55, "walk"] == 0
    assert table["still"].sum() == 1 and table.loc[75, "still"] == 1
    path.write_text("Observation id,Behavior,Behavior type,Start (s),Stop (s)\nobs,walk,STATE,2.0,1.0\n")
    with pytest.raises(DataContractError, match="Stop \\(s\\) before Start \\(s\\)"):
        read_boris(path, 50, BEHAVIOURS)


def test_session_layout_errors(tmp_path):
    with pytest.raises(DataContractError, match="no sessions/ folder"):
        list_sessions(tmp_path)
    folder = write_session(tmp_path)
    (folder / "session.yaml").write_text("animal: R01\nday: one\nvideo_fps: 30\nimu_rate_hz: 200\n")
    with pytest.raises(DataContractError, match="key 'day'"):
        open_session(folder)
    (folder / "session.yaml").write_text("animal: R01\nday: 1\nimu_rate_hz: 200\n")
    with pytest.raises(DataContractError, match="key 'video_fps'"):
        open_session(folder)
