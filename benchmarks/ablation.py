"""Which part of the semi-supervised training costs what: the full model trained again with one part
switched off at a time, on chosen leave-one-animal-out folds.

    .venv/bin/python benchmarks/ablation.py [--only no_fixmatch ...] [--animal R01 --animal R03] [--jobs 2]

A whole leave-one-animal-out run takes half an hour on 2 cores; the behaviours that fail without
video fail in two animals (R01's scratch, R03's local_search while reared), so by default only
those two folds train, at once. Results go to benchmarks/results/ablation.json, or to `--results`
(one file per CPU kind: runs differ across CPUs), each fold's per-behaviour F1 with them, and
checkpoints under artifacts/benchmarks/ablation/, so an interrupted run resumes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from quality import REPO, VARIANTS, entry, save
from rich.console import Console
from rich.table import Table

from ratbehavior.config import config_hash, load_config
from ratbehavior.data.dataset import load_feature_set
from ratbehavior.data.versioning import read_data_version
from ratbehavior.evaluation.loao import evaluate_loao

RESULTS = REPO / "benchmarks" / "results" / "ablation.json"
WORK = REPO / "artifacts" / "benchmarks" / "ablation"
# Between the two references, full and supervised-only, each entry switches off one part of what
# supervised-only lacks; the pairs at the end ask which part costs most once the pseudo-labels are off.
ABLATIONS: dict[str, list[str]] = {
    "full": VARIANTS["full"],
    "no_stages_1_2": ["training.pretrain.epochs=0", "training.align.epochs=0"],
    "no_fixmatch": ["training.finetune.fixmatch_weight=0"],
    "no_rounds": ["training.pseudo_labels.rounds=0"],
    "no_prototype_labels": ["training.finetune.prototype_threshold=1.0"],
    # Both uses of the prototypes: the pseudo-labels and FixMatch's targets.
    "no_prototypes": ["training.finetune.prototype_threshold=1.0", "training.finetune.fixmatch_threshold=1.0"],
    "no_session_mixing": ["training.finetune.mixing_weight=0"],
    "supervised_only": VARIANTS["supervised_only"],
}
ABLATIONS |= {
    f"no_prototype_labels_and_{part}": ABLATIONS["no_prototype_labels"] + ABLATIONS[f"no_{part}"]
    for part in ("stages_1_2", "session_mixing")
}
# What the table shows of frames without video: the behaviours that fail there.
WATCHED = ("local_search", "scratch", "rearing", "grooming")


def _table(results: dict[str, Any]) -> Table:
    table = Table(title=f"Ablation on folds {', '.join(results['animals'])} (seed {results['seed']})")
    for column in ("variant", "macro-F1", *results["animals"], "without video", *WATCHED, "video hidden", "s"):
        table.add_column(column)
    for name, e in results["variants"].items():
        without = e["without_video_per_behaviour"]
        table.add_row(
            name, f"{e['macro_f1']:.3f}", *(f"{e['fold_f1'][a]:.3f}" for a in results["animals"]),
            f"{e['without_video_f1']:.3f}", *(f"{without[b]['f1']:.2f}" if b in without else "" for b in WATCHED),
            f"{e['video_hidden_f1']:.3f}", f"{e['training_seconds']:.0f}",
        )  # fmt: skip
    return table


def main(
    config: Annotated[Path, typer.Option(help="Configuration of the full model.")] = REPO / "configs" / "default.yaml",
    only: Annotated[list[str] | None, typer.Option(help=f"Variants to train, of {', '.join(ABLATIONS)}.")] = None,
    animal: Annotated[list[str] | None, typer.Option(help="Held-out animals (folds) to train.")] = None,
    jobs: Annotated[int, typer.Option(help="Folds trained at once, each with its share of the threads.")] = 2,
    results_file: Annotated[
        Path, typer.Option("--results", help="JSON to update: one per CPU kind, since runs differ across CPUs.")
    ] = RESULTS,
) -> None:
    unknown = set(only or []) - set(ABLATIONS)
    if unknown:
        raise typer.BadParameter(f"unknown variants {sorted(unknown)}; known: {', '.join(ABLATIONS)}")
    console = Console()
    cfg = load_config(config)
    animals = sorted(animal or ["R01", "R03"])
    sessions = load_feature_set(REPO / cfg.paths.features_dir)
    version = read_data_version(REPO)
    results: dict[str, Any] = json.loads(results_file.read_text()) if results_file.is_file() else {}
    # Entries from other data, folds or seed do not compare with these.
    if (results.get("data_md5"), results.get("animals"), results.get("seed")) != (version.md5, animals, cfg.seed):
        results = {}
    results.update({"data_md5": version.md5, "animals": animals, "seed": cfg.seed})
    results.setdefault("variants", {})
    for name in only or ABLATIONS:
        variant = load_config(config, ABLATIONS[name])
        started = time.perf_counter()
        run = evaluate_loao(sessions, variant, WORK / name, animals=animals, progress=True, jobs=jobs)
        results["variants"][name] = entry(run.summary, time.perf_counter() - started) | {
            "overrides": ABLATIONS[name],
            "config_hash": config_hash(variant),
        }
        save(results, results_file)
        console.print(_table(results))
    console.print(f"wrote {results_file}")


if __name__ == "__main__":
    typer.run(main)
