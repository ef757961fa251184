"""Leave-one-animal-out quality of the full model and every baseline on the demo dataset, the
label-efficiency curve, and inference speed.

    .venv/bin/python benchmarks/quality.py [--only full --only rf ...] [--fraction 0.25 ...] [--jobs 2]
                                           [--seed 1 --seed 2 ...] [--results <json>]

Needs the features of the recorded data version (`make run` or `dvc repro` builds them). Each entry
is written to benchmarks/results/quality.json (or `--results`: one file per CPU kind, since runs
differ across CPUs) as soon as it is done, and each fold checkpoints under
artifacts/benchmarks/quality/, so an interrupted benchmark picks up where it stopped. `--rescore`
scores those checkpointed folds again (after a fix in prediction or scoring) and keeps the training
time measured when they were trained. `--seed` trains the chosen models again under other seeds, so
that a gap between two models can be set against how far one model moves from seed to seed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from ratbehavior.config import Config, config_hash, load_config
from ratbehavior.cpu_kernels import cpu_name
from ratbehavior.data.dataset import load_feature_set
from ratbehavior.data.versioning import read_data_version
from ratbehavior.evaluation.baselines import random_forest_loao
from ratbehavior.evaluation.loao import evaluate_loao
from ratbehavior.model.sliding import run_session
from ratbehavior.training.pipeline import train_model

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "quality.json"
WORK = REPO / "artifacts" / "benchmarks" / "quality"
# Each baseline is the full configuration with a few keys changed.
VARIANTS: dict[str, list[str]] = {
    "full": [],
    "supervised_only": [
        "training.pretrain.epochs=0", "training.align.epochs=0", "training.finetune.fixmatch_weight=0",
        "training.finetune.mixing_weight=0", "training.finetune.prototype_threshold=1.0",
        "training.pseudo_labels.rounds=0",
    ],
    "imu_only": ["training.use_pose=false"],
    "pose_only": ["training.use_imu=false"],
    "ensemble": ["training.members=2"],
}  # fmt: skip
# The ensemble's first member is the full model: it trains in the full model's fold folders, where it
# finds that member done, so its training time is its second member's alone.
FOLDERS = {"ensemble": "full"}
TARGETS = {"macro_f1": 0.90, "without_video_f1": 0.85, "inference_frames_per_s": 20_000}


def entry(summary: dict[str, Any], seconds: float) -> dict[str, Any]:
    return {
        "macro_f1": summary["macro_f1"],
        "micro_f1": summary["micro_f1"],
        "worst_animal": summary["worst_animal"],
        "worst_animal_f1": summary["worst_animal_f1"],
        "with_video_f1": summary["with_video"]["macro_f1"],
        "without_video_f1": summary["without_video"]["macro_f1"],
        "fold_f1": {a: m["macro_f1"] for a, m in summary["folds"].items()},
        "per_behaviour_f1": {b: m["f1"] for b, m in summary["pooled"]["per_behaviour"].items()},
        "fold_per_behaviour_f1": {
            a: {b: m["f1"] for b, m in fold["per_behaviour"].items()} for a, fold in summary["folds"].items()
        },
        "training_seconds": round(seconds, 1),
        "inference_frames_per_s": summary.get("inference_frames_per_s"),
        "without_video_frames": summary["without_video"]["frames"],
        # A few bouts make up the frames without video: which behaviours, on how many frames.
        "without_video_per_behaviour": {
            b: {"f1": m["f1"], "frames": m["support"]}
            for b, m in summary["without_video"]["per_behaviour"].items()
            if m["support"]
        },
        "video_hidden_f1": summary.get("video_hidden", {}).get("macro_f1"),
        "torch_threads": summary.get("torch_threads"),
        "cpu_kernels": summary.get("cpu_kernels"),
        "mkl_branch": summary.get("mkl_branch"),
        "cpu": summary.get("cpu"),
        # Per fold and stage: where two machines' runs first differ, that stage computes differently.
        "stage_digests": summary.get("stage_digests"),
        "label_share_kept": summary.get("label_share_kept"),
    }


def inference_speed(sessions: list, cfg: Config, repeats: int = 3) -> float:
    """Frames per second of the trained network over whole sessions (windows with overlap, as
    `predict` runs it), best of `repeats`, with the threads this machine has."""
    trained = train_model(sessions[:2], cfg.model_copy(update={"training": _one_step(cfg)}))
    t = cfg.training
    frames = sum(s.frames.size for s in sessions)
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        for s in sessions:
            run_session(trained.model, s, 0, t.window, t.stride, t.inference_batch)
        best = min(best, time.perf_counter() - started)
    return frames / best


def _one_step(cfg: Config):
    """Speed does not depend on how well the weights are trained: one step per stage is enough."""
    t = cfg.training
    quick = {"epochs": 1, "steps_per_epoch": 1}
    return t.model_copy(
        update={
            "pretrain": t.pretrain.model_copy(update=quick),
            "align": t.align.model_copy(update=quick),
            "finetune": t.finetune.model_copy(update=quick),
            "classifier": t.classifier.model_copy(update=quick),
            "pseudo_labels": t.pseudo_labels.model_copy(update={"rounds": 0}),
        }
    )


def _train_entry(
    sessions: list, variant: Config, workdir: Path, previous: dict[str, Any] | None, jobs: int, rescore: bool
) -> dict[str, Any]:
    started = time.perf_counter()
    run = evaluate_loao(sessions, variant, workdir, progress=True, jobs=jobs)
    seconds = time.perf_counter() - started
    # The configuration hash tells entries measured under older defaults from current ones.
    if rescore:
        if (previous or {}).get("config_hash") != config_hash(variant):
            raise typer.BadParameter(f"--rescore: nothing trained under this configuration in {workdir} to rescore")
        seconds = previous["training_seconds"]
    return entry(run.summary, seconds) | {"seed": variant.seed, "config_hash": config_hash(variant)}


def seed_spread(results: dict[str, Any], default_seed: int) -> dict[str, dict[str, Any]]:
    """Per model trained under more than one seed: its macro-F1 and F1 without video under each seed,
    their mean and sample standard deviation. Entries from before seeds were recorded ran under
    `default_seed`, the configuration's."""
    spread = {}
    for name, runs in results.get("seeds", {}).items():
        entries = {str(e.get("seed", default_seed)): e for e in [results["models"].get(name), *runs.values()] if e}
        if len(entries) < 2:
            continue
        spread[name] = {"seeds": sorted(entries, key=int)}
        for key in ("macro_f1", "without_video_f1"):
            values = np.array([entries[s][key] for s in spread[name]["seeds"]])
            spread[name][key] = {
                "values": values.tolist(), "mean": float(values.mean()), "sd": float(values.std(ddof=1))
            }  # fmt: skip
    return spread


