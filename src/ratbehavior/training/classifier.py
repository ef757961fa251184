"""The MLP classifier refitted on frozen embeddings, its per-behaviour calibration and thresholds,
and the pseudo-labels it hands to the next round."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.ndimage import binary_opening, uniform_filter1d
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_curve

from ratbehavior.config import Config
from ratbehavior.data.dataset import SessionData
from ratbehavior.errors import InputError
from ratbehavior.evaluation.bouts import runs
from ratbehavior.model.ensemble import Model
from ratbehavior.model.losses import inverse_frequency_weights, masked_bce_with_logits
from ratbehavior.model.network import RatBehaviourNet
from ratbehavior.training.data import with_labels
from ratbehavior.training.distributed import shard
from ratbehavior.training.loop import EpochPlan, Losses, TrainContext, run_stage
from ratbehavior.training.stages import StageData, session_outputs

# Thresholds stay inside this range: on a handful of calibration frames the F1-optimal cut can sit
# at an extreme that no new animal would share.
THRESHOLD_RANGE = (0.05, 0.95)


@dataclass(frozen=True)
class Calibration:
    """Per behaviour: the logits averaged over a centred window of `window` frames (1: none), then
    p = sigmoid(scale * logit + bias) (Platt scaling); on when p >= threshold, in bouts of at least
    `min_bout` frames (shorter ones are dropped)."""

    scale: np.ndarray
    bias: np.ndarray
    threshold: np.ndarray
    window: np.ndarray
    min_bout: np.ndarray

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """`logits`: (T, C) of one session, frames in time order."""
        return expit(self.scale * smoothed(logits, self.window) + self.bias).astype(np.float32)

    def decide(self, probabilities: np.ndarray) -> np.ndarray:
        """`probabilities`: (T, C) of one session, frames in time order."""
        on = probabilities >= self.threshold
        kept = [_without_short_bouts(on[:, c], int(k)) for c, k in enumerate(self.min_bout)]
        return np.stack(kept, axis=1).astype(np.int8)

    def to_dict(self) -> dict[str, list[float]]:
        return {
            "scale": self.scale.tolist(), "bias": self.bias.tolist(), "threshold": self.threshold.tolist(),
            "window": self.window.tolist(), "min_bout": self.min_bout.tolist(),
        }  # fmt: skip

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> Calibration:
        scale, bias, threshold = (np.asarray(stored[k], dtype=np.float64) for k in ("scale", "bias", "threshold"))
        # Model directories written before smoothing or bout filtering existed did neither.
        window, min_bout = (
            np.asarray(stored.get(k, np.ones_like(scale)), dtype=np.int64) for k in ("window", "min_bout")
        )
        return cls(scale, bias, threshold, window, min_bout)


def smoothed(logits: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Each behaviour's logits averaged over its centred window."""
    return np.stack([_moving_average(logits[:, c], int(w)) for c, w in enumerate(window)], axis=1)


