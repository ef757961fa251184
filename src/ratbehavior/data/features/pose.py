"""Egocentric pose features: invariant to the camera's position, rotation and pixel scale."""

from __future__ import annotations

import warnings

import numpy as np

from ratbehavior.data.aligned import AlignedSession
from ratbehavior.data.features.runs import derivative_per_run, unwrap_per_run

# Image y points down, so a counter-clockwise turn seen from above (a left turn) makes the body
# axis angle in image coordinates decrease; heading change is reported with the sign flipped so
# that left turns are positive.
_FRONT = ("neck", "nose")
_BACK = ("tail_base", "mid_back")
_CENTRE = ("mid_back", "neck", "tail_base")
MAX_HOLE_FRAMES = 5


def _first_present(parts: tuple[str, ...], options: tuple[str, ...]) -> str | None:
    return next((p for p in options if p in parts), None)


def _fill_short_holes(xy: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Interpolate keypoint holes of at most MAX_HOLE_FRAMES frames, only inside frames whose pose is usable."""
    out = xy.copy()
    t = np.arange(xy.shape[0])
    for k in range(xy.shape[1]):
        seen = np.isfinite(xy[:, k, 0])
        if seen.sum() < 2:
            continue
        before = np.maximum.accumulate(np.where(seen, t, -(10**9)))
        after = np.minimum.accumulate(np.where(seen, t, 10**9)[::-1])[::-1]
        short = ~seen & keep & (after - before - 1 <= MAX_HOLE_FRAMES) & (before >= 0) & (after < xy.shape[0])
        for c in range(2):
            out[short, k, c] = np.interp(t[short], t[seen], xy[seen, k, c])
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def pose_features(session: AlignedSession) -> tuple[np.ndarray, tuple[str, ...]]:
    """(T, F) features in body lengths and radians; NaN wherever the frame's pose is unusable."""
    parts = session.bodyparts
    front, back = _first_present(parts, _FRONT), _first_present(parts, _BACK)
    if front is None or back is None or front == back:
        raise ValueError(f"bodyparts {list(parts)}: a body axis needs one of {_FRONT} and one of {_BACK}")
    centre = _first_present(parts, _CENTRE)
    index = {p: i for i, p in enumerate(parts)}
    xy = _fill_short_holes(session.pose_xy.astype(np.float64), session.pose_mask)
    xy[~session.pose_mask] = np.nan
    axis = xy[:, index[front]] - xy[:, index[back]]
    length = np.linalg.norm(axis, axis=1)
    scale = float(np.nanmedian(length)) if np.isfinite(length).any() else 1.0
    origin = xy[:, index[centre]]
    forward = _unit(axis)
    # Left of the body in image coordinates (y down): rotate the forward vector by -90 degrees.
    left = np.stack([forward[:, 1], -forward[:, 0]], axis=1)
    rel = (xy - origin[:, None, :]) / scale
    ego_x = np.einsum("tkc,tc->tk", rel, forward)
    ego_y = np.einsum("tkc,tc->tk", rel, left)
    names: list[str] = []
    columns: list[np.ndarray] = []

    def add(name: str, values: np.ndarray) -> None:
        names.append(name)
        columns.append(values)

    for k, part in enumerate(parts):
        if part != centre:
            add(f"ego_x_{part}", ego_x[:, k])
            add(f"ego_y_{part}", ego_y[:, k])
    hz, mask = session.grid_hz, session.pose_mask
    velocity = derivative_per_run(origin, mask, hz) / scale
    speed = np.linalg.norm(velocity, axis=1)
    add("speed", speed)
    add("forward_speed", np.einsum("tc,tc->t", velocity, forward))
    add("lateral_speed", np.einsum("tc,tc->t", velocity, left))
    add("acceleration", derivative_per_run(speed, mask, hz))
    heading = unwrap_per_run(np.arctan2(forward[:, 1], forward[:, 0]), mask)
    add("heading_change", -derivative_per_run(heading, mask, hz))
    add("body_length", length / scale)
    ego_speed = np.linalg.norm(
        np.stack([derivative_per_run(ego_x, mask, hz), derivative_per_run(ego_y, mask, hz)], axis=2), axis=2
    )
    for k, part in enumerate(parts):
        if part != centre:
            add(f"ego_speed_{part}", ego_speed[:, k])
    pairs = {
        "head_body_angle": ("nose", "neck", "tail_base"),
    }
    for name, (a, b, c) in pairs.items():
        if all(p in index for p in (a, b, c)):
            head = _unit(xy[:, index[a]] - xy[:, index[b]])
            body = _unit(xy[:, index[b]] - xy[:, index[c]])
            cross = body[:, 0] * head[:, 1] - body[:, 1] * head[:, 0]
            angle = np.arctan2(cross, np.einsum("tc,tc->t", body, head))
            add(f"{name}_sin", -np.sin(angle))
            add(f"{name}_cos", np.cos(angle))
        else:
            warnings.warn(f"feature {name} dropped: needs bodyparts {a}, {b}, {c}", stacklevel=2)
    distances = {
        "nose_tail": ("nose", "tail_base"),
        "left_forepaw_nose": ("left_forepaw", "nose"),
        "right_forepaw_nose": ("right_forepaw", "nose"),
        "left_hindpaw_nose": ("left_hindpaw", "nose"),
        "right_hindpaw_nose": ("right_hindpaw", "nose"),
        "ears": ("left_ear", "right_ear"),
    }
    for name, (a, b) in distances.items():
        if a in index and b in index:
            add(f"dist_{name}", np.linalg.norm(xy[:, index[a]] - xy[:, index[b]], axis=1) / scale)
        else:
            missing = [p for p in (a, b) if p not in index]
            warnings.warn(f"feature dist_{name} dropped: bodyparts {missing} are missing", stacklevel=2)
    add("mean_likelihood", session.pose_likelihood.mean(axis=1))
    out = np.column_stack(columns).astype(np.float32)
    out[~session.pose_mask] = np.nan
    return out, tuple(names)
