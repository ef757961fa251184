"""Egocentric pose features: invariant to the camera's position, rotation and pixel scale.

Body frame: origin at the body centre (mid_back, else the middle of the body axis), x along the
body axis from its back point (tail_base) to its front point (neck), lengths in body lengths (the
session's median axis length), velocities per second. Sessions filmed by different cameras then
give the same numbers for the same movement.

Sign convention. Image rows grow downwards, so pixel coordinates are a mirror image of a y-up
world. `left` below is the forward vector turned 90 degrees counter-clockwise *as seen in the
image* (a top-down view), which is the animal's left. Every signed feature is a projection on
`left`: positive ego_y is on the animal's left, positive heading_change is a left turn, positive
head_body_sin is the head turned left. A camera filming from below the floor mirrors the image
and swaps these signs.
"""

from __future__ import annotations

import warnings

import numpy as np

from ratbehavior.data.aligned import AlignedSession
from ratbehavior.data.features.timeseries import gradient

# Longest run of missing frames of one keypoint bridged by linear interpolation (100 ms at 50 Hz):
# longer holes are real occlusions whose positions would be invented.
MAX_HOLE_FRAMES = 5
# The middle of the two ears: a head point that survives left/right ear identity swaps.
HEAD_CENTRE = "head_centre"
_HEAD_CENTRE_OF = ("left_ear", "right_ear")
_FRONT_POINTS = ("neck", HEAD_CENTRE, "nose")
_BACK_POINTS = ("tail_base", "mid_back")
_ORIGIN = "mid_back"
# Distances between two points, in body lengths.
_DISTANCES: dict[str, tuple[str, str]] = {
    "dist_nose_tail": ("nose", "tail_base"),
    "dist_left_forepaw_nose": ("left_forepaw", "nose"),
    "dist_right_forepaw_nose": ("right_forepaw", "nose"),
    "dist_left_hindpaw_head": ("left_hindpaw", HEAD_CENTRE),
    "dist_right_hindpaw_head": ("right_hindpaw", HEAD_CENTRE),
    "dist_ears": ("left_ear", "right_ear"),
}


