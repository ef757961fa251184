"""`ratbehavior run | reproduce | models ...`: the tracked workflow, reproduction and the registry."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ratbehavior.cli.common import ConfigOption, SetOption, build_config, user_errors
from ratbehavior.cli.model import DataOption
from ratbehavior.errors import InputError

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from ratbehavior.config import Config
    from ratbehavior.workflow import WorkflowResult

models_app = typer.Typer(
    help="The model registry: list versions, promote to production, roll back.", no_args_is_help=True
)

OutOption = Annotated[Path, typer.Option("--out", "-o", help="Folder for the evaluation files and the model.")]
RepoOption = Annotated[Path, typer.Option("--repo", help="The project (git and DVC) the run belongs to.")]


def run(
    data: DataOption,
    out: OutOption = Path("artifacts/run"),
    config: ConfigOption = None,
    overrides: SetOption = None,
    animal: Annotated[
        list[str] | None, typer.Option("--animal", help="Only these folds (repeatable; default: every animal).")
    ] = None,
    repo: RepoOption = Path("."),
) -> None:
    """Validate, leave-one-animal-out on Ray, gate, train on all animals, register if the gate passed;
    everything recorded in MLflow."""
    from ratbehavior.workflow import run_workflow

    with user_errors():
        cfg = build_config(config, overrides)
        result = run_workflow(data, cfg, out, repo, animal or None)
    _report(result, cfg)


def _report(result: WorkflowResult, cfg: Config) -> None:
    from ratbehavior.tracking.runs import tracking_uri

    s = result.summary
    typer.echo(
        f"leave-one-animal-out: macro-F1 {s['macro_f1']:.3f}, worst animal {s['worst_animal']} "
        f"{s['worst_animal_f1']:.3f}, without video {s['without_video']['macro_f1']:.3f}"
    )
    typer.echo(f"gate: {result.gate.verdict}")
    if result.version:
        typer.echo(f"registered: {cfg.tracking.model_name} version {result.version} (alias candidate)")
    else:
        typer.echo("registered: nothing (the model stays in its run)")
    typer.echo(f"run: {result.run_id}; model directory: {result.model_dir}")
    typer.echo(f"browse: mlflow ui --backend-store-uri {tracking_uri(cfg)}")


def reproduce(
    run_id: Annotated[str, typer.Argument(help="The MLflow run to reproduce.")],
    out: OutOption = Path("artifacts/reproduce"),
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Only its tracking section is used (where runs are).")
    ] = None,
    repo: RepoOption = Path("."),
) -> None:
    """Fetch the run's data version from the DVC remote, train again with its configuration and seed,
    and compare every quality metric (exit 1 if any differs) and each fold's weights after each step."""
    from ratbehavior.tracking.reproduce import reproduce as reproduce_run

    with user_errors():
        cfg = build_config(config, None)
        reproduction = reproduce_run(run_id, cfg, repo, out / run_id)
    _report(reproduction.result, cfg)
    typer.echo(f"reproduced {run_id} as {reproduction.result.run_id}")
    for animal, step in reproduction.diverged.items():
        typer.echo(f"fold {animal}: weights first differ after {step}")
    if reproduction.exact:
        typer.echo("every quality metric is identical")
        return
    for key, (before, after) in reproduction.differences.items():
        typer.echo(f"differs: {key}: {before} -> {after}")
    raise typer.Exit(code=1)


def _client(config: Path | None) -> MlflowClient:
    import mlflow

    from ratbehavior.tracking.runs import tracking_uri

    return mlflow.MlflowClient(tracking_uri(build_config(config, None)))


TrackingConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="Configuration whose tracking section names the store.")
]


@models_app.command("list")
def list_models(
    name: Annotated[str, typer.Argument(help="Registered model name.")] = "ratbehavior",
    config: TrackingConfigOption = None,
) -> None:
    """Versions with their aliases, gate result, leave-one-animal-out metrics and data version."""
    from rich.console import Console
    from rich.table import Table

    from ratbehavior.tracking.registry import list_versions

    with user_errors():
        rows = list_versions(_client(config), name)
    table = Table(title=f"registered model {name}")
    for column in ("version", "aliases", "gate", "macro-F1", "worst animal", "without video", "data", "run"):
        table.add_column(column)
    for row in rows:
        t = row.tags
        table.add_row(
            row.version, ", ".join(row.aliases), row.gate, t.get("macro_f1", ""),
            f"{t.get('worst_animal', '')} {t.get('worst_animal_f1', '')}", t.get("without_video_f1", ""),
            t.get("data_md5", "")[:12], row.run_id,
        )  # fmt: skip
    Console(width=160).print(table)


