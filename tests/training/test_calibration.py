"""Per-behaviour calibration: Platt scaling, threshold, the smoothing window and the minimum bout chosen
on held-out frames."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ratbehavior.training.classifier import Calibration, calibrate, shortest_bouts
from tests.training.toy import toy_session

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
    older = {k: v for k, v in fitted.to_dict().items() if k not in ("window", "min_bout")}
    np.testing.assert_array_equal(Calibration.from_dict(older).window, [1, 1])
    np.testing.assert_array_equal(Calibration.from_dict(older).min_bout, [1, 1])


def _flickering(rng: np.random.Generator) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """One behaviour in bouts of 30 frames with clean logits, plus 3-frame bursts of confident false
    alarms between them (the way a gait phase can pass for a jump)."""
    logits, truth, keep = [], [], []
    for _ in range(3):
        y = np.zeros(2000, dtype=np.int8)
        for start in range(0, 2000, 100):
            y[start : start + 30] = 1
        x = 4.0 * (2.0 * y - 1) + rng.normal(0, 0.5, y.size)
        for start in rng.choice(np.arange(40, 2000 - 10, 100), size=8, replace=False):
            x[start : start + 3] = 4.0
        logits.append(x[:, None])
        truth.append(y[:, None])
        keep.append(np.ones(y.size, dtype=bool))
    return logits, truth, keep


def test_bursts_shorter_than_any_annotated_bout_are_dropped_and_longer_bouts_kept_whole():
    fitted = calibrate(*_flickering(np.random.default_rng(0)), [1], min_bouts=[1, 3, 5, 9], shortest=np.array([30]))
    assert fitted.min_bout[0] == 9, "the longest length that keeps calibration F1 at its best"
    logits, truth, _ = _flickering(np.random.default_rng(1))
    decided = np.concatenate([fitted.decide(fitted.probabilities(x)) for x in logits])
    np.testing.assert_array_equal(decided, np.concatenate(truth))
    unfiltered = calibrate(*_flickering(np.random.default_rng(0)), [1])
    assert unfiltered.min_bout[0] == 1
    assert np.concatenate([unfiltered.decide(unfiltered.probabilities(x)) for x in logits]).sum() > decided.sum()


def test_the_minimum_bout_never_exceeds_the_shortest_annotated_bout():
    capped = calibrate(*_flickering(np.random.default_rng(0)), [1], min_bouts=[1, 3, 5, 9], shortest=np.array([4]))
    assert capped.min_bout[0] == 3
    unknown = calibrate(*_flickering(np.random.default_rng(0)), [1], min_bouts=[1, 3, 5, 9], shortest=np.array([0]))
    assert unknown.min_bout[0] == 1, "no complete annotated bout: nothing to bound it, so no filtering"


def test_calibration_without_held_out_frames_keeps_the_raw_decisions_up_to_the_longest_allowed_bout():
    """Tiny datasets can leave no labelled frame to calibrate on; training must still end."""
    logits, truth, keep = _flickering(np.random.default_rng(0))
    none = [np.zeros_like(k) for k in keep]
    fitted = calibrate(logits, truth, none, [1, 5], min_bouts=[1, 3, 5], shortest=np.array([4]))
    np.testing.assert_array_equal([fitted.scale, fitted.bias, fitted.threshold, fitted.window], [[1], [0], [0.5], [1]])
    assert fitted.min_bout[0] == 3, "no frame tells the candidates apart: the longest below the annotated bouts"


def test_shortest_bouts_count_only_bouts_with_labelled_frames_on_both_sides():
    session = toy_session("A0_D0", "A0", frames=60, labelled=1.0)
    labels = np.zeros_like(session.labels)
    labels[5:9, 0] = 1  # cut by the start of the labelled stretch: not counted
    labels[20:32, 0] = 1  # 12 frames inside it
    labels[40:46, 1] = 1  # 6 frames inside it
    labels[52:55, 2] = 1  # runs into the unlabelled end
    mask = np.zeros(60, dtype=bool)
    mask[7:54] = True
    np.testing.assert_array_equal(shortest_bouts([replace(session, labels=labels, label_mask=mask)]), [12, 6, 0])
