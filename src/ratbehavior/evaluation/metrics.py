"""Multi-label frame metrics at 20 ms resolution, computed only on annotated frames."""

from __future__ import annotations

from collections.abc import Sequence
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
