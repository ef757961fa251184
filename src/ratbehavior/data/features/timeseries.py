"""Time-series operations on the 50 Hz grid that never reach across a missing (NaN) frame."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt


def _shifted(x: np.ndarray, by: int) -> np.ndarray:
    """x[t + by] at t along axis 0, NaN where that is outside the series."""
    out = np.full_like(x, np.nan)
    if by > 0:
        out[:-by] = x[by:]
    else:
        out[-by:] = x[:by]
    return out


def gradient(x: np.ndarray, fs: float) -> np.ndarray:
    """d/dt along axis 0 of samples at `fs` Hz; on gap-free data `np.gradient(x, 1 / fs, axis=0, edge_order=2)`.

    A missing sample must not be differenced with a real one, so each sample takes the first of
    these that only uses present samples: the central difference, the second-order one-sided
    difference forward then backward, the first-order one forward then backward; NaN when none
    does or the sample itself is missing. Second order at edges keeps a smooth motion's
    derivatives (and the derivatives of those) from jumping at every gap.
    """
    x = np.asarray(x, dtype=np.float64)
    prev2, prev, after, after2 = (_shifted(x, by) for by in (-2, -1, 1, 2))
    candidates = (
        (after - prev) * (fs / 2.0),
        (-3.0 * x + 4.0 * after - after2) * (fs / 2.0),
        (3.0 * x - 4.0 * prev + prev2) * (fs / 2.0),
        (after - x) * fs,
        (x - prev) * fs,
    )
    out = np.full_like(x, np.nan)
    for candidate in reversed(candidates):
        out = np.where(np.isfinite(candidate), candidate, out)
    out[~np.isfinite(x)] = np.nan
    return out


def valid_runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], valid.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def lowpass_per_run(x: np.ndarray, valid: np.ndarray, cutoff_hz: float, fs: float, order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth low-pass along axis 0 of each run of valid frames on its own; NaN elsewhere.

    A run shorter than one period of the cutoff gets its mean: the filter cannot resolve anything
    inside it, and its edge padding would be most of what it saw. Runs are padded by mirroring
    (even) rather than filtfilt's default point reflection (odd), which pivots on the last sample
    and so lets that one noisy sample tilt the estimate at every edge of a gap.
    """
    sos = butter(order, cutoff_hz, fs=fs, output="sos")
    period = int(np.ceil(fs / cutoff_hz))
    out = np.full(x.shape, np.nan, dtype=np.float64)
    for start, stop in valid_runs(valid):
        run = np.asarray(x[start:stop], dtype=np.float64)
        if stop - start > period:
            out[start:stop] = sosfiltfilt(sos, run, axis=0, padtype="even", padlen=period)
        else:
            out[start:stop] = run.mean(axis=0)
    return out
