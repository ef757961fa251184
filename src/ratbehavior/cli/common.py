"""Options shared by several commands, declared once so their help cannot drift, and the error policy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from ratbehavior.config import Config, ConfigError, load_config
from ratbehavior.data.versioning import DataVersionError
from ratbehavior.errors import DataContractError, InputError

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML configuration (default: built-in defaults).")
]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="Override one key, e.g. --set data.likelihood_threshold=0.8 (repeatable)."),
]
DataRootArgument = Annotated[Path, typer.Argument(help="Dataset root holding sessions/<session_id>/.")]

USER_ERRORS = (DataContractError, ConfigError, DataVersionError, InputError)


def build_config(config: Path | None, overrides: list[str] | None) -> Config:
    return load_config(config, overrides or [])


@contextmanager
def user_errors() -> Iterator[None]:
    """Bad input ends the command with one line and exit code 2; anything else is a bug and keeps its traceback."""
    try:
        yield
    except USER_ERRORS as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=2) from None
