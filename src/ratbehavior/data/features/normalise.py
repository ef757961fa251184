"""Robust per-session normalisation: median and IQR of valid frames, so outliers and missing frames don't move it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The IQR of a normal distribution is 1.349 sigma: dividing by it puts a robust scale in sigma units.
IQR_TO_SIGMA = 1.349
# Below this spread a feature is treated as constant; dividing by it would only blow up noise.
MIN_SCALE = 1e-6
# DeepLabCut swaps and outliers put motion features hundreds of sigmas out. Beyond this bound the size
# says nothing more about behaviour, and unbounded values would dominate every squared or dot-product loss.
CLIP_SIGMA = 10.0


@dataclass(frozen=True)
class NormStats:
    centre: np.ndarray  # (F,) float32
    scale: np.ndarray  # (F,) float32


def _quartiles(rows: np.ndarray) -> np.ndarray:
    """(3, F) 25th, 50th and 75th percentiles of each column's non-NaN values, NaN for a column without any.

    As `np.nanpercentile` (linear interpolation) from one sort of the whole array: nanpercentile
    works column by column once a column holds a NaN, several times slower on a session.
    """
    ordered = np.sort(rows, axis=0)  # NaN sorts last
    count = (~np.isnan(rows)).sum(axis=0)
    position = np.array([0.25, 0.5, 0.75])[:, None] * np.maximum(count - 1, 0)
    below = np.floor(position).astype(np.intp)
    lower = np.take_along_axis(ordered, below, axis=0)
    upper = np.take_along_axis(ordered, np.ceil(position).astype(np.intp), axis=0)
    quartiles = lower + (position - below) * (upper - lower)
    quartiles[:, count == 0] = np.nan
    return quartiles


def robust_normalise(x: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, NormStats]:
    """(x - median) / (IQR / 1.349) per column, both taken over the `valid` (T,) rows' non-NaN values.

    A column that is constant, or has no valid non-NaN value, gets scale 1 (and centre 0 in the
    second case). Values are clipped to +-CLIP_SIGMA. NaN stays NaN.
    """
    rows = x[valid]
    centre = np.zeros(x.shape[1])
    scale = np.ones(x.shape[1])
    if rows.shape[0]:
        q25, median, q75 = _quartiles(rows.astype(np.float64))
        centre = np.nan_to_num(median)
        spread = np.nan_to_num((q75 - q25) / IQR_TO_SIGMA)
        scale = np.where(spread > MIN_SCALE, spread, 1.0)
    stats = NormStats(centre.astype(np.float32), scale.astype(np.float32))
    return apply_normalisation(x, stats), stats


def apply_normalisation(x: np.ndarray, stats: NormStats) -> np.ndarray:
    return np.clip((x - stats.centre) / stats.scale, -CLIP_SIGMA, CLIP_SIGMA).astype(np.float32)
