"""The MLP classifier refitted on frozen embeddings, its per-behaviour calibration and thresholds,
and the pseudo-labels it hands to the next round."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_curve

from ratbehavior.config import Config
from ratbehavior.data.dataset import SessionData
from ratbehavior.errors import InputError
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
    """p = sigmoid(scale * logit + bias) per behaviour (Platt scaling); on when p >= threshold."""

    scale: np.ndarray
    bias: np.ndarray
    threshold: np.ndarray

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        return expit(self.scale * logits + self.bias).astype(np.float32)

    def decide(self, probabilities: np.ndarray) -> np.ndarray:
        return (probabilities >= self.threshold).astype(np.int8)

    def to_dict(self) -> dict[str, list[float]]:
        return {"scale": self.scale.tolist(), "bias": self.bias.tolist(), "threshold": self.threshold.tolist()}

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> Calibration:
        return cls(*(np.asarray(stored[k], dtype=np.float64) for k in ("scale", "bias", "threshold")))


def _platt(logit: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """(scale, bias, threshold) for one behaviour; the identity and 0.5 when calibration frames
    do not show both classes."""
    if truth.size == 0 or truth.min() == truth.max():
        return 1.0, 0.0, 0.5
    fit = LogisticRegression(C=100.0).fit(logit[:, None], truth)
    scale, bias = float(fit.coef_[0, 0]), float(fit.intercept_[0])
    precision, recall, cuts = precision_recall_curve(truth, expit(scale * logit + bias))
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    return scale, bias, float(np.clip(cuts[int(np.argmax(f1))], *THRESHOLD_RANGE))


def calibrate(logits: np.ndarray, truth: np.ndarray) -> Calibration:
    """Per behaviour: Platt scaling, then the threshold of best F1, on held-out labelled frames."""
    fitted = np.array([_platt(logits[:, c], truth[:, c]) for c in range(logits.shape[1])]).reshape(-1, 3)
    return Calibration(fitted[:, 0], fitted[:, 1], fitted[:, 2])


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
) -> tuple[list[dict[str, float]], Calibration]:
    """Refit the classifier head alone on the frozen embeddings of the labelled frames, drawn by
    inverse class frequency, then calibrate it on the calibration frames."""
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
    held = session_outputs(model, data, calibration, cfg.training.inference_batch)
    keep = [s.label_mask & o.valid for s, o in zip(calibration, held, strict=True)]
    logits = np.concatenate([o.logits[k] for o, k in zip(held, keep, strict=True)])
    truth = np.concatenate([s.labels[k] for s, k in zip(calibration, keep, strict=True)])
    return history, calibrate(logits, truth)


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
