"""Great Expectations 1.x behind one small call: a table, its expectations, the failed ones back."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations import Expectation

# Turns GE's result dictionary into the sentence the user reads.
Describe = Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class Check:
    expectation: Expectation
    describe: Describe
    severity: str = "error"


@dataclass(frozen=True)
class FailedCheck:
    check: Check
    message: str

    @property
    def column(self) -> str | None:
        return getattr(self.check.expectation, "column", None)

    @property
    def name(self) -> str:
        return self.check.expectation.expectation_type


class ExpectationRunner:
    """One GE context for a whole validation: ephemeral, or a file context whose Data Docs go to `docs_dir`."""

    def __init__(self, docs_dir: Path | None) -> None:
        self.docs_dir = docs_dir
        if docs_dir is None:
            self.context = gx.get_context(mode="ephemeral")
        else:
            # GE keeps every earlier run in its stores; a report must show this run only.
            shutil.rmtree(docs_dir / "gx", ignore_errors=True)
            docs_dir.mkdir(parents=True, exist_ok=True)
            self.context = gx.get_context(mode="file", project_root_dir=docs_dir)
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.source = self.context.data_sources.add_pandas("sessions")

    def run(self, name: str, table: pd.DataFrame, checks: list[Check]) -> list[FailedCheck]:
        """Validate `table` (its index: the file's line numbers) against `checks`, named `name` in the docs."""
        asset = self.source.add_dataframe_asset(name)
        batch = asset.add_batch_definition_whole_dataframe("file")
        suite = self.context.suites.add(gx.ExpectationSuite(name=name))
        by_id = {suite.add_expectation(check.expectation).id: check for check in checks}
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(data=batch, suite=suite, name=name)
        )
        result = definition.run(batch_parameters={"dataframe": table}, result_format="SUMMARY")
        failed = []
        for outcome in result.results:
            if not outcome.success:
                check = by_id[outcome.expectation_config.id]
                failed.append(FailedCheck(check, check.describe(dict(outcome.result))))
        return failed

    def build_docs(self) -> Path | None:
        if self.docs_dir is None:
            return None
        self.context.build_data_docs()
        return self.docs_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
