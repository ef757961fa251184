"""Irregular or off-grid samples -> the 50 Hz grid, anti-aliased, with a coverage mask.

Gaps are bridged linearly only so that the anti-aliasing filter sees a continuous signal; every
grid frame that a gap covers is then marked missing, so the bridge never reaches the output as data.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import resample_poly


def grid_coverage(sample_t: np.ndarray, grid_t: np.ndarray, max_gap_s: float, half_period_s: float) -> np.ndarray:
    """True where a grid time lies inside a run of samples no further apart than `max_gap_s`,
    or within half a sample period of a sample (the edges of runs, isolated samples)."""
    if sample_t.size == 0:
        return np.zeros(grid_t.shape, dtype=bool)
    after = np.searchsorted(sample_t, grid_t, side="left")
    prev_t = sample_t[np.clip(after - 1, 0, None)]
    next_t = sample_t[np.clip(after, None, sample_t.size - 1)]
    has_prev, has_next = after > 0, after < sample_t.size
    bridged = has_prev & has_next & (next_t - prev_t <= max_gap_s)
    near = (has_prev & (grid_t - prev_t <= half_period_s)) | (has_next & (next_t - grid_t <= half_period_s))
    return bridged | near


def resample_to_grid(
    sample_t: np.ndarray,
    values: np.ndarray,
    valid: np.ndarray,
    grid_frames: np.ndarray,
    grid_hz: float,
    rate_hz: float,
    max_gap_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Values (n, c) at times `sample_t` -> (G, c) at `grid_frames / grid_hz`, NaN where not covered.

    Above the grid rate the signal is first interpolated onto a uniform grid `m` times finer than
    the output (aligned with it), then decimated by `resample_poly`, whose FIR is the anti-aliasing
    filter; at or below the grid rate linear interpolation is enough (upsampling cannot alias).
    """
    values = np.asarray(values, dtype=np.float64).reshape(len(sample_t), -1)
    grid_t = grid_frames / grid_hz
    out = np.full((grid_frames.size, values.shape[1]), np.nan)
    keep = valid & np.isfinite(values).all(axis=1)
    t, x = sample_t[keep], values[keep]
    covered = grid_coverage(t, grid_t, max_gap_s, 0.5 / rate_hz)
    if t.size < 2 or grid_frames.size == 0:
        if t.size == 1:
            out[covered] = x[0]
        return out, covered
    factor = max(1, math.ceil(rate_hz / grid_hz - 1e-9))
    fine_hz = factor * grid_hz
    # The fine grid starts on an output frame so that every `factor`-th fine sample is a grid frame.
    first = math.floor(min(t[0], grid_t[0]) * grid_hz) * factor
    last = math.ceil(max(t[-1], grid_t[-1]) * fine_hz)
    fine_t = np.arange(first, last + 1) / fine_hz
    fine = np.column_stack([np.interp(fine_t, t, x[:, c]) for c in range(x.shape[1])])
    coarse = resample_poly(fine, 1, factor, axis=0, padtype="line") if factor > 1 else fine
    index = grid_frames - first // factor
    out[covered] = coarse[index[covered]]
    return out, covered
