"""Small numeric helpers shared by the body, camera and IMU models.

Everything here is elementwise or a short fixed-order filter, never BLAS or FFT, so that the
same seed gives the same bits on any machine.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import gaussian_filter1d

SIM_HZ = 400  # the body is simulated on this grid; a multiple of the 50 Hz label grid


def smooth_noise(rng: np.random.Generator, n: int, sigma_samples: float) -> np.ndarray:
    """Gaussian-smoothed white noise of unit variance (correlation time about `sigma_samples`)."""
    white = rng.standard_normal(n)
    # White noise through a Gaussian kernel of width s keeps a variance of 1 / (2 sqrt(pi) s).
    return gaussian_filter1d(white, sigma_samples, mode="nearest") * math.sqrt(2.0 * math.sqrt(math.pi) * sigma_samples)


def slow_noise(rng: np.random.Generator, n: int, sigma_s: float) -> np.ndarray:
    """Unit-variance noise on the simulation grid that varies over `sigma_s`, made on a coarse grid to stay cheap."""
    step = max(1, int(sigma_s * SIM_HZ / 8))
    coarse = smooth_noise(rng, n // step + 2, sigma_s * SIM_HZ / step)
    # Linear interpolation leaves kinks at the knots, which the IMU would feel as acceleration spikes.
    return gaussian_filter1d(np.interp(np.arange(n) / step, np.arange(coarse.size), coarse), step, mode="nearest")


def smooth(values: np.ndarray, sigma_s: float, hz: float = SIM_HZ) -> np.ndarray:
    return gaussian_filter1d(np.asarray(values, dtype=np.float64), sigma_s * hz, axis=0, mode="nearest")


def ramp(since: np.ndarray, length: np.ndarray, rise_s: float) -> np.ndarray:
    """1 inside a bout, falling linearly to 0 over `rise_s` at both ends."""
    return np.clip(np.minimum(since, length - since) / rise_s, 0.0, 1.0)


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def phase(frequency_hz: np.ndarray, hz: float = SIM_HZ) -> np.ndarray:
    """Continuous oscillator phase (rad) for a frequency that changes over time."""
    return np.cumsum(frequency_hz) * (2.0 * math.pi / hz)


def at_times(values: np.ndarray, t0: float, hz: float, times: np.ndarray) -> np.ndarray:
    """Linear interpolation of samples on the uniform grid t0 + i / hz at arbitrary times (along axis 0)."""
    position = np.clip((times - t0) * hz, 0.0, values.shape[0] - 1.000001)
    left = np.floor(position).astype(np.int64)
    weight = (position - left).reshape((-1,) + (1,) * (values.ndim - 1))
    return values[left] * (1.0 - weight) + values[left + 1] * weight


def apply(rotation: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Rotate (n, 3) vectors by (n, 3, 3) matrices (or one (3, 3) matrix), elementwise."""
    return (
        rotation[..., 0] * vectors[..., 0, None]
        + rotation[..., 1] * vectors[..., 1, None]
        + rotation[..., 2] * vectors[..., 2, None]
    )


def transpose(rotation: np.ndarray) -> np.ndarray:
    return np.swapaxes(rotation, -1, -2)


def compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for stacks of 3x3 matrices, without BLAS."""
    return np.stack([apply(a, b[..., j]) for j in range(3)], axis=-1)


def rotation_x(angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(c), np.zeros_like(c)
    return np.stack([np.stack([one, zero, zero], -1), np.stack([zero, c, -s], -1), np.stack([zero, s, c], -1)], -2)


def rotation_y(angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(c), np.zeros_like(c)
    return np.stack([np.stack([c, zero, s], -1), np.stack([zero, one, zero], -1), np.stack([-s, zero, c], -1)], -2)


def rotation_z(angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(c), np.zeros_like(c)
    return np.stack([np.stack([c, -s, zero], -1), np.stack([s, c, zero], -1), np.stack([zero, zero, one], -1)], -2)


def random_rotation(rng: np.random.Generator, max_deg: float) -> np.ndarray:
    """A rotation about a random axis by an angle between a third of `max_deg` and `max_deg`."""
    axis = rng.standard_normal(3)
    axis /= math.sqrt(float(axis[0] ** 2 + axis[1] ** 2 + axis[2] ** 2))
    angle = math.radians(float(rng.uniform(max_deg / 3.0, max_deg)))
    k = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    # Rodrigues' formula, written out so that no matrix product goes through BLAS.
    k2 = np.stack([apply(k, k[:, j]) for j in range(3)], axis=-1)
    return np.eye(3) + math.sin(angle) * k + (1.0 - math.cos(angle)) * k2


def episodes(
    rng: np.random.Generator, n: int, total: int, median: float, low: int, high: int, gap: int = 1
) -> np.ndarray:
    """A mask of about `total` of `n` samples in disjoint runs of log-normal length (median, clipped to [low, high])."""
    mask = np.zeros(n, dtype=bool)
    covered, tries = 0, 0
    while covered < total and tries < 200 and n > high + 2 * gap:
        tries += 1
        length = int(np.clip(round(median * np.exp(0.4 * rng.standard_normal())), low, high))
        length = min(length, total - covered) if total - covered >= low else length
        start = int(rng.integers(gap, n - length - gap))
        if mask[start - gap : start + length + gap].any():
            continue
        mask[start : start + length] = True
        covered += length
    return mask
