import warnings

import numpy as np
import pytest

from ratbehavior.config import DEFAULT_BEHAVIOURS, DEFAULT_BODYPARTS
from ratbehavior.data.aligned import AlignedSession
from ratbehavior.data.features import (
    imu_features,
    load_features,
    pose_features,
    robust_normalise,
    save_features,
    session_features,
)  # fmt: skip
from ratbehavior.data.session import SessionMeta

GRID = 50.0
META = SessionMeta(animal="R01", day=1, video_fps=30, imu_rate_hz=200)


def _session(xy: np.ndarray, imu: np.ndarray | None = None, parts=DEFAULT_BODYPARTS, pose_mask=None, imu_mask=None):
    t = xy.shape[0]
    imu = np.tile([0, 0, 9.81, 0, 0, 0], (t, 1)).astype(np.float32) if imu is None else imu
    return AlignedSession(
        session_id="s", meta=META, grid_hz=GRID, time_s=np.arange(t) / GRID, bodyparts=tuple(parts),
        pose_xy=xy.astype(np.float32), pose_likelihood=np.ones(xy.shape[:2], np.float32),
        keypoint_mask=np.isfinite(xy[..., 0]),
        pose_mask=np.ones(t, bool) if pose_mask is None else pose_mask,
        imu=imu, imu_mask=np.ones(t, bool) if imu_mask is None else imu_mask,
        behaviours=DEFAULT_BEHAVIOURS, labels=np.zeros((t, len(DEFAULT_BEHAVIOURS)), np.int8),
        label_mask=np.zeros(t, bool),
    )  # fmt: skip


def _walking_rat(t: int = 200, turn_rate: float = 0.0) -> np.ndarray:
    """A body of 12 points along a line that moves forward and turns at `turn_rate` rad/s (CCW in math axes)."""
    rng = np.random.default_rng(0)
    body = np.column_stack([np.linspace(1.0, -1.5, len(DEFAULT_BODYPARTS)), rng.normal(0, 0.2, len(DEFAULT_BODYPARTS))])
    body[DEFAULT_BODYPARTS.index("nose")] = [1.2, 0.3]
    angle = turn_rate * np.arange(t) / GRID
    rot = np.stack([np.cos(angle), -np.sin(angle), np.sin(angle), np.cos(angle)], axis=1).reshape(t, 2, 2)
    centre = np.column_stack([np.arange(t) * 0.02, np.zeros(t)])
    return np.einsum("tij,kj->tki", rot, body) + centre[:, None, :]


def _to_camera(xy_math: np.ndarray, scale: float, angle: float, offset) -> np.ndarray:
    """Math axes (y up) -> image pixels (y down) under a camera rotation, scale and offset."""
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    pixels = scale * xy_math @ rot.T + np.asarray(offset)
    pixels[..., 1] *= -1
    return pixels


def test_pose_features_do_not_depend_on_the_camera():
    motion = _walking_rat(turn_rate=0.5)
    one, names = pose_features(_session(_to_camera(motion, 20.0, 0.0, (300, -200))))
    two, _ = pose_features(_session(_to_camera(motion, 55.0, 2.0, (-40, -900))))
    keep = [i for i, n in enumerate(names) if n != "mean_likelihood"]
    # float32 pixels far from the origin leave ~1e-3 noise that derivatives amplify.
    np.testing.assert_allclose(one[:, keep], two[:, keep], atol=1e-2)


def test_left_and_right_turns_have_opposite_signs():
    for rate, sign in ((0.8, 1.0), (-0.8, -1.0)):
        feats, names = pose_features(_session(_to_camera(_walking_rat(turn_rate=rate), 20.0, 0.3, (0, 0))))
        change = feats[5:-5, names.index("heading_change")]
        np.testing.assert_allclose(change, sign * 0.8, atol=1e-3)


