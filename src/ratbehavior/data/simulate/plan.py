"""Who is recorded when and how: random streams, per-animal traits, and each session's recording setup.

Every session draws from its own streams keyed by (seed, animal, day, stream), so a session's
content does not depend on how many animals or days come before it. Only the choice of file-format
variants (units, multi-animal DLC, BORIS, column order) is made across the whole dataset, so that
each variant appears at least once in small datasets.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum

import numpy as np

from ratbehavior.config import SimulationConfig
from ratbehavior.data.simulate.behaviour import PRIMARY

VIDEO_FPS = (25, 30, 60)
IMU_RATES_HZ = (100, 200, 250, 400)
CONDITIONS = ("arena", "enriched")
IMU_COLUMN_ORDERS = (
    ("time_s", "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"),
    ("time_s", "gyr_x", "gyr_y", "gyr_z", "acc_x", "acc_y", "acc_z"),
    ("time_s", "acc_x", "gyr_x", "acc_y", "gyr_y", "acc_z", "gyr_z"),
)
_DATASET_KEY = 0  # animals are numbered from 1, so this stream never collides with theirs


class Stream(IntEnum):
    SETUP = 0
    BEHAVIOUR = 1
    BODY = 2
    CAMERA = 3
    IMU = 4
    ANNOTATION = 5
    DAY = 6


def session_rng(seed: int, animal: int, day: int, stream: Stream) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(animal, day, int(stream))))


@dataclass(frozen=True)
class AnimalTraits:
    """What makes one rat (on one day) look and move unlike another."""

    size: float  # body-length scale, 1.0 is an adult rat of 11 cm pelvis-to-neck
    walk_speed: float  # cm/s, typical walking speed
    stride_hz: float  # gait cycle at the typical speed
    turn_rate: float  # deg/s, typical yaw rate of a turn
    left_bias: float  # probability that a turn goes left
    sniff_hz: float
    chew_hz: float
    groom_hz: float
    scratch_hz: float
    breath_hz: float
    scan_hz: float  # side-to-side head scanning before a jump
    rear_pitch: float  # deg, body pitch when reared
    sit_pitch: float  # deg, body pitch when sitting up to groom or eat
    durations: tuple[float, ...]  # per PRIMARY behaviour, multiplies the bout durations
    preferences: tuple[float, ...]  # per PRIMARY behaviour, multiplies the odds of entering it


def draw_animal(seed: int, animal: int, variability: float) -> AnimalTraits:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(animal,)))

    def spread(mean: float, relative: float, low: float, high: float) -> float:
        return float(np.clip(mean * (1.0 + variability * relative * rng.standard_normal()), low, high))

    return AnimalTraits(
        size=spread(1.0, 0.07, 0.8, 1.2),
        walk_speed=spread(20.0, 0.12, 13.0, 28.0),
        stride_hz=spread(3.4, 0.07, 2.8, 4.0),
        turn_rate=spread(140.0, 0.15, 90.0, 200.0),
        left_bias=float(np.clip(0.5 + variability * 0.12 * rng.standard_normal(), 0.25, 0.75)),
        sniff_hz=spread(7.5, 0.1, 6.0, 10.0),
        chew_hz=spread(6.0, 0.08, 5.0, 7.5),
        groom_hz=spread(4.5, 0.1, 3.5, 6.0),
        scratch_hz=spread(10.0, 0.1, 8.0, 12.0),
        breath_hz=spread(1.8, 0.15, 1.2, 2.6),
        scan_hz=spread(1.8, 0.12, 1.3, 2.5),
        rear_pitch=spread(62.0, 0.08, 50.0, 75.0),
        sit_pitch=spread(30.0, 0.12, 20.0, 40.0),
        durations=tuple(float(np.exp(variability * 0.2 * rng.standard_normal())) for _ in PRIMARY),
        preferences=tuple(float(np.exp(variability * 0.3 * rng.standard_normal())) for _ in PRIMARY),
    )


def day_traits(traits: AnimalTraits, rng: np.random.Generator, variability: float) -> AnimalTraits:
    """The same rat on another day: slightly faster or slower, busier or calmer."""

    def nudge(relative: float) -> float:
        return float(np.exp(variability * relative * rng.standard_normal()))

    return replace(
        traits,
        walk_speed=traits.walk_speed * nudge(0.06),
        stride_hz=traits.stride_hz * nudge(0.03),
        durations=tuple(d * nudge(0.08) for d in traits.durations),
        preferences=tuple(p * nudge(0.12) for p in traits.preferences),
    )


@dataclass(frozen=True)
class SessionPlan:
    session_id: str
    animal_index: int  # 1-based
    animal: str
    day: int
    condition: str
    duration_s: float
    video_fps: int
    imu_rate_hz: int
    imu_offset_s: float  # IMU time t_imu is video time t_imu - imu_offset_s
    acc_unit: str
    gyr_unit: str
    multi_animal: bool
    imu_columns: tuple[str, ...]
    temperature: bool
    boris: bool


def _setup(sim: SimulationConfig, animal: int, day: int) -> tuple[str, int, int, float]:
    """Condition, video fps, IMU rate and IMU clock offset of one session."""
    rng = session_rng(sim.seed, animal, day, Stream.SETUP)
    offset = float(rng.uniform(0.05, 0.5) * rng.choice((-1.0, 1.0)))
    return (
        CONDITIONS[int(rng.random() < 0.3)],
        int(rng.choice(VIDEO_FPS, p=(0.35, 0.45, 0.2))),
        int(rng.choice(IMU_RATES_HZ, p=(0.25, 0.35, 0.2, 0.2))),
        round(offset, 4),
    )


def _spread(rng: np.random.Generator, n: int, count: int) -> np.ndarray:
    """A mask of `count` of `n` sessions, chosen at random."""
    chosen = np.zeros(n, dtype=bool)
    chosen[rng.permutation(n)[: min(n, count)]] = True
    return chosen


def plan_dataset(sim: SimulationConfig) -> list[SessionPlan]:
    """Every session of the dataset, sorted by id."""
    keys = [(a, d) for a in range(1, sim.animals + 1) for d in range(1, sim.days_of(a - 1) + 1)]
    n = len(keys)
    rng = np.random.default_rng(np.random.SeedSequence(sim.seed, spawn_key=(_DATASET_KEY,)))
    boris = _spread(rng, n, round(sim.boris_fraction * n))
    in_g = _spread(rng, n, max(1, n // 3))
    in_rad = _spread(rng, n, max(1, n // 3))
    multi = _spread(rng, n, 1 + n // 8)
    reordered = _spread(rng, n, max(1, n // 3))
    temperature = _spread(rng, n, 1)
    plans = []
    for i, (animal, day) in enumerate(keys):
        condition, fps, rate, offset = _setup(sim, animal, day)
        name = f"R{animal:02d}"
        plans.append(
            SessionPlan(
                session_id=f"{name}_D{day:02d}_{condition}",
                animal_index=animal,
                animal=name,
                day=day,
                condition=condition,
                duration_s=round(sim.session_minutes * 60.0, 3),
                video_fps=fps,
                imu_rate_hz=rate,
                imu_offset_s=offset,
                acc_unit="g" if in_g[i] else "m/s^2",
                gyr_unit="rad/s" if in_rad[i] else "deg/s",
                multi_animal=bool(multi[i]),
                imu_columns=IMU_COLUMN_ORDERS[1 + i % 2] if reordered[i] else IMU_COLUMN_ORDERS[0],
                temperature=bool(temperature[i]),
                boris=bool(boris[i]),
            )
        )
    return sorted(plans, key=lambda p: p.session_id)
