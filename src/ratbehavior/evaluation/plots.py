"""The figures of predict, evaluate and the benchmarks, as PNG files.

Figures are built with `matplotlib.figure.Figure`, never pyplot: no global state, no GUI backend,
so a library call cannot open a window or fight the caller's backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from ratbehavior.evaluation.bouts import runs

TARGET_F1 = 0.9


def _colour(i: int) -> tuple[float, ...]:
    return colormaps["tab20"](i % 20)


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def plot_per_behaviour_f1(per_behaviour: Mapping[str, Mapping[str, float]], path: Path, title: str = "") -> Path:
    names = list(per_behaviour)
    f1 = [per_behaviour[n]["f1"] for n in names]
    fig = Figure(figsize=(7, 0.4 * len(names) + 1.5), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(names, f1, color=[_colour(i) for i in range(len(names))])
    for i, name in enumerate(names):
        ax.text(min(f1[i], 0.98), i, f" n={per_behaviour[name].get('support', '')}", va="center", fontsize=8)
    ax.axvline(TARGET_F1, ls="--", color="k", label="target")
    ax.set(xlim=(0, 1), xlabel="F1", title=title)
    ax.invert_yaxis()
    ax.legend(loc="lower right")
    return _save(fig, path)


def plot_fold_f1(fold_f1: Mapping[str, Mapping[str, float]], path: Path) -> Path:
    """Grouped bars: macro-F1 of each held-out animal (bars) for each model (groups)."""
    models = list(fold_f1)
    animals = sorted({a for folds in fold_f1.values() for a in folds})
    width = 0.8 / max(1, len(animals))
    fig = Figure(figsize=(max(6, 1.6 * len(models)), 4), layout="constrained")
    ax = fig.add_subplot()
    for j, animal in enumerate(animals):
        values = [fold_f1[m].get(animal, np.nan) for m in models]
        ax.bar(
            np.arange(len(models)) + (j - (len(animals) - 1) / 2) * width, values, width, label=animal, color=_colour(j)
        )
    ax.axhline(TARGET_F1, ls="--", color="k", label="target")
    ax.set_xticks(np.arange(len(models)), models)
    ax.set(ylim=(0, 1), ylabel="macro-F1 of the held-out animal")
    ax.legend(ncol=len(animals) + 1, fontsize=8, loc="lower right")
    return _save(fig, path)


def cooccurrence_confusion(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """M[i, j]: share of the frames whose truth includes behaviour i that are predicted with j (the
    diagonal is recall; off the diagonal, what a behaviour is mistaken for or predicted along with).
    NaN rows for behaviours that never occur."""
    truth = np.asarray(y_true, dtype=np.float64)
    counts = truth.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (truth.T @ np.asarray(y_pred, dtype=np.float64)) / counts[:, None]


def plot_cooccurrence_confusion(y_true: np.ndarray, y_pred: np.ndarray, behaviours: Sequence[str], path: Path) -> Path:
    matrix = cooccurrence_confusion(y_true, y_pred)
    n = len(behaviours)
    fig = Figure(figsize=(0.6 * n + 3, 0.6 * n + 2), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(matrix), vmin=0, vmax=1, cmap="viridis")
    for i in range(n):
        for j in range(n):
            if np.isfinite(matrix[i, j]):
                ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="w" if matrix[i, j] < 0.5 else "k")  # fmt: skip
    ax.set_xticks(range(n), behaviours, rotation=60, ha="right")
    ax.set_yticks(range(n), behaviours)
    ax.set(xlabel="predicted", ylabel="truth", title="share of true frames predicted as")
    fig.colorbar(image, ax=ax, shrink=0.8)
    return _save(fig, path)


def plot_ethogram(
    time_s: np.ndarray,
    predicted: np.ndarray,
    behaviours: Sequence[str],
    path: Path,
    truth: np.ndarray | None = None,
    truth_mask: np.ndarray | None = None,
    title: str = "",
) -> Path:
    """One lane per behaviour; with `truth`, its upper half is the annotation (grey where nobody
    annotated) and its lower half the prediction."""
    step = float(np.median(np.diff(time_s))) if time_s.size > 1 else 0.02
    duration = float(time_s[-1] - time_s[0] + step) if time_s.size else 1.0
    fig = Figure(figsize=(float(np.clip(duration / 12, 10, 30)), 0.45 * len(behaviours) + 1.5), layout="constrained")
    ax = fig.add_subplot()

    def bars(column: np.ndarray, y: float, height: float, colour: object) -> None:
        spans = [(time_s[a], time_s[b - 1] - time_s[a] + step) for a, b in runs(column)]
        ax.broken_barh(spans, (y, height), facecolors=colour)

    # As bool: `~` on a 0/1 integer mask is bitwise and would shade every frame as unlabelled.
    annotated = np.ones(time_s.size, dtype=bool) if truth_mask is None else np.asarray(truth_mask, dtype=bool)
    for i, _ in enumerate(behaviours):
        lane = len(behaviours) - 1 - i
        if truth is None:
            bars(predicted[:, i], lane + 0.1, 0.8, _colour(i))
            continue
        bars(~annotated, lane + 0.5, 0.45, "0.88")
        bars(truth[:, i] * annotated, lane + 0.5, 0.45, _colour(i))
        bars(predicted[:, i], lane + 0.05, 0.45, _colour(i))
    ax.set_yticks(np.arange(len(behaviours)) + 0.5, list(reversed(behaviours)))
    ax.set(
        xlabel="time (s)", xlim=(time_s[0], time_s[0] + duration) if time_s.size else (0, 1), ylim=(0, len(behaviours))
    )
    ax.set_title(
        title + ("   (upper half: annotation, grey = unlabelled; lower half: prediction)" if truth is not None else "")
    )
    return _save(fig, path)
