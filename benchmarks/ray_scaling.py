"""Wall time of one training stage as a Ray Train job with 0 (local mode), 1 and 2 workers, and Ray's
fixed cost per job.

    .venv/bin/python benchmarks/ray_scaling.py [--steps 40]

Times stage 3 (the costliest stage per step) of the default model on the demo features, with the
same global batch whatever the number of workers, once with `--steps` steps and once with one step.
Each run is two jobs (stage 3, then the classifier, which needs no stage-1/2 job here), so the
difference gives the time per step and half the one-step run bounds the fixed cost of one job
from above (it still holds one step, the classifier fit and the inference passes). Prints a table
and writes benchmarks/results/ray_scaling.json.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ratbehavior.config import load_config
from ratbehavior.data.dataset import load_feature_set
from ratbehavior.training.ray_launcher import ensure_ray, train_on_ray

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "ray_scaling.json"


def _stage3_only(steps: int, workers: int, storage: str) -> list[str]:
    return [
        "training.pretrain.epochs=0", "training.align.epochs=0", "training.finetune.epochs=1",
        f"training.finetune.steps_per_epoch={steps}", "training.pseudo_labels.rounds=0",
        f"ray.num_workers={workers}", f"ray.storage_path={storage}", "ray.local_num_cpus=2",
    ]  # fmt: skip


def main(steps: Annotated[int, typer.Option(help="Optimiser steps of the timed stage.")] = 40) -> None:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    base = load_config(REPO / "configs" / "default.yaml")
    sessions = load_feature_set(REPO / base.paths.features_dir)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as storage:
        ensure_ray(base.ray.model_copy(update={"local_num_cpus": 2}))
        for workers in (0, 1, 2):
            timings = {}
            for n in (steps, 1):
                cfg = load_config(REPO / "configs" / "default.yaml", _stage3_only(n, workers, storage))
                started = time.perf_counter()
                train_on_ray(sessions, cfg, run_name=f"w{workers}-{n}")
                timings[n] = time.perf_counter() - started
            results[str(workers)] = {
                "two_jobs_s": round(timings[steps], 1),
                "two_jobs_one_step_s": round(timings[1], 1),
                "per_step_s": round((timings[steps] - timings[1]) / (steps - 1), 3),
                "fixed_per_job_at_most_s": round(timings[1] / 2, 1),
            }
    table = Table(title=f"Stage 3 + classifier as Ray Train jobs, {steps} steps, same global batch, this machine")
    for column in ("workers", f"{steps} steps (s)", "1 step (s)", "s per step", "fixed per job <= (s)"):
        table.add_column(column)
    for workers, r in results.items():
        table.add_row(
            workers,
            *(str(r[k]) for k in ("two_jobs_s", "two_jobs_one_step_s", "per_step_s", "fixed_per_job_at_most_s")),
        )
    Console().print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"steps": steps, "cpus": os.cpu_count(), "workers": results}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    typer.run(main)
