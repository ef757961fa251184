"""`ratbehavior data ...`: make, fetch, check and featurise datasets."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ratbehavior.cli.common import ConfigOption, DataRootArgument, SetOption, build_config, user_errors

app = typer.Typer(
    help="Datasets: simulate, pull by version, validate, build features, import labels.", no_args_is_help=True
)


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Dataset root to create.")],
    config: ConfigOption = None,
    overrides: SetOption = None,
) -> None:
    """Write the simulated demo dataset (deterministic by `simulation.seed`) in the contract's formats."""
    from ratbehavior.data.simulate import simulate_dataset

    with user_errors():
        cfg = build_config(config, overrides)
        sessions = simulate_dataset(cfg.simulation, cfg.data, out)
    typer.echo(f"wrote {len(sessions)} sessions under {out / 'sessions'}")


@app.command()
def pull(repo: Annotated[Path, typer.Option(help="Repository holding data.dvc.")] = Path(".")) -> None:
    """Bring the data version recorded in data.dvc into the workspace (DVC remote, else regenerate and verify)."""
    from ratbehavior.config import load_config
    from ratbehavior.data.simulate import simulate_dataset
    from ratbehavior.data.versioning import ensure_data, read_data_version

    def regenerate(config_path: Path, out: Path) -> None:
        cfg = load_config(config_path)
        simulate_dataset(cfg.simulation, cfg.data, out)

    with user_errors():
        how = ensure_data(repo.resolve(), regenerate)
        version = read_data_version(repo.resolve())
    typer.echo(f"data {version.short} ({version.files} files, {version.size / 1e6:.1f} MB): {how}")


@app.command()
def validate(
    root: DataRootArgument,
    config: ConfigOption = None,
    overrides: SetOption = None,
    report: Annotated[Path | None, typer.Option(help="Also write the report as JSON here.")] = None,
    docs: Annotated[Path | None, typer.Option(help="Write Great Expectations Data Docs (HTML) here.")] = None,
) -> None:
    """Check every session against the data contract; exit 1 with a readable report if anything fails."""
    from ratbehavior.validation import validate_dataset

    with user_errors():
        cfg = build_config(config, overrides)
        result = validate_dataset(root, cfg.data, docs)
    typer.echo(result.to_text())
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(result.to_json())
    if not result.ok:
        raise typer.Exit(code=1)


@app.command()
def features(
    root: DataRootArgument,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for one .npz per session and a manifest.")],
    config: ConfigOption = None,
    overrides: SetOption = None,
) -> None:
    """Align every session on the 50 Hz grid and write its normalised pose and IMU features."""
    from ratbehavior.data.dataset import build_features

    with user_errors():
        cfg = build_config(config, overrides)
        manifest = build_features(root, cfg.data, out)
    typer.echo(f"features of {len(manifest['sessions'])} sessions in {out}")


class LabelFormat(StrEnum):
    caltech = "caltech"
    intervals = "intervals"


@app.command("import-labels")
def import_labels(
    source: Annotated[Path, typer.Argument(help="The annotation file to convert.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="labels.csv to write.")],
    fmt: Annotated[
        LabelFormat,
        typer.Option(
            "--format", help="caltech: Caltech Behavior Annotator .txt; intervals: a table of bouts in seconds."
        ),
    ],
    video_fps: Annotated[
        float | None, typer.Option(help="Video frame rate (caltech: its ranges are video frames).")
    ] = None,
    where: Annotated[
        list[str] | None, typer.Option(help="intervals: keep rows with column=value (repeatable).")
    ] = None,
    sep: Annotated[str | None, typer.Option(help="intervals: column separator (default: sniffed).")] = None,
    config: ConfigOption = None,
    overrides: SetOption = None,
) -> None:
    """Convert another tool's annotations into the contract's frame-wise labels.csv."""
    from ratbehavior.data.label_imports import read_caltech_annotations, read_interval_table

    with user_errors():
        cfg = build_config(config, overrides)
        if fmt is LabelFormat.caltech:
            if video_fps is None:
                raise typer.BadParameter("--video-fps is required for caltech files")
            table = read_caltech_annotations(source, video_fps, cfg.data.grid_hz, cfg.data.behaviours)
        else:
            filters = dict(item.split("=", 1) for item in where or [])
            table = read_interval_table(source, cfg.data.grid_hz, cfg.data.behaviours, where=filters, sep=sep)
    table.to_csv(out)
    typer.echo(f"wrote {len(table)} labelled frames to {out}")
