"""Where the rat is and which way it faces: heading and trunk position in a square arena.

Turns come from the timeline; walls add labelled turns of their own (a rat that walks up to a
wall turns away from it), so the timeline returned may hold turns the one given did not. The
walk runs on a coarse grid because each step depends on the last; the body upsamples it.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from ratbehavior.data.simulate.behaviour import JUMP_PUSH_S, TURN_LEFT, TURN_RIGHT, P, Timeline, turn_bout
from ratbehavior.data.simulate.plan import AnimalTraits
from ratbehavior.data.simulate.signals import SIM_HZ, at_times, ramp, smooth, smooth_noise

ARENA_HALF_CM = 50.0
LOOP_HZ = 50
_TURN_RAMP_S = 0.08
_CENTRE_TO_NOSE_CM = 11.0
_WALL_LOOKAHEAD_CM = 5.0
_CENTRE_MARGIN_CM = 8.0
# Slow unlabelled heading drift (deg/s, standard deviation); turns are far faster.
_DRIFT_DEG_S = {P["walk"]: 10.0, P["local_search"]: 7.0, P["rearing"]: 2.0, P["eating"]: 2.0, P["grooming"]: 2.0}
_CREEP_CM_S = 2.5
_TURNING_SPEED_FACTOR = {P["walk"]: 0.6, P["local_search"]: 0.4}
_UPSAMPLE_SMOOTHING_S = 0.012


@dataclass(frozen=True)
class TrunkPath:
    times: np.ndarray  # (n,) seconds, video clock, LOOP_HZ grid
    heading: np.ndarray  # (n,) rad, unwrapped, 0 = +x of the arena, counter-clockwise positive
    position: np.ndarray  # (n, 2) cm, middle of the trunk (a turn on the spot pivots here), arena centre at 0


def _speed_command(timeline: Timeline, traits: AnimalTraits, times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    sampled = timeline.sample(times)
    walk = np.where(sampled.state == P["walk"], sampled.value * ramp(sampled.since, sampled.length, 0.15), 0.0)
    creep = _CREEP_CM_S * np.maximum(smooth_noise(rng, times.size, 0.4 * LOOP_HZ), 0.0)
    speed = walk + np.where(sampled.state == P["local_search"], creep, 0.0)
    # A jump: accelerate during push-off, fly at constant speed, stop on landing.
    jump_speed = np.array([rng.uniform(60.0, 110.0) * traits.size for _ in timeline.primary])
    starts = np.array([b.start for b in timeline.primary])
    bout = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, None)
    jumping = sampled.state == P["jump"]
    speed[jumping] = (jump_speed[bout] * ramp(sampled.since, sampled.length, JUMP_PUSH_S))[jumping]
    return speed


def _wall_ahead(x: float, y: float, heading: float, reach: float) -> bool:
    ahead = reach + _WALL_LOOKAHEAD_CM
    return max(abs(x + ahead * math.cos(heading)), abs(y + ahead * math.sin(heading))) > ARENA_HALF_CM


def move(
    timeline: Timeline, traits: AnimalTraits, times: np.ndarray, rng: np.random.Generator
) -> tuple[TrunkPath, Timeline]:
    """The path over `times` (LOOP_HZ grid) and the timeline with the wall turns added."""
    dt = 1.0 / LOOP_HZ
    state = timeline.sample(times).state
    bout_stop = np.array([b.stop for b in timeline.primary])[
        np.clip(np.searchsorted([b.start for b in timeline.primary], times, side="right") - 1, 0, None)
    ]
    speed = _speed_command(timeline, traits, times, rng)
    drift_scale = np.array([_DRIFT_DEG_S.get(int(s), 0.5) for s in range(len(P))])[state]
    drift = np.radians(np.clip(drift_scale * smooth_noise(rng, times.size, 0.3 * LOOP_HZ), -25.0, 25.0))
    kept = [b for b in timeline.overlays if b.behaviour not in (TURN_LEFT, TURN_RIGHT)]
    pending = deque(b for b in timeline.overlays if b.behaviour in (TURN_LEFT, TURN_RIGHT))
    turns = []
    reach = _CENTRE_TO_NOSE_CM * traits.size
    x, y = (float(v) for v in rng.uniform(-0.6, 0.6, 2) * ARENA_HALF_CM)
    heading = float(rng.uniform(0.0, 2.0 * math.pi))
    headings = np.empty(times.size)
    positions = np.empty((times.size, 2))
    active = None
    for k, t in enumerate(times.tolist()):
        while pending and pending[0].start <= t:
            active = pending.popleft()
            turns.append(active)
        s = int(state[k])
        rate, v = float(drift[k]), float(speed[k])
        turning_state = s in _TURNING_SPEED_FACTOR
        if active is None or t >= active.stop:
            active = None
            remaining = float(bout_stop[k]) - t
            if turning_state and remaining >= 0.3 and _wall_ahead(x, y, heading, reach):
                towards = math.atan2(-y, -x) - heading
                towards = math.atan2(math.sin(towards), math.cos(towards))
                wanted = min(max(abs(towards) + math.radians(float(rng.normal(0.0, 20.0))), math.radians(50)), 3.0)
                turn_rate = traits.turn_rate * float(rng.uniform(1.0, 1.3))
                length = min(max(math.degrees(wanted) / turn_rate + _TURN_RAMP_S, 0.3), 1.4, remaining)
                active = turn_bout(t, length, towards > 0, turn_rate)
                turns.append(active)
                while pending and pending[0].start < active.stop + 0.3:
                    pending.popleft()
        if active is not None:
            edge = min(t - active.start, active.stop - t) / _TURN_RAMP_S
            rate = math.radians(active.value) * min(1.0, max(0.0, edge))
            v *= _TURNING_SPEED_FACTOR.get(s, 1.0)
        heading += rate * dt
        vx, vy = v * math.cos(heading), v * math.sin(heading)
        # Blocked by a wall: keep only the motion along it.
        if (
            abs(x + vx * dt) > ARENA_HALF_CM - _CENTRE_MARGIN_CM
            or abs(x + vx * dt + reach * math.cos(heading)) > ARENA_HALF_CM
        ):
            vx = 0.0
        if (
            abs(y + vy * dt) > ARENA_HALF_CM - _CENTRE_MARGIN_CM
            or abs(y + vy * dt + reach * math.sin(heading)) > ARENA_HALF_CM
        ):
            vy = 0.0
        x += vx * dt
        y += vy * dt
        headings[k] = heading
        positions[k] = (x, y)
    overlays = sorted(kept + turns, key=lambda b: (b.start, b.behaviour))
    return TrunkPath(times, headings, positions), Timeline(timeline.primary, overlays)


def upsample(path: TrunkPath, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Heading, position and ground speed at `times` (simulation grid), smoothed so accelerations stay finite."""
    t0 = float(path.times[0])
    heading = smooth(at_times(path.heading, t0, LOOP_HZ, times), _UPSAMPLE_SMOOTHING_S)
    position = smooth(at_times(path.position, t0, LOOP_HZ, times), _UPSAMPLE_SMOOTHING_S)
    velocity = np.gradient(position, axis=0) * SIM_HZ
    return heading, position, np.hypot(velocity[:, 0], velocity[:, 1])
