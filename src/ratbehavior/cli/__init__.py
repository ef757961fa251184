"""The `ratbehavior` command: one typer app, one sub-command group per area."""

from __future__ import annotations

import typer

from ratbehavior.cli.data import app as data_app
from ratbehavior.cli.model import evaluate, predict, train
from ratbehavior.cli.tracking import models_app, pipeline_app, reproduce, run

app = typer.Typer(
    name="ratbehavior",
    help="Rat behaviour recognition every 20 ms from DeepLabCut keypoints and a head IMU.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")
app.command()(train)
app.command()(predict)
app.command()(evaluate)
app.command()(run)
app.command()(reproduce)
app.add_typer(models_app, name="models")
app.add_typer(pipeline_app, name="pipeline")