def _moving_average(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average; the session's edges repeat."""
    x = x.astype(np.float64)
    return x if width <= 1 else uniform_filter1d(x, size=width, mode="nearest")


def _without_short_bouts(on: np.ndarray, length: int) -> np.ndarray:
    """A morphological opening: runs shorter than `length` frames vanish, longer ones stay whole."""
    return on if length <= 1 else binary_opening(on, structure=np.ones(length, dtype=bool))


def shortest_bouts(sessions: Sequence[SessionData]) -> np.ndarray:
    """Per behaviour, the shortest bout the annotators marked, in frames: only bouts with labelled
    frames on both sides count, since a labelled stretch's edge cuts a bout short. 0 when none."""
    shortest = np.zeros(len(sessions[0].behaviours), dtype=np.int64)
    for s in sessions:
        labelled = np.concatenate([s.label_mask, [False]])
        for c in range(shortest.size):
            for start, stop in runs(s.labels[:, c] * s.label_mask):
                if start > 0 and labelled[start - 1] and labelled[stop]:
                    shortest[c] = stop - start if shortest[c] == 0 else min(shortest[c], stop - start)
    return shortest


def _kept(logits: Sequence[np.ndarray], keep: Sequence[np.ndarray], c: int, width: int) -> np.ndarray:
    """Behaviour c's smoothed logits on the kept frames of every session."""
    return np.concatenate([_moving_average(s[:, c], width)[k] for s, k in zip(logits, keep, strict=True)])


def _platt(logit: np.ndarray, truth: np.ndarray) -> tuple[float, float, float, float]:
    """(scale, bias, threshold, F1 at that threshold) for one behaviour; the identity, 0.5 and F1 0
    when calibration frames do not show both classes."""
    if truth.size == 0 or truth.min() == truth.max():
        return 1.0, 0.0, 0.5, 0.0
    fit = LogisticRegression(C=100.0).fit(logit[:, None], truth)
    scale, bias = float(fit.coef_[0, 0]), float(fit.intercept_[0])
    p = expit(scale * logit + bias)
    precision, recall, cuts = precision_recall_curve(truth, p)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    threshold = float(np.clip(cuts[int(np.argmax(f1))], *THRESHOLD_RANGE))
    return scale, bias, threshold, float(f1_score(truth, p >= threshold, zero_division=0))


def _min_bout(
    logits: Sequence[np.ndarray],
    truth: np.ndarray,
    keep: Sequence[np.ndarray],
    c: int,
    fit: tuple[int, float, float, float],
    lengths: Sequence[int],
) -> int:
    """Behaviour c's minimum bout among `lengths`: best F1 on the kept frames once shorter bouts are
    dropped from whole sessions; the longest of equals, because a bout shorter than any annotated
    one is noise wherever the calibration frames cannot tell (all candidates tie without any)."""
    longest_first = sorted(set(lengths) | {1}, reverse=True)
    if truth.size == 0:
        return longest_first[0]
    window, scale, bias, threshold = fit
    # Thresholded once per session; only the opening changes with the candidate length.
    on = [expit(scale * _moving_average(s[:, c], window) + bias) >= threshold for s in logits]

    def f1(length: int) -> float:
        decided = [_without_short_bouts(o, length)[k] for o, k in zip(on, keep, strict=True)]
        return float(f1_score(truth, np.concatenate(decided), zero_division=0))

    # max keeps the first of equals: the longest.
    return max(longest_first, key=f1)


def calibrate(
    logits: Sequence[np.ndarray],
    truth: Sequence[np.ndarray],
    keep: Sequence[np.ndarray],
    windows: Sequence[int],
    min_bouts: Sequence[int] = (1,),
    shortest: np.ndarray | None = None,
) -> Calibration:
    """Per behaviour, on held-out labelled frames: the smoothing window of best F1 among `windows`
    (the shortest on ties), with its Platt scaling and threshold of best F1, then the minimum bout
    among `min_bouts` (see `_min_bout`), never above the `shortest` annotated bout of the behaviour.
    `logits` are whole sessions, so that smoothing and bouts see each kept frame's neighbours; `keep`
    marks the frames scored."""
    y = np.concatenate([t[k] for t, k in zip(truth, keep, strict=True)])
    fitted = []
    for c in range(y.shape[1]):
        candidates = [(w, _platt(_kept(logits, keep, c, w), y[:, c])) for w in sorted(set(windows))]
        # max keeps the first of equals: the shortest window.
        window, (scale, bias, threshold, _) = max(candidates, key=lambda candidate: candidate[1][3])
        allowed = [k for k in min_bouts if shortest is not None and k <= shortest[c]]
        min_bout = _min_bout(logits, y[:, c], keep, c, (window, scale, bias, threshold), allowed)
        fitted.append((scale, bias, threshold, window, min_bout))
    scale, bias, threshold, window, min_bout = (np.array(column) for column in zip(*fitted, strict=True))
    return Calibration(scale, bias, threshold, window.astype(np.int64), min_bout.astype(np.int64))


def _classifier_plan(
    model: RatBehaviourNet, x: torch.Tensor, y: torch.Tensor, weights: torch.Tensor, n: int
) -> EpochPlan:
    def plan(epoch: int, generator: torch.Generator):
        def step() -> Losses:
            rows = shard(torch.multinomial(weights, n, replacement=True, generator=generator))
            logits = model.classifier(x[rows])
            loss = masked_bce_with_logits(logits, y[rows], torch.ones(rows.shape[0], dtype=torch.bool))
            return {"loss": loss}

        return step

    return plan


def fit_classifier(
    ctx: TrainContext,
    name: str,
    model: RatBehaviourNet,
    data: StageData,
    calibration: Sequence[SessionData],
    cfg: Config,
    shortest: np.ndarray,
) -> tuple[list[dict[str, float]], Calibration]:
    """Refit the classifier head alone on the frozen embeddings of the labelled frames, drawn by
    inverse class frequency, then calibrate it on the calibration frames (`shortest`: the shortest
    annotated bout of each behaviour, from real labels only)."""
    c = cfg.training.classifier
    outputs = session_outputs(model, data, data.sessions, cfg.training.inference_batch)
    used = [s.label_mask & o.valid for s, o in zip(data.sessions, outputs, strict=True)]
    x = torch.from_numpy(np.concatenate([o.embedding[u] for o, u in zip(outputs, used, strict=True)]))
    y = torch.from_numpy(np.concatenate([s.labels[u] for s, u in zip(data.sessions, used, strict=True)])).float()
    if x.shape[0] == 0:
        raise InputError("the classifier has no labelled frame to learn from")
    weights = inverse_frequency_weights(y, torch.ones(y.shape[0], dtype=torch.bool))
    model.requires_grad_(False)
    model.classifier.requires_grad_(True)
    history = run_stage(ctx, name, model, c, _classifier_plan(model, x, y, weights, c.batch_frames))
    model.unfreeze_all()
    return history, calibrate_model(model, data, calibration, cfg, shortest)


def calibrate_model(
    model: Model, data: StageData, calibration: Sequence[SessionData], cfg: Config, shortest: np.ndarray
) -> Calibration:
    """`calibrate` on the model's logits over the calibration sessions' held-out labelled frames."""
    c = cfg.training.classifier
    held = session_outputs(model, data, calibration, cfg.training.inference_batch)
    keep = [s.label_mask & o.valid for s, o in zip(calibration, held, strict=True)]
    return calibrate(
        [o.logits for o in held], [s.labels for s in calibration], keep, c.smoothing_windows, c.min_bouts, shortest
    )


def confident_pseudo_labels(
    model: RatBehaviourNet,
    data: StageData,
    calibration_sessions: Sequence[SessionData],
    calibration: Calibration,
    confidence: float,
    batch: int,
) -> tuple[list[SessionData], int]:
    """The sessions with their unlabelled frames labelled where the classifier decides every behaviour
    with at least `confidence` (p >= confidence or p <= 1 - confidence); calibration frames stay out.
    Returns the sessions and the number of pseudo-labelled frames."""
    outputs = session_outputs(model, data, data.sessions, batch)
    extended, total = [], 0
    for session, held, out in zip(data.sessions, calibration_sessions, outputs, strict=True):
        p = calibration.probabilities(out.logits)
        sure = ((p >= confidence) | (p <= 1 - confidence)).all(-1) & out.valid & ~session.label_mask & ~held.label_mask
        labels = np.where(sure[:, None], (p >= confidence).astype(session.labels.dtype), session.labels)
        extended.append(with_labels(session, labels, session.label_mask | sure))
        total += int(sure.sum())
    return extended, total
