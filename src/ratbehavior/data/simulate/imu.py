"""The head-mounted IMU: what its accelerometer and gyroscope read, and what its logger writes.

The sensor feels the head's angular velocity and specific force (acceleration minus gravity) in
its own axes, which sit on the head at a tilt of a few to tens of degrees. On top come per-axis
gain and bias, white noise, jittered sample times, dropped packets, long gaps and a clock offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ratbehavior.config import SimulationConfig
from ratbehavior.data.simulate.plan import SessionPlan
from ratbehavior.data.simulate.posture import GRAVITY
from ratbehavior.data.simulate.signals import SIM_HZ, apply, at_times, episodes, random_rotation, slow_noise, transpose

_ACC_RANGE = 16.0 * GRAVITY
_GYR_RANGE_DEG_S = 2000.0
_LONG_GAP_S = (0.25, 1.5)


@dataclass(frozen=True)
class ImuRecord:
    time_s: np.ndarray  # (m,) on the IMU clock
    acc: np.ndarray  # (m, 3) in the declared unit
    gyr: np.ndarray  # (m, 3) in the declared unit
    temperature: np.ndarray  # (m,) deg C
    span: tuple[float, float]  # first and last sample on the video clock


def head_motion(rotation: np.ndarray, position_cm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Angular velocity (rad/s) and specific force (m/s^2) in the head frame, on the simulation grid."""
    dt = 1.0 / SIM_HZ
    # R^T dR/dt is the skew matrix of the angular velocity in the rotating frame.
    change = np.zeros_like(rotation)
    change[1:-1] = (rotation[2:] - rotation[:-2]) / (2.0 * dt)
    rt = transpose(rotation)
    c0, c1, c2 = (apply(rt, change[..., j]) for j in range(3))
    omega = 0.5 * np.stack([c1[:, 2] - c2[:, 1], c2[:, 0] - c0[:, 2], c0[:, 1] - c1[:, 0]], axis=-1)
    position = position_cm / 100.0
    accel = np.zeros_like(position)
    accel[1:-1] = (position[2:] - 2.0 * position[1:-1] + position[:-2]) / (dt * dt)
    omega[0], omega[-1], accel[0], accel[-1] = omega[1], omega[-2], accel[1], accel[-2]
    specific = accel + np.array([0.0, 0.0, GRAVITY])
    return omega, apply(rt, specific)


def _sample_times(
    start: float, stop: float, rate: float, sim: SimulationConfig, rng: np.random.Generator
) -> np.ndarray:
    """True sample times on the video clock: nominal grid with jitter, dropped packets and long gaps removed."""
    period = 1.0 / rate
    nominal = start + np.arange(int((stop - start) * rate)) * period
    jitter = np.clip(sim.imu_timestamp_jitter * rng.standard_normal(nominal.size), -0.35, 0.35) * period
    times = nominal + jitter
    n = times.size
    dropped = episodes(rng, n, int(sim.imu_drop_fraction * n), 2.0, 1, 4)
    minutes = (stop - start) / 60.0
    for _ in range(int(rng.poisson(sim.imu_long_gaps_per_minute * minutes))):
        length = int(rng.uniform(*_LONG_GAP_S) * rate)
        at = int(rng.integers(1, max(2, n - length - 1)))
        dropped[at : at + length] = True
    dropped[0] = dropped[-1] = False
    return times[~dropped]


def record(
    rotation: np.ndarray,
    position_cm: np.ndarray,
    t0: float,
    plan: SessionPlan,
    sim: SimulationConfig,
    rng: np.random.Generator,
) -> ImuRecord:
    """The logger's file content for a body simulated on the grid t0 + i / SIM_HZ (video clock)."""
    omega, specific = head_motion(rotation, position_cm)
    mount = random_rotation(rng, sim.imu_mount_max_deg)  # sensor axes -> head axes
    omega = apply(mount.T, omega)
    specific = apply(mount.T, specific)
    grid_end = t0 + (rotation.shape[0] - 1) / SIM_HZ
    # The logger runs from about when the video starts to about when it stops; its clock starts at
    # zero, and half a period of margin keeps the jittered first sample from reading below it.
    start = max(float(rng.uniform(-0.6, 0.3)), 0.5 / plan.imu_rate_hz - plan.imu_offset_s, t0 + 0.05)
    stop = min(plan.duration_s + float(rng.uniform(-0.2, 0.8)), grid_end - 0.05)
    times = _sample_times(start, stop, plan.imu_rate_hz, sim, rng)
    m = times.size
    gain_acc = 1.0 + sim.imu_gain_error * rng.standard_normal(3)
    gain_gyr = 1.0 + sim.imu_gain_error * rng.standard_normal(3)
    bias_acc = sim.imu_acc_bias * rng.standard_normal(3)
    bias_gyr = sim.imu_gyr_bias * rng.standard_normal(3)
    drift = np.stack([slow_noise(rng, m, 20.0) for _ in range(3)], axis=-1) * (0.3 * sim.imu_gyr_bias)
    acc = at_times(specific, t0, SIM_HZ, times) * gain_acc + bias_acc + sim.imu_acc_noise * rng.standard_normal((m, 3))
    gyr = np.degrees(at_times(omega, t0, SIM_HZ, times)) * gain_gyr + bias_gyr + drift
    gyr += sim.imu_gyr_noise * rng.standard_normal((m, 3))
    acc = np.clip(acc, -_ACC_RANGE, _ACC_RANGE)
    gyr = np.clip(gyr, -_GYR_RANGE_DEG_S, _GYR_RANGE_DEG_S)
    if plan.acc_unit == "g":
        acc = acc / GRAVITY
    if plan.gyr_unit == "rad/s":
        gyr = gyr * (math.pi / 180.0)
    warm_up = 1.5 * (1.0 - np.exp(-(times - start) / 60.0))
    temperature = 31.0 + float(rng.uniform(-1.0, 1.0)) + warm_up + 0.05 * slow_noise(rng, m, 2.0)
    return ImuRecord(times + plan.imu_offset_s, acc, gyr, temperature, (float(times[0]), float(times[-1])))