def fill_short_holes(xy: np.ndarray, seen: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """(T, K, 2) keypoints with holes of at most MAX_HOLE_FRAMES frames linearly interpolated.

    `seen` (T, K): the keypoint is a real position; `usable` (T,): the frame's pose is usable.
    Only positions seen in usable frames count, and a hole that contains an unusable frame is
    left open, so nothing is interpolated across a stretch where the animal was not tracked.
    """
    n, k = seen.shape
    seen = seen & usable[:, None] & np.isfinite(xy).all(axis=2)
    xy = np.where(seen[..., None], xy.astype(np.float64), np.nan)
    t = np.arange(n)[:, None]
    before = np.maximum.accumulate(np.where(seen, t, -1), axis=0)
    after = np.minimum.accumulate(np.where(seen, t, n)[::-1], axis=0)[::-1]
    lo, hi = np.clip(before, 0, n - 1), np.clip(after, 0, n - 1)
    unusable_so_far = np.cumsum(~usable)
    fill = (
        ~seen & (before >= 0) & (after < n) & (after - before - 1 <= MAX_HOLE_FRAMES)
        & (unusable_so_far[hi] == unusable_so_far[lo])
    )  # fmt: skip
    weight = ((t - lo) / np.maximum(hi - lo, 1))[..., None]
    parts = np.arange(k)
    bridged = (1.0 - weight) * xy[lo, parts] + weight * xy[hi, parts]
    return np.where(fill[..., None], bridged, xy)


def _points(session: AlignedSession) -> dict[str, np.ndarray]:
    """Named (T, 2) pixel tracks: the bodyparts after hole filling, plus HEAD_CENTRE when both ears exist."""
    xy = fill_short_holes(session.pose_xy, session.keypoint_mask, session.pose_mask)
    points = {part: xy[:, k] for k, part in enumerate(session.bodyparts)}
    if all(p in points for p in _HEAD_CENTRE_OF):
        points[HEAD_CENTRE] = 0.5 * (points[_HEAD_CENTRE_OF[0]] + points[_HEAD_CENTRE_OF[1]])
    return points


def _body_axis(points: dict[str, np.ndarray], bodyparts: tuple[str, ...]) -> tuple[str, str]:
    """(front, back) points of the body axis: the first of each list of candidates that exists."""
    front = next((p for p in _FRONT_POINTS if p in points), None)
    back = next((p for p in _BACK_POINTS if p in points), None)
    if front is None or back is None:
        raise ValueError(
            f"bodyparts {list(bodyparts)}: a body axis needs a front point (neck, both ears or nose) "
            "and a back point (tail_base or mid_back)"
        )
    missing = [p for p in (_FRONT_POINTS[0], _BACK_POINTS[0]) if p not in points]
    if missing:
        warnings.warn(
            f"pose features use the body axis {back} -> {front} because there is no {' or '.join(missing)} in the "
            f"bodyparts; they are not comparable with those of sessions whose axis is {_BACK_POINTS[0]} -> "
            f"{_FRONT_POINTS[0]}",
            stacklevel=3,
        )
    return front, back


def _dropped(name: str, needs: tuple[str, ...], points: dict[str, np.ndarray]) -> bool:
    """Warn and say so when a feature needs a point that the session's bodyparts cannot give."""
    parts = [b for p in needs for b in (_HEAD_CENTRE_OF if p == HEAD_CENTRE else (p,))]
    missing = list(dict.fromkeys(b for b in parts if b not in points))
    if missing:
        warnings.warn(f"pose feature {name} dropped: no {' or '.join(missing)} in the bodyparts", stacklevel=3)
    return bool(missing)


def _unit(v: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("...c,...c->...", a, b)


def pose_features(session: AlignedSession) -> tuple[np.ndarray, tuple[str, ...]]:
    """(T, F) float32 egocentric features and their names; every feature is NaN where `pose_mask` is False."""
    points = _points(session)
    front, back = _body_axis(points, session.bodyparts)
    hz = session.grid_hz
    axis = points[front] - points[back]
    length = np.linalg.norm(axis, axis=1)
    # The median over the session cancels the pixel scale while keeping per-frame stretch (rearing).
    scale = float(np.nanmedian(length)) if np.isfinite(length).any() else 1.0
    forward = _unit(axis)
    left = np.stack([forward[:, 1], -forward[:, 0]], axis=1)
    origin = points[_ORIGIN] if _ORIGIN in points else 0.5 * (points[front] + points[back])
    features: dict[str, np.ndarray] = {}

    own = [p for p in session.bodyparts if p != _ORIGIN]
    xy = np.stack([points[p] for p in own], axis=1)
    relative = (xy - origin[:, None, :]) / scale
    ego = np.stack([_dot(relative, forward[:, None, :]), _dot(relative, left[:, None, :])], axis=2)
    for j, part in enumerate(own):
        features[f"ego_x_{part}"] = ego[:, j, 0]
        features[f"ego_y_{part}"] = ego[:, j, 1]
    ego_speed = np.linalg.norm(gradient(ego, hz), axis=2)
    for j, part in enumerate(own):
        features[f"ego_speed_{part}"] = ego_speed[:, j]

    velocity = gradient(origin, hz) / scale
    acceleration = gradient(velocity, hz)
    features["centre_speed"] = np.linalg.norm(velocity, axis=1)
    features["centre_vel_forward"] = _dot(velocity, forward)
    features["centre_vel_lateral"] = _dot(velocity, left)
    features["centre_acc"] = np.linalg.norm(acceleration, axis=1)
    features["centre_acc_forward"] = _dot(acceleration, forward)
    features["centre_acc_lateral"] = _dot(acceleration, left)
    # For a unit vector, d(forward)/dt = (turn rate) * left: no angle, so nothing to unwrap.
    features["heading_change"] = _dot(gradient(forward, hz), left)
    features["body_length"] = length / scale

    if front == "nose":
        warnings.warn("pose feature head_body_angle dropped: the body axis already ends at the nose", stacklevel=2)
    elif not _dropped("head_body_angle", ("nose",), points):
        head = _unit(points["nose"] - points[front])
        features["head_body_sin"] = _dot(head, left)
        features["head_body_cos"] = _dot(head, forward)
    for name, (a, b) in _DISTANCES.items():
        if not _dropped(name, (a, b), points):
            features[name] = np.linalg.norm(points[a] - points[b], axis=1) / scale
    features["mean_likelihood"] = session.pose_likelihood.mean(axis=1)
    features["visible_fraction"] = session.keypoint_mask.mean(axis=1)

    out = np.column_stack(list(features.values())).astype(np.float32)
    out[~session.pose_mask] = np.nan
    return out, tuple(features)
