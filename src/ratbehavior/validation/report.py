"""What validation found, in words a person reads: session, file, column, the expectation, what is wrong."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

# "error" fails the run; "warning" is reported and lets it pass.
Severity = Literal["error", "warning"]
# Findings about the dataset as a whole rather than one session are filed under this name.
DATASET = "(dataset)"


@dataclass(frozen=True)
class Failure:
    session: str
    file: str
    column: str | None
    expectation: str
    message: str
    severity: Severity = "error"

    def line(self) -> str:
        kind = "key" if self.file.endswith(".yaml") else "column"
        column = f" {kind} {self.column}" if self.column else ""
        return f"{self.file}{column}: {self.message} [{self.expectation}]"


def count(n: int, noun: str) -> str:
    """'1 row', '1,204 rows'."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


@dataclass
class ValidationReport:
    sessions: list[str]
    failures: list[Failure] = field(default_factory=list)
    docs_index: Path | None = None

    @property
    def errors(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == "error"]

    @property
    def warnings(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_text(self) -> str:
        verdict = "PASSED" if self.ok else "FAILED"
        lines = [
            f"validation {verdict}: {count(len(self.sessions), 'session')}, "
            f"{count(len(self.errors), 'error')}, {count(len(self.warnings), 'warning')}"
        ]
        for session in [DATASET, *self.sessions]:
            found = [f for f in self.failures if f.session == session]
            if found:
                lines.append(f"  {session}")
                lines += [f"    {f.severity.upper():7s} {f.line()}" for f in found]
        if self.docs_index is not None:
            lines.append(f"Data Docs: {self.docs_index}")
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(
            {
                "ok": self.ok, "sessions": self.sessions, "errors": len(self.errors), "warnings": len(self.warnings),
                "failures": [asdict(f) for f in self.failures],
                "docs_index": str(self.docs_index) if self.docs_index else None,
            },
            indent=2,
        )  # fmt: skip
