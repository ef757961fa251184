"""What validation found, in words a person reads: session, file, column, the expectation, what is wrong."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from itertools import groupby
from pathlib import Path


@dataclass(frozen=True)
class Failure:
    session: str
    file: str
    column: str | None
    expectation: str
    message: str
    severity: str = "error"  # "error" fails the run, "warning" is reported only

    def line(self) -> str:
        column = f" column {self.column}" if self.column else ""
        return f"{self.file}{column}: {self.message} [{self.expectation}]"


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
            f"validation {verdict}: {len(self.sessions)} sessions, "
            f"{len(self.errors)} errors, {len(self.warnings)} warnings"
        ]
        for session, items in groupby(sorted(self.failures, key=lambda f: f.session), key=lambda f: f.session):
            lines.append(f"  {session}")
            lines += [f"    {f.severity.upper():7s} {f.line()}" for f in items]
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
