"""Leave-one-animal-out: the folds every model and baseline is scored on."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Fold:
    held_out: str
    train_sessions: tuple[str, ...]
    test_sessions: tuple[str, ...]


def leave_one_animal_out(session_animals: dict[str, str], animals: Sequence[str] | None = None) -> Iterator[Fold]:
    """One fold per animal (sorted, so fold order never depends on the disk): its sessions are the test set."""
    for animal in sorted(set(session_animals.values())) if animals is None else animals:
        test = tuple(sorted(s for s, a in session_animals.items() if a == animal))
        if not test:
            raise ValueError(
                f"animal {animal!r} has no sessions: known animals are {sorted(set(session_animals.values()))}"
            )
        train = tuple(sorted(s for s, a in session_animals.items() if a != animal))
        yield Fold(held_out=animal, train_sessions=train, test_sessions=test)