def save(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")


def _table(results: dict[str, Any]) -> Table:
    table = Table(title="Leave-one-animal-out on the demo dataset (targets: macro-F1 >= 0.90, without video >= 0.85)")
    columns = ("model", "macro-F1", "micro-F1", "worst animal", "F1 without video", "F1 video hidden", "training s",
               "frames/s")  # fmt: skip
    for column in columns:
        table.add_column(column)
    for name, e in results["models"].items():
        fps, hidden = e.get("inference_frames_per_s"), e.get("video_hidden_f1")
        table.add_row(
            name, f"{e['macro_f1']:.3f}", f"{e['micro_f1']:.3f}", f"{e['worst_animal']} {e['worst_animal_f1']:.3f}",
            f"{e['without_video_f1']:.3f}", "" if hidden is None else f"{hidden:.3f}", f"{e['training_seconds']:.0f}",
            "" if fps is None else f"{fps:,.0f}",
        )  # fmt: skip
    return table


def main(
    config: Annotated[Path, typer.Option(help="Configuration of the full model.")] = REPO / "configs" / "default.yaml",
    only: Annotated[list[str] | None, typer.Option(help="Run only these entries (full, rf, pose_only, ...).")] = None,
    fraction: Annotated[list[float] | None, typer.Option(help="Label fractions for the curve.")] = None,
    jobs: Annotated[int, typer.Option(help="Folds trained at once, each with its share of the threads.")] = 1,
    seed: Annotated[
        list[int] | None,
        typer.Option(help="Train the chosen models under these seeds instead of the configuration's alone."),
    ] = None,
    rescore: Annotated[
        bool,
        typer.Option(
            help="Score the folds checkpointed under the same configuration again without training; "
            "the training time stays the one measured when they were trained."
        ),
    ] = False,
    results_file: Annotated[
        Path, typer.Option("--results", help="JSON to update: one per CPU kind, since runs differ across CPUs.")
    ] = RESULTS,
) -> None:
    console = Console()
    cfg = load_config(config)
    sessions = load_feature_set(REPO / cfg.paths.features_dir)
    results: dict[str, Any] = json.loads(results_file.read_text()) if results_file.is_file() else {}
    version = read_data_version(REPO)
    if results.get("data_md5") != version.md5:
        results = {}
    results.update({"data_md5": version.md5, "config": str(config.relative_to(REPO)), "targets": TARGETS})
    results.setdefault("models", {})
    results.setdefault("label_efficiency", {})
    results.setdefault("seeds", {})
    wanted = set(only or [*VARIANTS, "rf", "speed", "curve"])

    for name, overrides in VARIANTS.items():
        if name not in wanted:
            continue
        for s in seed or [cfg.seed]:
            variant = load_config(config, [*overrides, f"seed={s}"])
            # The configuration's own seed makes the model's entry; other seeds sit beside it.
            folder = FOLDERS.get(name, name)
            runs, key, workdir = (
                (results["models"], name, WORK / folder)
                if s == cfg.seed
                else (results["seeds"].setdefault(name, {}), str(s), WORK / f"{folder}-seed{s}")
            )
            runs[key] = _train_entry(sessions, variant, workdir, runs.get(key), jobs, rescore)
            save(results, results_file)
            console.print(_table(results))
    if "rf" in wanted:
        started = time.perf_counter()
        summary = random_forest_loao(sessions, seed=cfg.seed)
        results["models"]["random_forest"] = entry(summary, time.perf_counter() - started)
        save(results, results_file)
    if "speed" in wanted:
        results["inference_frames_per_s"] = inference_speed(sessions, cfg)
        ensemble = load_config(config, VARIANTS["ensemble"])
        results["ensemble_inference_frames_per_s"] = inference_speed(sessions, ensemble)
        # Speed differs more across CPUs than scores do: the figures name the CPU they were timed on.
        results["inference_cpu"] = cpu_name()
        save(results, results_file)
    if "curve" in wanted:
        for share in fraction or [0.05, 0.10, 0.25]:
            started = time.perf_counter()
            run = evaluate_loao(
                sessions, cfg, WORK / f"labels-{share:g}", label_fraction=share, progress=True, jobs=jobs
            )
            results["label_efficiency"][f"{share:g}"] = entry(run.summary, time.perf_counter() - started)
            save(results, results_file)
        if "full" in results["models"]:
            results["label_efficiency"]["1"] = results["models"]["full"]
        save(results, results_file)

    console.print(_table(results))
    if "inference_frames_per_s" in results:
        console.print(f"inference: {results['inference_frames_per_s']:,.0f} frames/s (target 20,000)")
    if "ensemble_inference_frames_per_s" in results:
        console.print(f"ensemble inference: {results['ensemble_inference_frames_per_s']:,.0f} frames/s")
    results["seed_spread"] = seed_spread(results, cfg.seed)
    save(results, results_file)
    for name, sp in results["seed_spread"].items():
        m, w = sp["macro_f1"], sp["without_video_f1"]
        console.print(
            f"{name} over seeds {', '.join(sp['seeds'])}: macro-F1 {m['mean']:.3f} ± {m['sd']:.3f} "
            f"({', '.join(f'{v:.3f}' for v in m['values'])}), without video {w['mean']:.3f} ± {w['sd']:.3f}"
        )
    for share, e in sorted(results["label_efficiency"].items(), key=lambda kv: float(kv[0])):
        console.print(f"labels {float(share):>5.0%}: macro-F1 {e['macro_f1']:.3f}, worst {e['worst_animal_f1']:.3f}")
    if results["models"]:
        from ratbehavior.evaluation.plots import plot_fold_f1

        folds = {}
        for name, model in results["models"].items():
            folds[f"{name}\nseed {cfg.seed}" if results["seeds"].get(name) else name] = model["fold_f1"]
            for s, run in sorted(results["seeds"].get(name, {}).items(), key=lambda kv: int(kv[0])):
                folds[f"{name}\nseed {s}"] = run["fold_f1"]
        plot_fold_f1(folds, results_file.with_name(f"{results_file.stem}_folds.png"))
    console.print(f"wrote {results_file}")


if __name__ == "__main__":
    typer.run(main)
