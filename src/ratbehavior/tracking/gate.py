"""The cross-animal validation gate: a model reaches the registry only if its leave-one-animal-out
folds are good enough, on average and for the worst animal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ratbehavior.tracking.config import GateConfig


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reasons: tuple[str, ...]  # why it failed; empty when it passed

    @property
    def verdict(self) -> str:
        return "passed" if self.passed else "failed: " + "; ".join(self.reasons)


def check_gate(summary: dict[str, Any], gate: GateConfig) -> GateResult:
    """`summary` is `summarise_folds`' output: pooled macro-F1 and each fold's macro-F1."""
    reasons = []
    if summary["macro_f1"] < gate.min_macro_f1:
        reasons.append(f"macro-F1 {summary['macro_f1']:.3f} < {gate.min_macro_f1:.2f}")
    for animal, fold in sorted(summary["folds"].items()):
        if fold["macro_f1"] < gate.min_animal_f1:
            reasons.append(f"animal {animal} macro-F1 {fold['macro_f1']:.3f} < {gate.min_animal_f1:.2f}")
    return GateResult(not reasons, tuple(reasons))
