"""`ratbehavior train | predict | evaluate`: the learning commands of the data contract."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ratbehavior.cli.common import ConfigOption, SetOption, build_config, user_errors
from ratbehavior.errors import InputError

DataOption = Annotated[Path, typer.Option("--data", "-d", help="Dataset root holding sessions/<session_id>/.")]


class CrossValidation(StrEnum):
    leave_one_animal_out = "leave-one-animal-out"


def train(
    data: DataOption,
    out: Annotated[Path, typer.Option("--out", "-o", help="Model directory to write.")],
    config: ConfigOption = None,
    overrides: SetOption = None,
    holdout_animal: Annotated[
        list[str] | None,
        typer.Option("--holdout-animal", help="Keep every label of this animal out of training (repeatable)."),
    ] = None,
    run_name: Annotated[
        str | None,
        typer.Option(
            help="Ray run name under ray.storage_path; rerunning it resumes (default: from --out and config)."
        ),
    ] = None,
) -> None:
    """Three stages, classifier and pseudo-label rounds, each a Ray Train job; writes a self-contained model
    directory. With ray.address set, the whole command runs on that cluster through the Ray Jobs API."""
    from ratbehavior.config import config_hash
    from ratbehavior.data.dataset import prepare_dataset
    from ratbehavior.inference import save_model_dir
    from ratbehavior.training.ray_launcher import submit_to_cluster, train_on_ray

    holdout = holdout_animal or []
    with user_errors():
        cfg = build_config(config, overrides)
        if cfg.ray.address:
            argv = ["ratbehavior", "train", "--data", str(data), "--out", str(out)]
            argv += ["--config", str(config)] if config else []
            argv += [arg for o in overrides or [] for arg in ("--set", o)] + ["--set", "ray.address=null"]
            argv += [arg for a in holdout for arg in ("--holdout-animal", a)]
            job, status, _ = submit_to_cluster(cfg.ray.address, argv)
            if status != "SUCCEEDED":
                raise InputError(f"Ray job {job} on {cfg.ray.address} ended {status}")
            typer.echo(f"Ray job {job} {status}: model written to {out} on the cluster")
            return
        sessions = prepare_dataset(data, cfg.data)
        name = run_name or f"{out.name}-{config_hash(cfg)[:8]}" + "".join(f"-{a}" for a in sorted(holdout))
        trained = train_on_ray(sessions, cfg, holdout, run_name=name, progress=True)
        save_model_dir(trained, cfg, out)
    typer.echo(f"model written to {out} ({trained.seconds:.0f} s, {len(trained.slots)} sessions)")


def predict(
    model: Annotated[str, typer.Option("--model", "-m", help="Model directory (or models:/<name>@<alias>).")],
    session: Annotated[Path, typer.Option("--session", help="Session folder (session.yaml, pose, imu).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="predictions.csv to write.")],
    adapt_steps: Annotated[
        int, typer.Option(help="Unlabelled adaptation of a new session's adapter, in optimiser steps (0: none).")
    ] = 0,
    plots: Annotated[bool, typer.Option(help="Also write the bout table and the ethogram beside --out.")] = True,
) -> None:
    """Per-frame decisions and calibrated probabilities for one session, plus a bout table and an ethogram."""
    from ratbehavior.evaluation.bouts import bout_table
    from ratbehavior.evaluation.plots import plot_ethogram
    from ratbehavior.inference import adapt_to_session, load_session_for, predict_session, resolve_model

    with user_errors():
        predictor = resolve_model(model)
        data = load_session_for(predictor, session)
        slot = adapt_to_session(predictor, data, adapt_steps) if adapt_steps > 0 else None
        prediction = predict_session(predictor, data, slot)
    grid_hz = predictor.config.data.grid_hz
    out.parent.mkdir(parents=True, exist_ok=True)
    prediction.table(grid_hz).to_csv(out, index=False)
    typer.echo(f"wrote {out} ({data.frames.size} frames)")
    if plots:
        bouts = out.with_suffix(".bouts.csv")
        bout_table(prediction.decisions, data.frames, data.behaviours, grid_hz).to_csv(bouts, index=False)
        ethogram = plot_ethogram(
            data.frames / grid_hz, prediction.decisions, data.behaviours, out.with_suffix(".ethogram.png"),
            title=data.session_id,
        )  # fmt: skip
        typer.echo(f"wrote {bouts} and {ethogram}")


def evaluate(
    data: DataOption,
    cv: Annotated[CrossValidation, typer.Option("--cv", help="Cross-validation scheme.")] = (
        CrossValidation.leave_one_animal_out
    ),
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for metrics.json and the plots.")] = Path(
        "artifacts/evaluation"
    ),
    config: ConfigOption = None,
    overrides: SetOption = None,
    animal: Annotated[
        list[str] | None, typer.Option("--animal", help="Only these folds (repeatable; default: every animal).")
    ] = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs", min=1, help="Folds trained at once, each in its own process with its share of the threads."
        ),
    ] = 1,
) -> None:
    """For each animal: train without its labels, score its annotated frames; JSON and plots in --out."""
    from ratbehavior.data.dataset import prepare_dataset
    from ratbehavior.evaluation.loao import evaluate_loao
    from ratbehavior.evaluation.report import write_evaluation

    with user_errors():
        cfg = build_config(config, overrides)
        sessions = prepare_dataset(data, cfg.data)
        run = evaluate_loao(sessions, cfg, out / "folds", animal or None, progress=True, jobs=jobs)
        write_evaluation(run, out, cfg.data.grid_hz)
    s = run.summary
    typer.echo(
        f"{cv.value}: macro-F1 {s['macro_f1']:.3f}, micro-F1 {s['micro_f1']:.3f}, worst animal {s['worst_animal']} "
        f"{s['worst_animal_f1']:.3f}, without video {s['without_video']['macro_f1']:.3f}, "
        f"video hidden {s['video_hidden']['macro_f1']:.3f}"
    )
    typer.echo(f"wrote {out / 'metrics.json'}")
