"""How the rat holds and moves its body in each behaviour, on the simulation grid.

Slow postural targets (body pitch, head angles, where the paws are) are set bout by bout and
smoothed so that transitions take a realistic 100-200 ms; the fast rhythms that make each
behaviour recognisable over a second or two (gait, sniffing, chewing, grooming strokes, scratching,
head scanning, breathing) are then added with envelopes that follow the behaviour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ratbehavior.data.simulate.behaviour import JUMP_PUSH_S, REAR_DESCENT_S, P, Timeline
from ratbehavior.data.simulate.plan import AnimalTraits
from ratbehavior.data.simulate.signals import phase, ramp, slow_noise, smooth, smoothstep

GRAVITY = 9.80665
_SITTING = ("eating", "grooming", "scratch")
_HANDLING_HZ = 1.6
_TYPICAL_STRIDE_HZ = 3.4
# Per behaviour: body pitch (deg, None: from traits), head pitch relative to the body (deg),
# trunk height offset (cm), spine arch (cm), spread of the head's yaw from bout to bout (deg).
_POSE: dict[str, tuple[float | None, float, float, float, float]] = {
    "walk": (0.0, -12.0, 0.3, 0.8, 4.0),
    "jump": (0.0, 10.0, 0.0, 0.8, 0.0),
    "aiming": (8.0, 12.0, 0.2, 1.0, 3.0),
    "scratch": (15.0, -15.0, -0.8, 1.6, 0.0),
    "rearing": (None, -40.0, 0.0, 0.5, 10.0),
    "stand_up": (None, -15.0, 0.0, 0.8, 5.0),
    "still": (0.0, -8.0, -0.4, 1.4, 12.0),
    "eating": (None, -60.0, -0.8, 1.8, 8.0),
    "grooming": (None, -35.0, -0.8, 2.0, 0.0),
    "local_search": (-3.0, -28.0, 0.0, 1.1, 10.0),
}


@dataclass(frozen=True)
class Posture:
    """Angles in rad, lengths in cm, blends in [0, 1]; all on the simulation grid."""

    body_pitch: np.ndarray
    lift: np.ndarray  # trunk height offset (crouching, gait bob, breathing)
    airborne: np.ndarray  # whole-body height during a jump
    arch: np.ndarray
    head_yaw: np.ndarray
    head_pitch: np.ndarray
    head_roll: np.ndarray
    head_bob: np.ndarray  # jaw and sniffing vibration along the head's up axis
    fore_raise: np.ndarray  # forepaws lifted to the chest (stand_up, rearing)
    fore_snout: np.ndarray  # forepaws at the mouth (grooming, eating)
    stroke: np.ndarray  # forepaw travel over the face or around the food
    sit: np.ndarray  # hind legs tucked under the body
    hind_scratch: np.ndarray  # the scratching hind paw at the ear
    scratch_side: np.ndarray  # +1 left, -1 right
    scratch_phase: np.ndarray
    gait_phase: np.ndarray
    stride: np.ndarray  # stride length, 0 when not walking
    tail_sway: np.ndarray


def jump_height(since: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Height (cm) through push-off, ballistic flight and landing; in flight the body falls freely."""
    flight = length - 2 * JUMP_PUSH_S
    v0 = GRAVITY * flight / 2.0  # m/s at take-off
    push = JUMP_PUSH_S
    k = (push / (2.0 * math.pi)) ** 2
    half_a = v0 / push  # a sin^2 pulse of peak 2 v0 / push gains v0 over the push
    z_push = half_a * (since**2 / 2.0 + k * (np.cos(2.0 * math.pi * since / push) - 1.0))
    top = v0 * push / 2.0
    s = since - push
    z_flight = top + v0 * s - GRAVITY * s**2 / 2.0
    r = since - push - flight
    z_land = top - v0 * r + half_a * (r**2 / 2.0 + k * (np.cos(2.0 * math.pi * r / push) - 1.0))
    z = np.where(since < push, z_push, np.where(r < 0.0, z_flight, z_land))
    return 100.0 * np.where((since >= 0) & (since <= length), z, 0.0)


def _envelope(mask: np.ndarray, sigma_s: float = 0.04) -> np.ndarray:
    return smooth(mask.astype(np.float64), sigma_s)


def _segments(start: float, stop: float, rng: np.random.Generator, median_s: float) -> list[tuple[float, float]]:
    out, t = [], start
    while t < stop:
        length = float(np.clip(median_s * np.exp(0.4 * rng.standard_normal()), 0.8, 4.0))
        out.append((t, min(t + length, stop)))
        t += length
    return out


