"""What `evaluate` leaves on disk: metrics.json and the plots people look at instead of reading it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ratbehavior.evaluation.loao import LoaoRun
from ratbehavior.evaluation.plots import plot_cooccurrence_confusion, plot_ethogram, plot_per_behaviour_f1


def write_evaluation(run: LoaoRun, out: Path, grid_hz: float) -> dict[str, Path]:
    """metrics.json (per fold, per behaviour, pooled, with and without video), per-behaviour F1, the
    co-occurrence confusion of all held-out annotated frames, and one ethogram per held-out animal
    (its first session, truth against prediction)."""
    out.mkdir(parents=True, exist_ok=True)
    written = {"metrics": out / "metrics.json"}
    written["metrics"].write_text(json.dumps(run.summary, indent=2) + "\n")
    held = [p for predictions in run.predictions.values() for p in predictions]
    behaviours = held[0].session.behaviours
    y_true = np.concatenate([p.session.labels[p.session.label_mask] for p in held])
    y_pred = np.concatenate([p.decisions[p.session.label_mask] for p in held])
    written["per_behaviour_f1"] = plot_per_behaviour_f1(
        run.summary["pooled"]["per_behaviour"],
        out / "per_behaviour_f1.png",
        title=f"leave-one-animal-out, macro-F1 {run.summary['macro_f1']:.3f}",
    )
    written["cooccurrence"] = plot_cooccurrence_confusion(y_true, y_pred, behaviours, out / "cooccurrence.png")
    for animal, predictions in run.predictions.items():
        p = predictions[0]
        written[f"ethogram_{animal}"] = plot_ethogram(
            p.session.frames / grid_hz,
            p.decisions,
            behaviours,
            out / f"ethogram_{p.session.session_id}.png",
            truth=p.session.labels,
            truth_mask=p.session.label_mask,
            title=f"{p.session.session_id} (held out)",
        )
    return written
