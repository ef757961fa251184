"""The behaviour state over time: semi-Markov bouts of one primary behaviour, plus overlays.

Exactly one PRIMARY behaviour is active at any time; its bout durations are log-normal per
behaviour and animal, and the next behaviour follows an ethogram-like transition table (stand_up
always leads into rearing, aiming usually into jump). Overlays add labels on top of a primary
bout: turns during walk and local_search, sniffing (local_search) during rearing, immobile
chewing (still) during eating. This timeline is the ground truth of every label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ratbehavior.config import DEFAULT_BEHAVIOURS

if TYPE_CHECKING:  # plan.py imports this module for PRIMARY
    from ratbehavior.data.simulate.plan import AnimalTraits

PRIMARY: tuple[str, ...] = (
    "walk", "jump", "aiming", "scratch", "rearing", "stand_up", "still", "eating", "grooming", "local_search",
)  # fmt: skip
TURN_LEFT, TURN_RIGHT = "turn_left", "turn_right"
BEHAVIOURS: tuple[str, ...] = DEFAULT_BEHAVIOURS
P = {name: i for i, name in enumerate(PRIMARY)}

# Push-off and landing of a jump each take this long; the flight fills the rest of the bout.
JUMP_PUSH_S = 0.08
_JUMP_FLIGHT_S = (0.22, 0.36)
# Rearing ends by coming down on the forepaws within the bout, over this long.
REAR_DESCENT_S = 0.35
# median s, log-sd, shortest s, longest s
_DURATIONS: dict[str, tuple[float, float, float, float]] = {
    "walk": (2.0, 0.5, 0.6, 8.0),
    "aiming": (0.7, 0.25, 0.4, 1.4),
    "scratch": (1.6, 0.35, 0.7, 3.5),
    "rearing": (2.2, 0.4, 1.0, 6.0),
    "stand_up": (0.45, 0.2, 0.3, 0.7),
    "still": (2.5, 0.6, 0.6, 12.0),
    "eating": (6.0, 0.5, 2.0, 20.0),
    "grooming": (5.0, 0.5, 1.5, 20.0),
    "local_search": (3.0, 0.5, 0.8, 12.0),
}
# Odds of the next behaviour given the current one.
_TRANSITIONS: dict[str, dict[str, float]] = {
    "walk": {"still": 2.0, "local_search": 3.0, "stand_up": 1.2, "grooming": 0.5, "eating": 0.5,
             "aiming": 0.75, "scratch": 0.18},
    "still": {"walk": 2.5, "local_search": 2.0, "stand_up": 0.8, "grooming": 1.0, "eating": 0.5,
              "aiming": 0.7, "scratch": 0.22},
    "local_search": {"walk": 3.0, "still": 1.5, "stand_up": 1.5, "eating": 0.6, "grooming": 0.5,
                     "aiming": 0.75, "scratch": 0.15},
    "stand_up": {"rearing": 1.0},
    "rearing": {"local_search": 2.0, "still": 1.5, "walk": 1.5, "grooming": 0.3},
    "aiming": {"jump": 4.0, "still": 0.5, "local_search": 0.5},
    "jump": {"walk": 1.5, "still": 1.5, "local_search": 1.0},
    "eating": {"still": 1.0, "grooming": 1.0, "walk": 1.0, "local_search": 1.0},
    "grooming": {"still": 1.5, "walk": 1.0, "local_search": 1.0, "scratch": 0.45, "eating": 0.3},
    "scratch": {"grooming": 1.0, "still": 1.0, "walk": 0.5, "local_search": 0.5},
}  # fmt: skip
# An enriched arena has food to find and a platform to jump to.
_CONDITION_PREFERENCES: dict[str, dict[str, float]] = {"enriched": {"eating": 1.8, "aiming": 1.4}}
_TURNS_PER_S = {"walk": 0.3, "local_search": 0.25}
_MIN_TURN_S = 0.3


@dataclass(frozen=True)
class Bout:
    behaviour: str
    start: float
    stop: float
    # walk: speed (cm/s); turn: signed yaw rate (deg/s, left positive); rearing: body pitch (deg).
    value: float = 0.0


@dataclass(frozen=True)
class Sampled:
    """The timeline read at given times, in the form the body model consumes."""

    state: np.ndarray  # (n,) index into PRIMARY
    since: np.ndarray  # seconds since the primary bout began
    length: np.ndarray  # duration of the primary bout
    value: np.ndarray  # the primary bout's value
    turn: np.ndarray  # signed yaw rate of the active turn, 0 outside turns
    still: np.ndarray  # still overlay (during eating)
    search: np.ndarray  # local_search overlay (during rearing)


def _interval_index(starts: np.ndarray, stops: np.ndarray, times: np.ndarray) -> np.ndarray:
    """For each time the interval containing it, or -1 (intervals sorted and disjoint)."""
    index = np.searchsorted(starts, times, side="right") - 1
    inside = (index >= 0) & (times < stops[np.clip(index, 0, None)]) if starts.size else index >= 0
    return np.where(inside, index, -1)


@dataclass
class Timeline:
    primary: list[Bout]  # contiguous and sorted
    overlays: list[Bout]  # sorted by start; same-behaviour overlays never overlap

    def intervals(self, behaviour: str) -> tuple[np.ndarray, np.ndarray]:
        """Start and stop times of the behaviour, touching bouts merged."""
        bouts = sorted((b.start, b.stop) for b in self.primary + self.overlays if b.behaviour == behaviour)
        merged: list[list[float]] = []
        for start, stop in bouts:
            if merged and start <= merged[-1][1] + 1e-9:
                merged[-1][1] = max(merged[-1][1], stop)
            else:
                merged.append([start, stop])
        array = np.array(merged, dtype=np.float64).reshape(-1, 2)
        return array[:, 0], array[:, 1]

    def active(self, behaviours: Sequence[str], times: np.ndarray) -> np.ndarray:
        """(n, len(behaviours)) bool: behaviour active at each time, on [start, stop)."""
        out = np.zeros((times.size, len(behaviours)), dtype=bool)
        for j, name in enumerate(behaviours):
            starts, stops = self.intervals(name)
            out[:, j] = _interval_index(starts, stops, times) >= 0
        return out

    def sample(self, times: np.ndarray) -> Sampled:
        starts = np.array([b.start for b in self.primary])
        stops = np.array([b.stop for b in self.primary])
        index = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(self.primary) - 1)
        turns = [b for b in self.overlays if b.behaviour in (TURN_LEFT, TURN_RIGHT)]
        turn_at = _interval_index(np.array([b.start for b in turns]), np.array([b.stop for b in turns]), times)
        turn_rate = np.array([b.value for b in turns] + [0.0])
        overlay = self.active(("still", "local_search"), times)
        return Sampled(
            state=np.array([P[b.behaviour] for b in self.primary])[index],
            since=times - starts[index],
            length=(stops - starts)[index],
            value=np.array([b.value for b in self.primary])[index],
            turn=turn_rate[turn_at],
            still=overlay[:, 0] & (np.array([b.behaviour == "eating" for b in self.primary])[index]),
            search=overlay[:, 1] & (np.array([b.behaviour == "rearing" for b in self.primary])[index]),
        )


def _duration(name: str, scale: float, rng: np.random.Generator) -> float:
    if name == "jump":
        return 2 * JUMP_PUSH_S + float(rng.uniform(*_JUMP_FLIGHT_S))
    median, spread, low, high = _DURATIONS[name]
    return float(np.clip(median * scale * np.exp(spread * rng.standard_normal()), low, high))


def _primary_bouts(
    traits: AnimalTraits, condition: str, start: float, stop: float, rng: np.random.Generator
) -> list[Bout]:
    extra = _CONDITION_PREFERENCES.get(condition, {})
    bouts: list[Bout] = []
    name, t = "still", start
    while t < stop:
        length = _duration(name, traits.durations[P[name]], rng)
        value = 0.0
        if name == "walk":
            value = float(np.clip(traits.walk_speed * np.exp(0.25 * rng.standard_normal()), 8.0, 45.0))
        elif name == "rearing":
            value = float(np.clip(traits.rear_pitch + 5.0 * rng.standard_normal(), 40.0, 80.0))
        bouts.append(Bout(name, t, min(t + length, stop), value))
        t += length
        targets = list(_TRANSITIONS[name])
        weights = np.array([_TRANSITIONS[name][b] * traits.preferences[P[b]] * extra.get(b, 1.0) for b in targets])
        name = targets[int(rng.choice(len(targets), p=weights / weights.sum()))]
    return bouts


def turn_bout(start: float, length: float, left: bool, rate: float) -> Bout:
    return Bout(TURN_LEFT if left else TURN_RIGHT, start, start + length, rate if left else -rate)


def _turns(bout: Bout, traits: AnimalTraits, rng: np.random.Generator) -> list[Bout]:
    rate_per_s = _TURNS_PER_S[bout.behaviour]
    speed = 1.0 if bout.behaviour == "walk" else 0.8
    t = bout.start + (0.0 if rng.random() < 0.25 else float(rng.exponential(1.0 / rate_per_s)))
    turns = []
    while t < bout.stop - _MIN_TURN_S:
        length = min(float(np.clip(0.6 * np.exp(0.35 * rng.standard_normal()), _MIN_TURN_S, 1.4)), bout.stop - t)
        rate = float(np.clip(speed * traits.turn_rate * np.exp(0.2 * rng.standard_normal()), 80.0, 260.0))
        turns.append(turn_bout(t, length, bool(rng.random() < traits.left_bias), rate))
        t += length + 0.3 + float(rng.exponential(1.0 / rate_per_s))
    return turns


def _sniffing_while_reared(bout: Bout, rng: np.random.Generator) -> list[Bout]:
    hold_start, hold_stop = bout.start + 0.25, bout.stop - REAR_DESCENT_S
    if hold_stop - hold_start < 0.6 or rng.random() > 0.6:
        return []
    length = (hold_stop - hold_start) * float(rng.uniform(0.4, 1.0))
    start = hold_start + float(rng.uniform(0.0, hold_stop - hold_start - length))
    return [Bout("local_search", start, start + length)]


def _still_while_eating(bout: Bout, rng: np.random.Generator) -> list[Bout]:
    """Eating alternates handling the food (moving) with holding it and chewing (still)."""
    out = []
    t = bout.start + float(rng.uniform(0.3, 1.0))
    while t < bout.stop - 0.5:
        length = float(np.clip(2.0 * np.exp(0.4 * rng.standard_normal()), 0.6, 6.0))
        stop = min(t + length, bout.stop)
        out.append(Bout("still", t, stop))
        t = stop + float(np.clip(1.2 * np.exp(0.4 * rng.standard_normal()), 0.5, 4.0))
    return out


def generate_timeline(
    traits: AnimalTraits, condition: str, start: float, stop: float, rng: np.random.Generator
) -> Timeline:
    """Bouts covering [start, stop)."""
    primary = _primary_bouts(traits, condition, start, stop, rng)
    overlays: list[Bout] = []
    for bout in primary:
        if bout.behaviour in _TURNS_PER_S:
            overlays += _turns(bout, traits, rng)
        elif bout.behaviour == "rearing":
            overlays += _sniffing_while_reared(bout, rng)
        elif bout.behaviour == "eating":
            overlays += _still_while_eating(bout, rng)
    return Timeline(primary, sorted(overlays, key=lambda b: (b.start, b.behaviour)))
