"""Multi-label frame metrics at 20 ms resolution, computed only on annotated frames."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import f1_score, precision_recall_fscore_support


def frame_metrics(y_true: np.ndarray, y_pred: np.ndarray, behaviours: Sequence[str]) -> dict[str, Any]:
    """Per-behaviour precision/recall/F1 and macro/micro F1.

    Macro-F1 averages over behaviours that occur in `y_true`: a behaviour an animal never shows has
    no defined recall, and counting it as 0 or 1 would reward or punish the model for nothing.
    """
    y_true = np.asarray(y_true, dtype=np.int8)
    y_pred = np.asarray(y_pred, dtype=np.int8)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
    present = support > 0
    per_behaviour = {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(behaviours, precision, recall, f1, support, strict=True)
    }
    return {
        "frames": int(y_true.shape[0]),
        "macro_f1": float(f1[present].mean()) if present.any() else float("nan"),
        "micro_f1": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
        "per_behaviour": per_behaviour,
    }


@dataclass(frozen=True)
class FoldResult:
    """A held-out animal's annotated frames: truth, decisions, whether each frame had video, and the
    decisions on the same frames when the video is hidden throughout (the IMU alone carries them)."""

    y_true: np.ndarray  # (N, C)
    y_pred: np.ndarray  # (N, C)
    video: np.ndarray  # (N,) bool
    y_pred_video_hidden: np.ndarray | None = None  # (N, C)


def summarise_folds(folds: Mapping[str, FoldResult], behaviours: Sequence[str]) -> dict[str, Any]:
    """Leave-one-animal-out scores: macro-F1 as the mean of the folds' macro-F1 (each animal counts
    once, however much of it was labelled), the worst animal, and pooled frames with and without video.
    With decisions under hidden video for every fold, `video_hidden` scores them as `macro_f1` is scored:
    unlike the few frames that really lack video, it covers every annotated frame and behaviour."""
    per_fold = {animal: frame_metrics(f.y_true, f.y_pred, behaviours) for animal, f in folds.items()}
    fold_f1 = {animal: m["macro_f1"] for animal, m in per_fold.items()}
    y_true = np.vstack([f.y_true for f in folds.values()])
    y_pred = np.vstack([f.y_pred for f in folds.values()])
    video = np.concatenate([f.video for f in folds.values()])
    summary: dict[str, Any] = {
        "macro_f1": float(np.mean(list(fold_f1.values()))),
        "micro_f1": frame_metrics(y_true, y_pred, behaviours)["micro_f1"],
        "worst_animal": min(fold_f1, key=fold_f1.__getitem__),
        "worst_animal_f1": min(fold_f1.values()),
        "pooled": frame_metrics(y_true, y_pred, behaviours),
        "with_video": frame_metrics(y_true[video], y_pred[video], behaviours),
        "without_video": frame_metrics(y_true[~video], y_pred[~video], behaviours),
        "folds": per_fold,
    }
    hidden_video = {a: f.y_pred_video_hidden for a, f in folds.items() if f.y_pred_video_hidden is not None}
    if folds and len(hidden_video) == len(folds):
        hidden = {a: frame_metrics(folds[a].y_true, y, behaviours)["macro_f1"] for a, y in hidden_video.items()}
        summary["video_hidden"] = {"macro_f1": float(np.mean(list(hidden.values()))), "folds": hidden}
    return summary
