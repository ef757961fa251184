"""Features on tiny synthetic sessions with known answers: a skeleton moved in a y-up world and
filmed by cameras (pixels, y down), and IMU signals of known tilt and frequency."""

import warnings

import numpy as np
import pytest

from ratbehavior.config import DEFAULT_BEHAVIOURS, DEFAULT_BODYPARTS
from ratbehavior.data.aligned import AlignedSession
from ratbehavior.data.features import (
    apply_normalisation,
    imu_features,
    load_features,
    pose_features,
    robust_normalise,
    save_features,
    session_features,
)  # fmt: skip
from ratbehavior.data.features.normalise import CLIP_SIGMA
from ratbehavior.data.features.timeseries import gradient
from ratbehavior.data.session import SessionMeta

GRID = 50.0
G = 9.81
META = SessionMeta(animal="R01", day=1, video_fps=30, imu_rate_hz=200)
# The skeleton in its own frame (x forward, y to the animal's left, world units), head turned left.
BODY = {
    "nose": (1.2, 0.3), "left_ear": (0.85, 0.25), "right_ear": (0.8, -0.2), "neck": (0.7, 0.0),
    "mid_back": (0.0, 0.05), "tail_base": (-0.8, 0.0), "left_forepaw": (0.6, 0.35),
    "right_forepaw": (0.55, -0.35), "left_hindpaw": (-0.5, 0.4), "right_hindpaw": (-0.55, -0.4),
    "tail_mid": (-1.4, 0.1), "tail_tip": (-2.0, -0.2),
}  # fmt: skip


def _session(xy, imu=None, parts=DEFAULT_BODYPARTS, pose_mask=None, imu_mask=None) -> AlignedSession:
    t = xy.shape[0]
    imu = np.tile([0, 0, G, 0, 0, 0], (t, 1)) if imu is None else imu
    return AlignedSession(
        session_id="s", meta=META, grid_hz=GRID, time_s=np.arange(t) / GRID, bodyparts=tuple(parts),
        pose_xy=xy.astype(np.float32), pose_likelihood=np.ones(xy.shape[:2], np.float32),
        keypoint_mask=np.isfinite(xy[..., 0]),
        pose_mask=np.ones(t, bool) if pose_mask is None else pose_mask,
        imu=imu.astype(np.float32), imu_mask=np.ones(t, bool) if imu_mask is None else imu_mask,
        behaviours=DEFAULT_BEHAVIOURS, labels=np.zeros((t, len(DEFAULT_BEHAVIOURS)), np.int8),
        label_mask=np.zeros(t, bool),
    )  # fmt: skip


def _rat(t: int = 300, turn_rate=0.0, speed=2.0, head_sway: float = 0.0, stretch: float = 0.0) -> np.ndarray:
    """(t, 12, 2) world positions (y up) of a rat moving forward at `speed` and turning at
    `turn_rate` rad/s (positive: counter-clockwise seen from above, a left turn); the head swings
    and the body stretches by the given amplitudes."""
    time = np.arange(t) / GRID
    body = np.array([BODY[p] for p in DEFAULT_BODYPARTS], dtype=np.float64)
    body = np.repeat(body[None], t, axis=0)
    body[..., 0] *= 1.0 + stretch * np.sin(2 * np.pi * 0.7 * time)[:, None]
    head = [DEFAULT_BODYPARTS.index(p) for p in ("nose", "left_ear", "right_ear")]
    sway = head_sway * np.sin(2 * np.pi * 1.3 * time)
    neck = body[:, [DEFAULT_BODYPARTS.index("neck")]]
    body[:, head] = neck + _rotate(body[:, head] - neck, sway)
    heading = np.cumsum(np.broadcast_to(turn_rate, t)) / GRID
    step = np.broadcast_to(speed, t)[:, None] * np.column_stack([np.cos(heading), np.sin(heading)]) / GRID
    return _rotate(body, heading) + np.cumsum(step, axis=0)[:, None, :]


