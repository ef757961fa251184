"""The 3-D rat: trunk path and posture -> the 12 keypoints, the head's orientation and the IMU's position.

Arena frame: x, y on the floor (cm, arena centre at 0), z up. Body frame: x along the spine
(pelvis to neck), y to the animal's left, z up from its back. Head frame: the same for the head,
rotated from the body by yaw, pitch (nose up positive) and roll.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from ratbehavior.config import DEFAULT_BODYPARTS
from ratbehavior.data.simulate.plan import AnimalTraits
from ratbehavior.data.simulate.posture import Posture
from ratbehavior.data.simulate.signals import SIM_HZ, apply, compose, rotation_x, rotation_y, rotation_z

KEYPOINTS: tuple[str, ...] = DEFAULT_BODYPARTS
K = {name: i for i, name in enumerate(KEYPOINTS)}
# Lengths of an adult rat (size 1.0), cm.
_SPINE = 11.0
_HEAD = 4.2
_PELVIS_HEIGHT = 3.5
_TAIL_SEGMENT = 8.5
_EAR = (0.9, 1.3, 0.9)
_IMU = (1.3, 0.0, 1.6)  # the logger sits on the skull behind the eyes
_TAIL_LAG_S = 0.4
_PAW_Z = 0.4
# Four-beat walk: left hind, left fore, right hind, right fore a quarter cycle apart.
_GAIT_OFFSET = {"left_hindpaw": 0.0, "left_forepaw": 0.5 * np.pi, "right_hindpaw": np.pi, "right_forepaw": 1.5 * np.pi}


@dataclass(frozen=True)
class Body:
    keypoints: np.ndarray  # (n, K, 3) cm, arena frame, KEYPOINTS order
    head_rotation: np.ndarray  # (n, 3, 3) head frame -> arena frame
    imu_position: np.ndarray  # (n, 3) cm
    occlusion: np.ndarray  # (n, K) in [0, 1]: how hidden from a camera above


def _vec(x: np.ndarray | float, y: np.ndarray | float, z: np.ndarray | float, n: int) -> np.ndarray:
    return np.stack([np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)) for v in (x, y, z)], axis=-1)


def _lagged(heading: np.ndarray) -> np.ndarray:
    """Heading followed with a first-order lag, as the tail follows the path."""
    alpha = 1.0 / (_TAIL_LAG_S * SIM_HZ)
    return lfilter([alpha], [1.0, alpha - 1.0], heading, zi=[(1.0 - alpha) * heading[0]])[0]


def _gait_offset(post: Posture, name: str, forward: np.ndarray, n: int) -> np.ndarray:
    """Paw travel along the heading, lifted during the swing half of its cycle."""
    paw_phase = post.gait_phase + _GAIT_OFFSET[name]
    swing = np.maximum(np.cos(paw_phase), 0.0) * np.minimum(post.stride, 1.0)
    return forward * (0.5 * post.stride * np.sin(paw_phase))[:, None] + _vec(0.0, 0.0, 0.8 * swing, n)


def build_body(
    heading: np.ndarray, position: np.ndarray, post: Posture, traits: AnimalTraits, slow_noise_tail: np.ndarray
) -> Body:
    """All inputs on the simulation grid; `position` is the trunk's middle on the floor.

    `slow_noise_tail` (unit-variance, slow) curls the tail."""
    n = heading.size
    size = traits.size
    cos_h, sin_h = np.cos(heading), np.sin(heading)
    cos_p, sin_p = np.cos(post.body_pitch), np.sin(post.body_pitch)
    x_b = np.stack([cos_p * cos_h, cos_p * sin_h, sin_p], axis=-1)
    y_b = _vec(-sin_h, cos_h, 0.0, n)
    z_b = np.stack([-sin_p * cos_h, -sin_p * sin_h, cos_p], axis=-1)
    forward = _vec(cos_h, sin_h, 0.0, n)
    up = _vec(0.0, 0.0, 1.0, n)
    body_rotation = np.stack([x_b, y_b, z_b], axis=-1)
    relative = compose(compose(rotation_z(post.head_yaw), rotation_y(-post.head_pitch)), rotation_x(post.head_roll))
    head_rotation = compose(body_rotation, relative)
    air = up * post.airborne[:, None]

    centre = _vec(position[:, 0], position[:, 1], 0.0, n)
    pelvis = centre - 0.5 * _SPINE * size * forward + up * (_PELVIS_HEIGHT * size + post.lift)[:, None] + air
    neck = pelvis + _SPINE * size * x_b + 0.8 * size * z_b
    head = neck + post.head_bob[:, None] * head_rotation[..., 2]

    def on_head(x: float | np.ndarray, y: float | np.ndarray, z: float | np.ndarray) -> np.ndarray:
        return head + apply(head_rotation, _vec(x, y, z, n) * size)

    points = np.zeros((n, len(KEYPOINTS), 3))
    points[:, K["nose"]] = on_head(_HEAD, 0.0, -0.6)
    points[:, K["left_ear"]] = on_head(_EAR[0], _EAR[1], _EAR[2])
    points[:, K["right_ear"]] = on_head(_EAR[0], -_EAR[1], _EAR[2])
    points[:, K["neck"]] = neck
    points[:, K["mid_back"]] = pelvis + 0.5 * _SPINE * size * x_b + post.arch[:, None] * z_b
    tail_base = pelvis - 1.6 * size * forward - 1.5 * size * up
    points[:, K["tail_base"]] = tail_base

    shoulder = pelvis + 0.82 * _SPINE * size * x_b
    floor_z = _PAW_Z - shoulder[:, 2] + post.airborne
    raise_w = post.fore_raise[:, None]
    snout_w = (post.fore_snout * (1.0 - post.fore_raise))[:, None]
    for name, side in (("left_forepaw", 1.0), ("right_forepaw", -1.0)):
        standing = shoulder + 1.6 * size * side * y_b + up * floor_z[:, None] + _gait_offset(post, name, forward, n)
        chest = neck - 2.2 * size * x_b + 1.2 * size * side * y_b - 1.0 * size * z_b
        mouth = on_head(_HEAD - 1.0 - 0.5 * post.stroke, 0.8 * side, -1.4 + post.stroke)
        points[:, K[name]] = standing * (1.0 - raise_w - snout_w) + chest * raise_w + mouth * snout_w

    hip = centre - 0.5 * _SPINE * size * forward + _vec(0.0, 0.0, _PAW_Z, n) + air
    for name, side, ear in (("left_hindpaw", 1.0, "left_ear"), ("right_hindpaw", -1.0, "right_ear")):
        tucked = (1.5 * size * post.sit - 0.3 * size)[:, None] * forward
        standing = hip + 2.0 * size * side * y_b + tucked + _gait_offset(post, name, forward, n)
        at_ear = points[:, K[ear]] + apply(
            head_rotation,
            _vec(-0.8 + 1.0 * np.sin(post.scratch_phase), -0.8 * side, -0.5 + 0.4 * np.cos(post.scratch_phase), n),
        )
        w = (post.hind_scratch * (post.scratch_side == side))[:, None]
        points[:, K[name]] = standing * (1.0 - w) + at_ear * w

    tail_heading = _lagged(heading) + post.tail_sway + 0.3 * slow_noise_tail
    tail_mid = tail_base + _vec(-np.cos(tail_heading), -np.sin(tail_heading), 0.0, n) * _TAIL_SEGMENT * size
    tail_mid[:, 2] = 0.6 + post.airborne
    curl = tail_heading + 0.4 * slow_noise_tail
    tail_tip = tail_mid + _vec(-np.cos(curl), -np.sin(curl), 0.0, n) * _TAIL_SEGMENT * size
    tail_tip[:, 2] = 0.4 + post.airborne
    points[:, K["tail_mid"]] = tail_mid
    points[:, K["tail_tip"]] = tail_tip

    occlusion = np.zeros((n, len(KEYPOINTS)))
    on_floor = 1.0 - post.fore_raise - post.fore_snout * (1.0 - post.fore_raise)
    for name in ("left_forepaw", "right_forepaw"):
        occlusion[:, K[name]] = 0.5 * on_floor + 0.45 * post.fore_raise + 0.3 * post.fore_snout
    for name, side in (("left_hindpaw", 1.0), ("right_hindpaw", -1.0)):
        scratching = post.hind_scratch * (post.scratch_side == side)
        occlusion[:, K[name]] = (0.45 + 0.3 * post.sit) * (1.0 - scratching) + 0.3 * scratching
    occlusion[:, K["nose"]] = 0.05 + 0.3 * post.fore_snout
    occlusion[:, K["tail_tip"]] = 0.15
    for name in ("left_ear", "right_ear", "neck", "tail_base", "tail_mid"):
        occlusion[:, K[name]] = 0.05
    imu_position = head + apply(head_rotation, _vec(*_IMU, n) * size)
    return Body(points, head_rotation, imu_position, np.clip(occlusion, 0.0, 1.0))
