"""Per-behaviour calibration: Platt scaling, threshold and the smoothing window chosen on held-out frames."""

from __future__ import annotations

import numpy as np

from ratbehavior.training.classifier import Calibration, calibrate

WINDOWS = [1, 5, 11, 25]


def _bouts(rng: np.random.Generator, n: int, mean_length: int) -> np.ndarray:
    """0/1 frames in bouts of about `mean_length` frames."""
    lengths = rng.geometric(1.0 / mean_length, size=n)
    return (np.repeat(np.arange(lengths.size) % 2, lengths)[:n]).astype(np.int8)


def _sessions(rng: np.random.Generator) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Two behaviours: long bouts seen through heavy per-frame noise, and frames that switch
    independently from one frame to the next with clean logits."""
    logits, truth, keep = [], [], []
    for _ in range(3):
        n = 3000
        y = np.stack([_bouts(rng, n, 100), rng.integers(0, 2, n).astype(np.int8)], axis=1)
        x = np.stack([(2 * y[:, 0] - 1) + rng.normal(0, 3.0, n), 4.0 * (2 * y[:, 1] - 1) + rng.normal(0, 1.0, n)], 1)
        logits.append(x)
        truth.append(y)
        keep.append(rng.random(n) < 0.5)
    return logits, truth, keep


def _f1(calibration: Calibration, logits: list[np.ndarray], truth: list[np.ndarray], c: int) -> float:
    decided = np.concatenate([calibration.decide(calibration.probabilities(x))[:, c] for x in logits])
    y = np.concatenate([t[:, c] for t in truth])
    tp = int((decided & y).sum())
    return 2 * tp / max(int(decided.sum() + y.sum()), 1)


def test_smoothing_is_chosen_only_where_it_helps_and_carries_to_unseen_sessions():
    rng = np.random.default_rng(0)
    fitted = calibrate(*_sessions(rng), WINDOWS)
    unsmoothed = calibrate(*_sessions(np.random.default_rng(0)), [1])
    assert fitted.window[0] > 1, "noisy long bouts should be smoothed"
    assert fitted.window[1] == 1, "independent frames must not be smoothed"
    logits, truth, _ = _sessions(np.random.default_rng(1))
    assert _f1(fitted, logits, truth, 0) > _f1(unsmoothed, logits, truth, 0) + 0.05
    assert _f1(fitted, logits, truth, 1) > 0.95


def test_calibration_round_trips_and_older_model_directories_load_unsmoothed():
    fitted = calibrate(*_sessions(np.random.default_rng(2)), WINDOWS)
    again = Calibration.from_dict(fitted.to_dict())
    np.testing.assert_array_equal(again.window, fitted.window)
    np.testing.assert_allclose(again.threshold, fitted.threshold)
    older = {k: v for k, v in fitted.to_dict().items() if k != "window"}
    np.testing.assert_array_equal(Calibration.from_dict(older).window, [1, 1])
