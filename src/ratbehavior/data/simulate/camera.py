"""A top-down camera and DeepLabCut's reading of it: keypoints in pixels with a lab's artefacts.

Artefacts: per-keypoint jitter that grows as likelihood falls, paws hidden under the body with
low likelihood, motion blur, left/right identity swaps, confident outliers, stretches where the
rat is out of view (garbage coordinates, likelihood near 0), and rows DeepLabCut left empty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ratbehavior.config import SimulationConfig
from ratbehavior.data.simulate.signals import episodes, smooth_noise
from ratbehavior.data.simulate.skeleton import K
from ratbehavior.data.simulate.trunk import ARENA_HALF_CM

IMAGE_SIZES = ((1280, 720), (1024, 768), (800, 600), (640, 480))
_SWAP_PAIRS = (("left_ear", "right_ear"), ("left_forepaw", "right_forepaw"), ("left_hindpaw", "right_hindpaw"))
_SWAP_ODDS = (0.3, 0.35, 0.35)
_OUT_OF_VIEW_S = (2.5, 1.0, 6.0)  # median, shortest, longest


@dataclass(frozen=True)
class Camera:
    width: int
    height: int
    scale: float  # px per cm on the floor
    angle: float  # rad, the arena's rotation in the image
    centre_px: tuple[float, float]  # where the camera axis meets the image
    axis_cm: tuple[float, float]  # where the camera axis meets the floor, arena frame
    height_cm: float  # lens above the floor


def draw_camera(rng: np.random.Generator) -> Camera:
    width, height = IMAGE_SIZES[int(rng.integers(len(IMAGE_SIZES)))]
    return Camera(
        width=width,
        height=height,
        scale=float(rng.uniform(0.82, 0.95) * min(width, height) / (2.0 * ARENA_HALF_CM)),
        angle=float(math.radians(90.0 * int(rng.integers(4)) + rng.uniform(-15.0, 15.0))),
        centre_px=(
            width / 2.0 + float(rng.uniform(-0.03, 0.03)) * width,
            height / 2.0 + float(rng.uniform(-0.03, 0.03)) * height,
        ),
        axis_cm=(float(rng.uniform(-4.0, 4.0)), float(rng.uniform(-4.0, 4.0))),
        height_cm=float(rng.uniform(120.0, 200.0)),
    )


def project(camera: Camera, points: np.ndarray) -> np.ndarray:
    """(..., 3) arena cm -> (..., 2) pixels; higher points look further from the axis (pinhole)."""
    x = points[..., 0] - camera.axis_cm[0]
    y = points[..., 1] - camera.axis_cm[1]
    magnify = camera.scale * camera.height_cm / (camera.height_cm - points[..., 2])
    c, s = math.cos(camera.angle), math.sin(camera.angle)
    u = camera.centre_px[0] + magnify * (c * x - s * y)
    v = camera.centre_px[1] - magnify * (s * x + c * y)  # image rows grow downwards
    return np.stack([u, v], axis=-1)


@dataclass(frozen=True)
class PoseTrack:
    xy: np.ndarray  # (n, K, 2) px, NaN where DeepLabCut wrote nothing
    likelihood: np.ndarray  # (n, K), NaN likewise
    out_of_view: np.ndarray  # (n,) bool, the rat was not visible (truth, for checks)


def _swap(
    xy: np.ndarray, likelihood: np.ndarray, fps: float, minutes: float, rate: float, rng: np.random.Generator
) -> None:
    n = xy.shape[0]
    for _ in range(int(rng.poisson(rate * minutes))):
        a, b = (K[name] for name in _SWAP_PAIRS[int(rng.choice(len(_SWAP_PAIRS), p=_SWAP_ODDS))])
        length = max(1, int(rng.uniform(0.1, 1.0) * fps))
        start = int(rng.integers(0, max(1, n - length)))
        sl = slice(start, start + length)
        xy[sl, [a, b]] = xy[sl, [b, a]]
        likelihood[sl, [a, b]] = likelihood[sl, [b, a]]


def film(
    points: np.ndarray,
    occlusion: np.ndarray,
    camera: Camera,
    fps: float,
    sim: SimulationConfig,
    multi_animal: bool,
    rng: np.random.Generator,
) -> PoseTrack:
    """DeepLabCut's output for the body at the video frames: `points` (n, K, 3) cm, `occlusion` (n, K)."""
    n, k = points.shape[:2]
    true_xy = project(camera, points)
    speed = np.zeros((n, k))
    speed[1:] = np.hypot(*np.moveaxis(np.diff(true_xy, axis=0), -1, 0))
    quality = float(rng.normal(0.0, 0.4))
    wobble = np.stack([smooth_noise(rng, n, 0.3 * fps) for _ in range(k)], axis=1)
    logit = 5.0 - 6.5 * occlusion + quality + 0.8 * wobble - 0.03 * speed
    likelihood = 1.0 / (1.0 + np.exp(-logit))
    sigma = sim.pose_noise_px * (1.0 + 4.0 * (1.0 - likelihood) + 0.05 * speed)
    xy = true_xy + sigma[..., None] * rng.standard_normal((n, k, 2))
    # A hidden paw is often put on another part of the body.
    lost = rng.random((n, k)) < 0.5 * (1.0 - likelihood) ** 2
    centre = true_xy[:, K["mid_back"]][:, None, :]
    xy = np.where(lost[..., None], centre + 25.0 * rng.standard_normal((n, k, 2)), xy)
    _swap(xy, likelihood, fps, n / fps / 60.0, sim.swaps_per_minute, rng)

    outlier = rng.random((n, k)) < sim.outlier_fraction
    anywhere = rng.uniform(0.0, 1.0, (n, k, 2)) * np.array([camera.width, camera.height])
    nearby = centre + 60.0 * rng.standard_normal((n, k, 2))
    xy = np.where(outlier[..., None], np.where(rng.random((n, k, 1)) < 0.5, anywhere, nearby), xy)
    likelihood = np.where(outlier, rng.uniform(0.3, 0.98, (n, k)), likelihood)

    median, low, high = _OUT_OF_VIEW_S
    hidden = episodes(
        rng, n, int(sim.out_of_frame_fraction * n), median * fps, int(low * fps), int(high * fps), int(fps)
    )
    outside = (
        (true_xy[..., 0] < 0)
        | (true_xy[..., 0] >= camera.width)
        | (true_xy[..., 1] < 0)
        | (true_xy[..., 1] >= camera.height)
    )
    gone = hidden[:, None] | outside
    # Out of view, DeepLabCut still answers: the best-looking patch of background, with no confidence.
    background = rng.uniform(0.0, 1.0, (k, 2)) * np.array([camera.width, camera.height])
    garbage = background[None] + 20.0 * rng.standard_normal((n, k, 2))
    xy = np.where(gone[..., None], garbage, xy)
    likelihood = np.where(gone, rng.beta(1.0, 40.0, (n, k)), likelihood)
    xy = np.clip(xy, 0.0, [camera.width - 1.0, camera.height - 1.0])

    empty = episodes(rng, n, round(sim.empty_frame_fraction * n), 2.0, 1, 4)
    if multi_animal:
        # maDLC drops an individual it could not assemble, and keypoints it did not detect.
        empty |= hidden & (rng.random(n) < 0.8)
        undetected = likelihood < 0.05
        xy[undetected], likelihood[undetected] = np.nan, np.nan
    xy[empty], likelihood[empty] = np.nan, np.nan
    return PoseTrack(xy, likelihood, hidden | outside.all(axis=1))