def posture(
    timeline: Timeline, traits: AnimalTraits, times: np.ndarray, speed: np.ndarray, rng: np.random.Generator
) -> Posture:
    n = times.size
    sampled = timeline.sample(times)
    state = sampled.state
    pitch, head_pitch, lift, arch = (np.zeros(n) for _ in range(4))
    head_yaw, head_roll, snout, scan_amp, side = (np.zeros(n) for _ in range(5))
    face = np.zeros(n, dtype=bool)
    flank = np.zeros(n, dtype=bool)
    for i, bout in enumerate(timeline.primary):
        sl = slice(int(np.searchsorted(times, bout.start)), int(np.searchsorted(times, bout.stop)))
        since, length = times[sl] - bout.start, bout.stop - bout.start
        body, head, height, spine, yaw_spread = _POSE[bout.behaviour]
        head_pitch[sl] = head + 6.0 * rng.standard_normal()
        head_yaw[sl] = yaw_spread * rng.standard_normal()
        head_roll[sl] = 3.0 * rng.standard_normal()
        lift[sl], arch[sl] = height, spine
        pitch[sl] = body if body is not None else traits.sit_pitch
        if bout.behaviour == "stand_up":
            # Rise to the pitch of the rearing that follows.
            after = timeline.primary[i + 1] if i + 1 < len(timeline.primary) else bout
            target = after.value if after.behaviour == "rearing" else traits.rear_pitch
            pitch[sl] = target * smoothstep(since / length)
        elif bout.behaviour == "rearing":
            pitch[sl] = bout.value * np.clip((length - since) / REAR_DESCENT_S, 0.0, 1.0)
            head_pitch[sl] -= bout.value - 60.0
        elif bout.behaviour == "jump":
            # Nose up at take-off, down for landing, slowly enough that the flight stays free fall;
            # the head keeps the aim it took.
            pitch[sl] = 6.0 * np.cos(math.pi * since / length)
            head_pitch[sl] = head_pitch[max(sl.start - 1, 0)]
        elif bout.behaviour == "aiming":
            scan_amp[sl] = rng.uniform(10.0, 18.0)
        elif bout.behaviour == "scratch":
            s = 1.0 if rng.random() < 0.5 else -1.0
            side[sl] = s
            head_yaw[sl], head_roll[sl] = 30.0 * s, 25.0 * s
        elif bout.behaviour == "eating":
            snout[sl] = 1.0
        elif bout.behaviour == "grooming":
            for j, (a, b) in enumerate(_segments(bout.start, bout.stop, rng, 1.8)):
                seg = slice(int(np.searchsorted(times, a)), int(np.searchsorted(times, b)))
                if j % 2 == 0 or rng.random() < 0.3:
                    face[seg], snout[seg] = True, 1.0
                else:
                    s = 1.0 if rng.random() < 0.5 else -1.0
                    flank[seg], snout[seg] = True, 0.4
                    head_yaw[seg], head_roll[seg], head_pitch[seg] = 65.0 * s, 20.0 * s, -45.0
                    pitch[seg] = 10.0

    def is_(name: str) -> np.ndarray:
        return state == P[name]

    eating, rearing = is_("eating"), is_("rearing")
    sniffing = is_("local_search") | sampled.search
    handling = eating & ~sampled.still
    # Slow rhythms and noise shared by several behaviours.
    sweep, nod, jiggle = slow_noise(rng, n, 0.35), slow_noise(rng, n, 0.3), slow_noise(rng, n, 0.15)
    sway = slow_noise(rng, n, 0.5)
    head_yaw = smooth(head_yaw, 0.07) + (18.0 * sweep) * _envelope(sniffing & ~rearing, 0.1)
    head_yaw += 12.0 * sweep * _envelope(rearing, 0.1) + 12.0 * nod * _envelope(handling, 0.1)
    head_pitch = smooth(head_pitch, 0.07) + 5.0 * nod * _envelope(handling | sniffing, 0.1)
    head_roll = smooth(head_roll, 0.07)
    # The head leads the body into a turn.
    head_yaw += 0.1 * smooth(sampled.turn, 0.05)
    body_pitch = smooth(pitch, 0.06) + 4.0 * sway * _envelope(rearing, 0.1)
    lift = smooth(lift, 0.05)
    head_bob = np.zeros(n)

    walk_env = _envelope(is_("walk")) * np.clip(speed / 12.0, 0.0, 1.0)
    stride_hz = traits.stride_hz * (np.clip(speed, 5.0, 60.0) / traits.walk_speed) ** 0.4
    gait = phase(stride_hz)
    # Scaled so that every animal's head is shaken about as hard at its usual pace.
    bob = walk_env * (_TYPICAL_STRIDE_HZ / traits.stride_hz) ** 2
    head_yaw += 2.5 * np.sin(gait) * bob
    head_pitch += 2.0 * np.sin(2.0 * gait) * bob
    lift += 0.2 * np.sin(2.0 * gait + 0.5) * bob

    sniff = phase(traits.sniff_hz * (1.0 + 0.05 * slow_noise(rng, n, 0.5)))
    sniff_env = _envelope(sniffing) * (0.6 + 0.4 * np.abs(slow_noise(rng, n, 0.3)))
    head_yaw += 1.2 * np.sin(sniff) * sniff_env
    head_pitch += 1.5 * np.sin(sniff + 1.1) * sniff_env
    head_bob += 0.05 * np.sin(sniff) * sniff_env

    breath = phase(traits.breath_hz * (1.0 + 0.08 * slow_noise(rng, n, 2.0)))
    lift += 0.08 * np.sin(breath)
    head_pitch += 0.3 * np.sin(breath + 0.4)

    chew = phase(traits.chew_hz * (1.0 + 0.05 * slow_noise(rng, n, 0.5)))
    chew_env = _envelope(eating)
    head_pitch += 1.0 * np.sin(chew) * chew_env
    head_bob += 0.03 * np.sin(chew + 0.3) * chew_env

    groom = phase(traits.groom_hz * (1.0 + 0.06 * slow_noise(rng, n, 0.5)))
    face_env, flank_env = _envelope(face), _envelope(flank)
    head_pitch += 8.0 * np.sin(groom) * face_env + 3.0 * np.sin(1.3 * groom) * flank_env
    head_yaw += 3.0 * np.sin(1.3 * groom + 0.7) * flank_env
    # Handling food: the forepaws turn it round while the head follows.
    handle = phase(_HANDLING_HZ * (1.0 + 0.15 * slow_noise(rng, n, 0.5)))
    handle_env = _envelope(handling, 0.08)
    stroke = 1.5 * (0.5 - 0.5 * np.cos(groom)) * face_env + (0.8 * np.sin(handle) + 0.3 * jiggle) * handle_env
    head_pitch += 4.0 * np.sin(handle + 0.6) * handle_env

    scratch = phase(traits.scratch_hz * (1.0 + 0.04 * slow_noise(rng, n, 0.5)))
    scratch_env = _envelope(is_("scratch"))
    head_yaw += 4.0 * np.sin(scratch) * scratch_env
    head_roll += 5.0 * np.sin(scratch + 0.8) * scratch_env
    lift += 0.1 * np.sin(scratch) * scratch_env

    scan = phase(traits.scan_hz * (1.0 + 0.05 * slow_noise(rng, n, 0.5)))
    head_yaw += smooth(scan_amp, 0.05) * np.sin(scan)

    fore_raise = np.where(is_("stand_up"), smoothstep(sampled.since / sampled.length), 0.0)
    fore_raise = np.where(rearing, np.clip((sampled.length - sampled.since) / REAR_DESCENT_S, 0.0, 1.0), fore_raise)
    sitting = np.isin(state, [P[b] for b in (*_SITTING, "rearing", "stand_up")])
    jumping = is_("jump")
    return Posture(
        body_pitch=np.radians(body_pitch),
        lift=lift,
        airborne=np.where(jumping, jump_height(sampled.since, sampled.length), 0.0),
        arch=smooth(arch, 0.08),
        head_yaw=np.radians(head_yaw),
        head_pitch=np.radians(head_pitch),
        head_roll=np.radians(head_roll),
        head_bob=head_bob,
        fore_raise=smooth(fore_raise, 0.03),
        fore_snout=smooth(snout, 0.08),
        stroke=stroke,
        sit=smooth(sitting.astype(np.float64), 0.1),
        hind_scratch=smooth(is_("scratch") * ramp(sampled.since, sampled.length, 0.15), 0.03),
        scratch_side=np.where(side != 0.0, side, 1.0),
        scratch_phase=scratch,
        gait_phase=gait,
        stride=np.where(walk_env > 0.0, speed / stride_hz, 0.0) * walk_env,
        tail_sway=0.2 * np.sin(gait) * walk_env,
    )
