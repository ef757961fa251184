"""Signal operations applied to each run of valid frames on its own, so nothing crosses a gap."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt


def valid_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def derivative_per_run(x: np.ndarray, mask: np.ndarray, fs: float) -> np.ndarray:
    """Time derivative; one-sided at the edges of a run, 0 for a lone frame, NaN outside runs."""
    out = np.full(x.shape, np.nan, dtype=np.float64)
    for start, stop in valid_runs(mask):
        out[start:stop] = np.gradient(x[start:stop], 1.0 / fs, axis=0) if stop - start > 1 else 0.0
    return out


def lowpass_per_run(x: np.ndarray, mask: np.ndarray, cutoff_hz: float, fs: float) -> np.ndarray:
    """Zero-phase low-pass of each run; a run too short for the filter's padding gets its mean."""
    sos = butter(2, cutoff_hz, fs=fs, output="sos")
    padlen = 3 * (2 * len(sos) + 1)
    out = np.full(x.shape, np.nan, dtype=np.float64)
    for start, stop in valid_runs(mask):
        segment = x[start:stop]
        out[start:stop] = sosfiltfilt(sos, segment, axis=0) if stop - start > padlen else segment.mean(axis=0)
    return out


def unwrap_per_run(angle: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Continuous angle within each run; a gap of unknown rotation must not join two runs."""
    out = np.full(angle.shape, np.nan, dtype=np.float64)
    for start, stop in valid_runs(mask):
        out[start:stop] = np.unwrap(angle[start:stop])
    return out