def _rotate(points: np.ndarray, angle) -> np.ndarray:
    """Rotate (t, k, 2) points counter-clockwise by `angle` (scalar or (t,))."""
    angle = np.broadcast_to(angle, points.shape[:1])[:, None]
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * points[..., 0] - s * points[..., 1], s * points[..., 0] + c * points[..., 1]], axis=-1)


def _camera(world: np.ndarray, scale: float = 20.0, angle: float = 0.0, offset=(400.0, 300.0)) -> np.ndarray:
    """World (y up) -> image pixels (y down) of a top-down camera with its own rotation, scale and position."""
    pixels = scale * _rotate(world, angle) + np.asarray(offset)
    pixels[..., 1] = 1000.0 - pixels[..., 1]
    return pixels


def test_pose_features_do_not_depend_on_the_camera():
    world = _rat(turn_rate=0.6 + 0.8 * np.sin(np.arange(300) / 20), speed=2.0 + np.cos(np.arange(300) / 15),
                 head_sway=0.4, stretch=0.15)  # fmt: skip
    one = session_features(_session(_camera(world, 20.0, 0.0, (300.0, 200.0))))
    two = session_features(_session(_camera(world, 55.0, 2.0, (700.0, 600.0))))
    assert one.pose_names == two.pose_names
    assert np.isfinite(one.pose).all()
    # Normalised units: a robust standard deviation of each feature over the session.
    np.testing.assert_allclose(one.pose, two.pose, atol=1e-2)
    # A feature computed in pixels would not match: body length in pixels differs 2.75-fold.
    assert np.ptp(one.pose[:, one.pose_names.index("body_length")]) > 1.0


def test_signs_left_turns_and_a_head_turned_left_are_positive():
    for rate in (0.8, -0.8):
        features, names = pose_features(_session(_camera(_rat(turn_rate=rate), 20.0, 0.3)))
        # A central difference of a unit vector turning at w reads sin(w dt) / dt, 0.99997 w here.
        np.testing.assert_allclose(features[:, names.index("heading_change")], rate, rtol=1e-3)
        # mid_back sits 0.05 to the left of the path, so a left turn slows it: 2 - 0.05 w, in body lengths.
        np.testing.assert_allclose(features[:, names.index("centre_vel_forward")], (2.0 - 0.05 * rate) / 1.5, rtol=1e-3)
    column = {n: features[:, i] for i, n in enumerate(names)}
    assert (column["ego_y_nose"] > 0).all() and (column["ego_y_right_ear"] < 0).all()
    assert (column["head_body_sin"] > 0).all() and (column["head_body_cos"] > 0).all()
    np.testing.assert_allclose(column["ego_x_neck"], 0.7 / 1.5, rtol=1e-4)  # body length neck..tail_base 1.5


def test_frames_without_pose_are_nan_and_holes_are_bridged_only_inside_usable_frames():
    world = _rat(turn_rate=0.5)
    xy = _camera(world)
    mask = np.ones(300, bool)
    mask[150:180] = False
    mask[250:252] = False
    xy[~mask] = 1e4  # confident garbage where the frame's pose is unusable
    nose = DEFAULT_BODYPARTS.index("nose")
    xy[20:23, nose] = np.nan  # a short hole: bridged
    xy[100:110, nose] = np.nan  # a long hole: left missing
    xy[248:250, nose] = np.nan  # short, but it reaches unusable frames: left missing
    features, names = pose_features(_session(xy, pose_mask=mask))
    clean, _ = pose_features(_session(_camera(world)))
    assert np.isnan(features[~mask]).all()
    nose_x = features[:, names.index("ego_x_nose")]
    np.testing.assert_allclose(nose_x[20:23], clean[20:23, names.index("ego_x_nose")], atol=1e-3)
    assert np.isnan(nose_x[100:110]).all() and np.isnan(nose_x[248:250]).all()
    others = [i for i, n in enumerate(names) if "nose" not in n and "head_body" not in n]
    assert np.isfinite(features[mask][:, others]).all()
    # Next to the unusable stretch nothing sees its garbage. Derivatives there are one-sided, and
    # second differences of float32 pixels carry ~0.02 body lengths / s^2 of rounding noise.
    edges = features[[149, 180]][:, others]
    np.testing.assert_allclose(edges, clean[[149, 180]][:, others], atol=0.05)


