import numpy as np
import pytest

from ratbehavior.config import DataConfig
from ratbehavior.data.align import align_session
from ratbehavior.data.resample import resample_to_grid
from ratbehavior.data.session import open_session
from tests.sessions import write_session

GRID = 50.0


def _jittered_times(rate: float, seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    return t + rng.uniform(-0.2, 0.2, t.size) / rate


def test_slow_sinusoid_survives_resampling_from_a_jittered_logger():
    t = _jittered_times(200.0, 10.0)
    frames = np.arange(25, 475)
    out, covered = resample_to_grid(t, np.sin(2 * np.pi * 3.0 * t), np.ones(t.size, bool), frames, GRID, 200.0, 0.2)
    assert covered.all()
    np.testing.assert_allclose(out[:, 0], np.sin(2 * np.pi * 3.0 * frames / GRID), atol=0.02)


def test_content_above_the_grid_nyquist_is_filtered_not_aliased():
    # 45 Hz sampled on a 50 Hz grid would alias to a full-amplitude 5 Hz wave without the filter.
    t = np.arange(4000) / 400.0
    frames = np.arange(50, 450)
    out, _ = resample_to_grid(t, np.sin(2 * np.pi * 45.0 * t), np.ones(t.size, bool), frames, GRID, 400.0, 0.2)
    assert np.abs(out).max() < 0.05


def test_video_upsampling_is_exact_for_linear_motion():
    fps = 30.0
    t = np.arange(300) / fps
    frames = np.arange(0, 495)
    out, covered = resample_to_grid(t, 3.0 * t + 1.0, np.ones(t.size, bool), frames, GRID, fps, 1.5 / fps)
    assert covered.all()
    np.testing.assert_allclose(out[:, 0], 3.0 * frames / GRID + 1.0, atol=1e-9)


def test_short_gaps_are_bridged_and_long_gaps_are_masked():
    t = np.arange(2000) / 200.0
    valid = np.ones(t.size, bool)
    valid[400:420] = False  # 0.1 s: dropped packets
    valid[1000:1100] = False  # 0.5 s: a long gap
    frames = np.arange(0, 500)
    out, covered = resample_to_grid(t, np.ones(t.size), valid, frames, GRID, 200.0, 0.2)
    time = frames / GRID
    assert covered[(time > 2.0) & (time < 2.1)].all()
    in_long_gap = (time > 5.01) & (time < 5.49)
    assert not covered[in_long_gap].any()
    assert np.isnan(out[in_long_gap]).all()
    assert covered[(time > 5.6) & (time < 9.9)].all()


def test_imu_step_lands_on_the_video_clock_after_the_offset(tmp_path):
    # The logger's clock runs 0.3 s ahead: IMU time 3.0 s is video time 2.7 s, grid frame 135.
    folder = write_session(tmp_path, imu_offset_s=0.3, imu_signal=lambda t: np.where(t >= 3.0, 5.0, 0.0))
    aligned = align_session(open_session(folder), DataConfig())
    acc_x = aligned.imu[:, 0]
    crossing = aligned.frames[np.flatnonzero(acc_x > 2.5)[0]]
    assert crossing == 135
    assert aligned.frames[0] == 0
    # The session ends where the video ends (the IMU, shifted, outlasts it).
    assert aligned.time_s[-1] == pytest.approx(179 / 30.0, abs=0.02)


def test_low_likelihood_keypoints_are_missing_not_positions(tmp_path):
    folder = write_session(tmp_path)
    pose = folder / "pose.csv"
    lines = pose.read_text().splitlines()
    # Frames 60-89 (2-3 s of video): every keypoint under threshold with garbage coordinates.
    for row in range(3 + 60, 3 + 90):
        cells = lines[row].split(",")
        for j in range(1, len(cells), 3):
            cells[j], cells[j + 1], cells[j + 2] = "9999", "-9999", "0.01"
        lines[row] = ",".join(cells)
    pose.write_text("\n".join(lines) + "\n")
    aligned = align_session(open_session(folder), DataConfig())
    time = aligned.time_s
    hidden = (time > 2.02) & (time < 2.96)
    assert not aligned.pose_mask[hidden].any()
    assert np.isnan(aligned.pose_xy[hidden]).all()
    assert aligned.pose_mask[time < 1.9].all() and aligned.pose_mask[time > 3.1].all()
    assert np.nanmax(aligned.pose_xy) < 1000


def test_labels_are_placed_on_their_frames_and_the_rest_is_unlabelled(tmp_path):
    aligned = align_session(open_session(write_session(tmp_path)), DataConfig())
    assert aligned.label_mask.sum() == 50
    walk = aligned.behaviours.index("walk")
    turn = aligned.behaviours.index("turn_left")
    labelled = aligned.frames[aligned.label_mask]
    assert labelled[0] == 10 and labelled[-1] == 59
    both = aligned.labels[:, walk].astype(bool) & aligned.labels[:, turn].astype(bool)
    assert aligned.frames[both].tolist() == list(range(20, 31))
