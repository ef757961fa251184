"""The one error type users see: a one-line reason naming the file, the place and what was expected."""

from __future__ import annotations

from pathlib import Path


class DataContractError(ValueError):
    """Input that breaks DATA_CONTRACT.md. Its message is a single line meant for the user."""

    def __init__(self, path: Path | str, problem: str, *, where: str | None = None) -> None:
        self.path = Path(path)
        self.where = where
        self.problem = problem
        place = f"{self.path}" + (f" ({where})" if where else "")
        super().__init__(f"{place}: {problem}")


class InputError(ValueError):
    """Input other than data files that cannot be used (a model directory, a training request); one line."""