@models_app.command()
def promote(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    version: Annotated[str, typer.Argument(help="Version to put in production.")],
    config: TrackingConfigOption = None,
) -> None:
    """Move the `production` alias to a version that passed the gate."""
    from ratbehavior.tracking.registry import promote as promote_version

    with user_errors():
        previous = promote_version(_client(config), name, version)
    typer.echo(f"{name}@production -> version {version}" + (f" (was {previous})" if previous else ""))


@models_app.command()
def rollback(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    config: TrackingConfigOption = None,
) -> None:
    """Move `production` back to the version it held before the last promotion."""
    from ratbehavior.tracking.registry import rollback as rollback_version

    with user_errors():
        version = rollback_version(_client(config), name)
    typer.echo(f"{name}@production -> version {version}")


pipeline_app = typer.Typer(help="The Kubeflow pipeline: compile, run locally, submit.", no_args_is_help=True)
ArgOption = Annotated[
    list[str] | None,
    typer.Option("--arg", "-a", help="Pipeline parameter name=value (repo, rev, config, overrides, ...; repeatable)."),
]
RoundsOption = Annotated[
    int | None, typer.Option(help="Pseudo-label rounds to unroll (compile: the pipeline's; run: the configuration's).")
]
MembersOption = Annotated[
    int | None, typer.Option(help="Ensemble members to unroll (compile: the pipeline's; run: the configuration's).")
]


def _arguments(args: list[str] | None) -> dict[str, object]:
    import json

    arguments: dict[str, object] = {}
    for item in args or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"--arg {item!r}: expected name=value")
        arguments[key] = json.loads(value) if key == "animals" else value
    return arguments


@pipeline_app.command("compile")
def compile_command(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="YAML to write (default: pipelines/training.yaml).")
    ] = None,
    rounds: RoundsOption = None,
    members: MembersOption = None,
    image: Annotated[
        str | None, typer.Option(help="Image of every component (default: ratbehavior:<version>).")
    ] = None,
) -> None:
    """Write the compiled pipeline, the file to upload in the Kubeflow UI."""
    from ratbehavior.kubeflow import COMPILED, compile_pipeline

    with user_errors():
        path = compile_pipeline(out or COMPILED, rounds, image, members)
    typer.echo(f"wrote {path}")


@pipeline_app.command("run")
def run_pipeline(args: ArgOption = None, rounds: RoundsOption = None, members: MembersOption = None) -> None:
    """Run the pipeline with Kubeflow's local runner on this machine, then report the gate and the
    registry. Rounds and members are unrolled as the configuration run asks, unless given."""
    import mlflow

    from ratbehavior.kubeflow import run_local
    from ratbehavior.steps import pipeline_config
    from ratbehavior.tracking.runs import setup_tracking, tracking_uri

    with user_errors():
        arguments = {"repo": str(Path.cwd()), **_arguments(args)}
        cfg = pipeline_config(
            str(arguments["repo"]), str(arguments.get("config", "configs/default.yaml")),
            str(arguments.get("overrides", "[]")), str(arguments.get("mlflow_uri", "")),
            str(arguments.get("ray_address", "")),
        )  # fmt: skip
        t = cfg.training
        run_local(
            arguments,
            t.pseudo_labels.rounds if rounds is None else rounds,
            t.members if members is None else members,
        )
    experiment = setup_tracking(cfg)
    (latest,) = mlflow.search_runs(
        [experiment], "tags.mlflow.parentRunId IS NULL", order_by=["start_time DESC"], max_results=1,
        output_format="list",
    )  # fmt: skip
    tags, metrics = latest.data.tags, latest.data.metrics
    typer.echo(f"run {latest.info.run_id}: leave-one-animal-out macro-F1 {metrics.get('macro_f1', float('nan')):.3f}")
    typer.echo(f"gate: {tags.get('gate', 'not run')}")
    version = tags.get("registered_version", "none")
    typer.echo(
        f"registered: {cfg.tracking.model_name} version {version}" if version.isdigit() else "registered: nothing"
    )
    typer.echo(f"browse: mlflow ui --backend-store-uri {tracking_uri(cfg)}")


@pipeline_app.command("submit")
def submit_pipeline(
    host: Annotated[str, typer.Option("--host", help="Kubeflow Pipelines endpoint URL.")],
    args: ArgOption = None,
    run_name: Annotated[str | None, typer.Option(help="Name of the Kubeflow run.")] = None,
) -> None:
    """Upload pipelines/training.yaml to a Kubeflow endpoint and start a run with these parameters."""
    from ratbehavior.kubeflow import submit

    with user_errors():
        run_id = submit(host, _arguments(args), run_name=run_name)
    typer.echo(f"started Kubeflow run {run_id} on {host}")
