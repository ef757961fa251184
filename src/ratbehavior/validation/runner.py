"""Great Expectations 1.x behind one small call: a table, its expectations, the failed ones back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations import Expectation

from ratbehavior.validation.report import Severity

# Turns GE's result dictionary into the sentence the user reads.
Describe = Callable[[dict[str, Any]], str]
SITE = "ratbehavior"
WHOLE_FILE = ""
# Every ephemeral context declares this site in a fresh temporary folder; building it would litter /tmp.
_GX_DEFAULT_SITE = "local_site"
_COLUMN_PRECONDITIONS = ("expect_column_to_exist", "expect_column_values_to_be_in_type_list")


@dataclass(frozen=True)
class Check:
    expectation: Expectation
    describe: Describe
    severity: Severity = "error"
    # The file's column(s) to name when the expectation runs on a column derived from them; WHOLE_FILE names none.
    column: str | None = None

    @property
    def reported_column(self) -> str | None:
        if self.column is None:
            return getattr(self.expectation, "column", None)
        return self.column or None


@dataclass(frozen=True)
class FailedCheck:
    check: Check
    message: str
    # GE could not evaluate the expectation (its column is missing or holds the wrong type).
    raised: bool
    # The index of every failing row, when the run asked for them.
    rows: tuple[Any, ...] = ()

    @property
    def column(self) -> str | None:
        return self.check.reported_column

    @property
    def name(self) -> str:
        return self.check.expectation.expectation_type


def _exception_message(info: dict[str, Any]) -> str | None:
    """GE 1.x reports a raised expectation either flat or keyed by metric; None when nothing raised."""
    entries = [info, *(v for v in info.values() if isinstance(v, dict))]
    return next((e.get("exception_message") or "?" for e in entries if e.get("raised_exception")), None)


def _unexplained(found: list[FailedCheck]) -> list[FailedCheck]:
    """Drops what another failure explains: a missing or mistyped column fails or stops every other check on it."""
    causes = {f.column for f in found if f.name in _COLUMN_PRECONDITIONS}
    failed = {f.column for f in found if not f.raised}
    return [
        f
        for f in found
        if f.name in _COLUMN_PRECONDITIONS or not (f.column in causes or (f.raised and f.column in failed))
    ]


class ExpectationRunner:
    """One ephemeral GE context for a whole validation; with `docs_dir`, its Data Docs site is written there."""

    def __init__(self, docs_dir: Path | None) -> None:
        # GE requires an absolute site directory; users pass paths relative to where they stand.
        self.docs_dir = docs_dir.resolve() if docs_dir is not None else None
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.context.delete_data_docs_site(_GX_DEFAULT_SITE)
        if docs_dir is not None:
            # GE's site builder removes the pages of earlier runs from this folder, so it shows this run only.
            site = {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(self.docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
            self.context.add_data_docs_site(SITE, site)  # type: ignore[arg-type]
        self.source = self.context.data_sources.add_pandas("sessions")

    def run(self, name: str, table: pd.DataFrame, checks: list[Check], every_row: bool = False) -> list[FailedCheck]:
        """Validate `table` against `checks`; `name` (unique per run) titles its page in the Data Docs.

        With `every_row`, each failure lists all its failing rows (GE's costly COMPLETE results), else a few.
        """
        batch = self.source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("file")
        # Handing GE the whole suite at once is ~20x faster than add_expectation, which re-saves the suite each time.
        suite = self.context.suites.add(gx.ExpectationSuite(name=name, expectations=[c.expectation for c in checks]))
        order = {check.expectation.id: i for i, check in enumerate(checks)}
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(data=batch, suite=suite, name=name)
        )
        result = definition.run(
            batch_parameters={"dataframe": table}, result_format="COMPLETE" if every_row else "SUMMARY"
        )
        failed: dict[int, FailedCheck] = {}
        for outcome in result.results:
            if outcome.success:
                continue
            i = order[outcome.expectation_config.id]
            error = _exception_message(outcome.exception_info or {})
            message = f"could not be checked ({error})" if error else checks[i].describe(dict(outcome.result))
            rows = outcome.result.get("unexpected_index_list") or outcome.result.get("partial_unexpected_index_list")
            failed[i] = FailedCheck(checks[i], message, raised=error is not None, rows=tuple(rows or ()))
        return _unexplained([failed[i] for i in sorted(failed)])

    def build_docs(self) -> Path | None:
        if self.docs_dir is None:
            return None
        self.context.build_data_docs(site_names=[SITE])
        return self.docs_dir / "index.html"