def test_missing_bodyparts_drop_their_features_with_a_warning():
    parts = [p for p in DEFAULT_BODYPARTS if "paw" not in p]
    xy = _camera(_rat())[:, [DEFAULT_BODYPARTS.index(p) for p in parts]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, names = pose_features(_session(xy, parts=parts))
    messages = [str(w.message) for w in caught]
    assert "pose feature dist_left_forepaw_nose dropped: no left_forepaw in the bodyparts" in messages
    assert sum("paw" in m for m in messages) == 4
    assert not any("paw" in n for n in names)
    assert {"dist_nose_tail", "head_body_sin", "heading_change", "ego_x_nose"} <= set(names)


def test_the_body_axis_falls_back_to_the_ears_and_fails_clearly_without_two_points():
    parts = [p for p in DEFAULT_BODYPARTS if p != "neck"]
    xy = _camera(_rat(turn_rate=0.8))[:, [DEFAULT_BODYPARTS.index(p) for p in parts]]
    with pytest.warns(UserWarning, match="body axis tail_base -> head_centre because there is no neck in"):
        features, names = pose_features(_session(xy, parts=parts))
    np.testing.assert_allclose(features[:, names.index("heading_change")], 0.8, rtol=1e-3)
    with pytest.raises(ValueError, match="a body axis needs"):
        pose_features(_session(xy[:, :3], parts=parts[:3]))


def _imu_with_gravity(direction: np.ndarray, t: int, vibration: float = 0.5) -> np.ndarray:
    imu = np.zeros((t, 6))
    imu[:, :3] = G * np.broadcast_to(direction, (t, 3))
    imu[:, 0] += vibration * np.sin(2 * np.pi * 4 * np.arange(t) / GRID)
    return imu


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def _columns(features: np.ndarray, names: tuple[str, ...], prefix: str) -> np.ndarray:
    return features[:, [names.index(f"{prefix}_{a}") for a in "xyz"]]


def test_gravity_direction_of_a_resting_tilted_sensor_and_jerk_of_a_sinusoid():
    tilt = _unit([0.5, -0.3, 0.8])
    features, names = imu_features(_session(np.zeros((500, 12, 2)), imu=_imu_with_gravity(tilt, 500)))
    np.testing.assert_allclose(_columns(features, names, "gravity"), np.tile(tilt, (500, 1)), atol=0.01)
    w, dt = 2 * np.pi * 4, 1 / GRID
    t = np.arange(500) * dt
    # A central difference of a sampled sinusoid is its derivative scaled by sin(w dt) / (w dt).
    expected = 0.5 * w * np.cos(w * t) * np.sin(w * dt) / (w * dt)
    np.testing.assert_allclose(features[1:-1, names.index("jerk_x")], expected[1:-1], atol=1e-3)
    np.testing.assert_allclose(features[:, names.index("acc_norm")], G, atol=0.5)
    np.testing.assert_allclose(features[50:-50, names.index("dyn_acc_x")], 0.5 * np.sin(w * t[50:-50]), atol=0.05)


def test_a_long_imu_gap_does_not_leak_into_filtered_neighbours():
    before, after = _unit([0.6, 0.0, 0.8]), _unit([0.0, -0.6, 0.8])
    imu = np.concatenate([_imu_with_gravity(before, 260), _imu_with_gravity(after, 240)])
    mask = np.ones(500, bool)
    mask[200:260] = False
    mask[265:300] = False  # leaves a 5-frame run, too short to filter
    imu[~mask] = 1e6  # garbage under the mask
    features, names = imu_features(_session(np.zeros((500, 12, 2)), imu=imu, imu_mask=mask))
    gravity = _columns(features, names, "gravity")
    assert np.isnan(features[~mask]).all()
    np.testing.assert_allclose(gravity[:200], np.tile(before, (200, 1)), atol=0.01)
    np.testing.assert_allclose(gravity[300:], np.tile(after, (200, 1)), atol=0.01)
    # Gravity keeps its magnitude up to the gap, so what is left is the 0.5 m/s^2 vibration.
    dynamic = features[:, names.index("dyn_acc_norm")]
    assert dynamic[:200].max() < 0.6 and dynamic[300:].max() < 0.6
    # The short run's mean keeps part of the 4 Hz vibration (0.5 / 9.81 on x at most).
    np.testing.assert_allclose(gravity[260:265], np.tile(after, (5, 1)), atol=0.05)
    assert np.isfinite(features[mask]).all()
    # The 4 Hz vibration's jerk peaks at 0.5 * 2 pi * 4 = 12.6 m/s^3 (a little more from one-sided
    # differences at the edges of runs); differencing the garbage would give ~1e7.
    assert np.abs(features[mask, names.index("jerk_norm")]).max() < 20.0


def test_gradient_is_one_sided_at_holes_and_nan_where_undefined():
    # x = k^2 at t = k / 2 s: dx/dt = 4k, exact wherever a second-order difference fits.
    x = np.array([0.0, 1.0, 4.0, np.nan, 16.0, np.nan, 36.0, 49.0])
    np.testing.assert_allclose(gradient(x, 2.0), [0.0, 4.0, 8.0, np.nan, np.nan, np.nan, 26.0, 26.0])
    y = np.random.default_rng(0).normal(size=(20, 3, 2))
    np.testing.assert_allclose(gradient(y, GRID), np.gradient(y, 1 / GRID, axis=0, edge_order=2), atol=1e-9)


def test_normalisation_uses_valid_frames_only_and_round_trips_through_its_stats():
    rng = np.random.default_rng(1)
    x = rng.normal(5, 3, (1000, 3)).astype(np.float32)
    x[:, 1] = 7.0
    x[:, 2] = np.nan
    x[500, 0] = np.nan
    valid = np.ones(1000, bool)
    valid[:100] = False
    x[:100, :2] = 1e9  # garbage on invalid frames must not move the statistics
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        normalised, stats = robust_normalise(x, valid)
    kept = normalised[valid, 0][np.isfinite(normalised[valid, 0])]
    assert abs(np.median(kept)) < 1e-5
    q75, q25 = np.percentile(kept, [75, 25])
    assert (q75 - q25) / 1.349 == pytest.approx(1.0, rel=1e-4)
    assert stats.scale[1] == 1.0 and stats.centre[2] == 0.0 and stats.scale[2] == 1.0
    assert np.isnan(normalised[500, 0]) and np.isnan(normalised[:, 2]).all()
    np.testing.assert_array_equal(apply_normalisation(x, stats), normalised)
    # The garbage on invalid frames is a DLC-sized outlier: clipped, not carried through.
    assert (normalised[:100, 0] == CLIP_SIGMA).all()
    assert np.nanmax(np.abs(normalised)) == CLIP_SIGMA


def test_save_load_round_trip_is_exact_and_byte_stable(tmp_path):
    mask = np.ones(300, bool)
    mask[40:60] = False
    features = session_features(_session(_camera(_rat(turn_rate=0.3, head_sway=0.3)), pose_mask=mask))
    save_features(features, tmp_path / "a.npz")
    save_features(features, tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    again = load_features(tmp_path / "a.npz")
    assert (again.session_id, again.animal) == ("s", "R01")
    assert again.pose_names == features.pose_names and again.imu_names == features.imu_names
    for field in ("pose", "imu", "pose_mask", "imu_mask"):
        np.testing.assert_array_equal(getattr(again, field), getattr(features, field))
        assert getattr(again, field).dtype == getattr(features, field).dtype
