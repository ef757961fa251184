"""Robust per-session normalisation: median and IQR of valid frames, so outliers and missing frames don't move it."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

IQR_TO_SIGMA = 1.349


@dataclass(frozen=True)
class NormStats:
    centre: np.ndarray  # (F,)
    scale: np.ndarray  # (F,)


def robust_normalise(x: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, NormStats]:
    rows = x[valid]
    finite = np.isfinite(rows)
    if not finite.any():
        stats = NormStats(np.zeros(x.shape[1], np.float32), np.ones(x.shape[1], np.float32))
        return x.copy(), stats
    # A feature missing on every valid frame (e.g. a bodypart never seen) is all-NaN: no warning, scale 1.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nan_to_num(np.nanmedian(rows, axis=0))
        q75, q25 = np.nanpercentile(rows, [75, 25], axis=0)
    scale = np.nan_to_num((q75 - q25) / IQR_TO_SIGMA)
    # A constant feature (or one that is constant on most frames) keeps its unit rather than exploding.
    scale = np.where(scale > 1e-6, scale, 1.0)
    stats = NormStats(centre.astype(np.float32), scale.astype(np.float32))
    return apply_normalisation(x, stats), stats


def apply_normalisation(x: np.ndarray, stats: NormStats) -> np.ndarray:
    return ((x - stats.centre) / stats.scale).astype(np.float32)