def test_frames_without_pose_are_nan_never_zero():
    mask = np.ones(200, bool)
    mask[50:80] = False
    xy = _to_camera(_walking_rat(), 20.0, 0.0, (0, 0))
    xy[50:80] = 0.0
    feats, _ = pose_features(_session(xy, pose_mask=mask))
    assert np.isnan(feats[50:80]).all()
    assert np.isfinite(feats[mask]).all()


def test_missing_bodyparts_drop_their_features_with_a_warning():
    parts = [p for p in DEFAULT_BODYPARTS if "paw" not in p]
    index = [DEFAULT_BODYPARTS.index(p) for p in parts]
    xy = _to_camera(_walking_rat(), 20.0, 0.0, (0, 0))[:, index]
    with pytest.warns(UserWarning, match="dist_left_forepaw_nose dropped"):
        _, names = pose_features(_session(xy, parts=parts))
    assert "dist_nose_tail" in names and not any("paw" in n for n in names)
    with pytest.raises(ValueError, match="a body axis needs"):
        pose_features(_session(xy[:, :3], parts=["nose", "left_ear", "right_ear"]))


def test_gravity_direction_of_a_tilted_resting_sensor_and_jerk_of_a_sinusoid():
    t = np.arange(500) / GRID
    tilt = np.deg2rad(30)
    imu = np.zeros((500, 6), np.float32)
    imu[:, 0] = 9.81 * np.sin(tilt) + 0.5 * np.sin(2 * np.pi * 4 * t)
    imu[:, 2] = 9.81 * np.cos(tilt)
    feats, names = imu_features(_session(np.zeros((500, 12, 2)), imu=imu))
    gravity = feats[:, [names.index(f"gravity_{a}") for a in "xyz"]]
    np.testing.assert_allclose(gravity[100:400].mean(axis=0), [np.sin(tilt), 0, np.cos(tilt)], atol=0.01)
    w, dt = 2 * np.pi * 4, 1 / GRID
    # A central difference of a sampled sinusoid is its derivative scaled by sin(w dt) / (w dt).
    expected_jerk = 0.5 * w * np.cos(w * t) * np.sin(w * dt) / (w * dt)
    np.testing.assert_allclose(feats[10:-10, names.index("jerk_x")], expected_jerk[10:-10], atol=0.02)


def test_a_long_imu_gap_does_not_leak_into_filtered_neighbours():
    imu = np.tile([0, 0, 9.81, 0, 0, 0], (400, 1)).astype(np.float32)
    mask = np.ones(400, bool)
    mask[200:260] = False
    imu[200:260] = 1e6  # garbage under the mask
    feats, names = imu_features(_session(np.zeros((400, 12, 2)), imu=imu, imu_mask=mask))
    assert np.isnan(feats[200:260]).all()
    np.testing.assert_allclose(feats[mask][:, names.index("gravity_z")], 1.0, atol=1e-5)


def test_normalisation_uses_valid_frames_only():
    rng = np.random.default_rng(1)
    x = rng.normal(5, 3, (1000, 2)).astype(np.float32)
    x[:, 1] = 7.0
    valid = np.ones(1000, bool)
    valid[:100] = False
    x[:100] = 1e9
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        normalised, stats = robust_normalise(x, valid)
    assert abs(np.median(normalised[valid, 0])) < 1e-5
    q75, q25 = np.percentile(normalised[valid, 0], [75, 25])
    assert (q75 - q25) / 1.349 == pytest.approx(1.0, rel=1e-4)
    assert stats.scale[1] == 1.0


def test_save_load_round_trip(tmp_path):
    feats = session_features(_session(_to_camera(_walking_rat(), 20.0, 0.0, (0, 0))))
    save_features(feats, tmp_path / "s.npz")
    again = load_features(tmp_path / "s.npz")
    assert again.pose_names == feats.pose_names and again.animal == "R01"
    np.testing.assert_array_equal(again.pose, feats.pose)
    np.testing.assert_array_equal(again.imu_mask, feats.imu_mask)
