"""The simulator end to end: one session from its plan to its files, and every animal x day."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ratbehavior.config import DataConfig, SimulationConfig
from ratbehavior.data.session import BORIS_FILE, IMU_FILE, LABELS_FILE, POSE_FILES, SESSION_YAML
from ratbehavior.data.simulate.annotate import Annotation, annotate
from ratbehavior.data.simulate.behaviour import BEHAVIOURS, Timeline, generate_timeline
from ratbehavior.data.simulate.camera import Camera, PoseTrack, draw_camera, film
from ratbehavior.data.simulate.imu import ImuRecord, record
from ratbehavior.data.simulate.plan import (
    AnimalTraits,
    SessionPlan,
    Stream,
    day_traits,
    draw_animal,
    plan_dataset,
    session_rng,
)
from ratbehavior.data.simulate.posture import posture
from ratbehavior.data.simulate.signals import SIM_HZ, at_times, slow_noise
from ratbehavior.data.simulate.skeleton import KEYPOINTS, Body, build_body
from ratbehavior.data.simulate.trunk import LOOP_HZ, move, upsample
from ratbehavior.data.simulate.writers import write_boris, write_imu, write_labels, write_pose, write_session_yaml
from ratbehavior.errors import DataContractError

# The body is simulated from this long before the video starts to this long after it stops,
# so that the IMU, on its own clock, can start earlier and stop later than the camera.
MARGIN_S = 1.0


@dataclass(frozen=True)
class SimulatedSession:
    """Everything about one session: the files' content and the truth behind it (for checks)."""

    plan: SessionPlan
    traits: AnimalTraits
    timeline: Timeline  # the behaviour that really happened
    t0: float  # video time of the first simulation-grid sample
    body: Body  # on the simulation grid
    camera: Camera
    frame_times: np.ndarray  # video frames, video clock
    pose: PoseTrack
    imu: ImuRecord
    annotation: Annotation


def _check_vocabulary(data: DataConfig) -> None:
    for kind, wanted, known in (("behaviours", data.behaviours, BEHAVIOURS), ("bodyparts", data.bodyparts, KEYPOINTS)):
        unknown = [name for name in wanted if name not in known]
        if unknown:
            raise ValueError(f"data.{kind}: the simulator cannot make {unknown}; it knows {list(known)}")


def simulate_session(plan: SessionPlan, sim: SimulationConfig, data: DataConfig) -> SimulatedSession:
    def rng(stream: Stream) -> np.random.Generator:
        return session_rng(sim.seed, plan.animal_index, plan.day, stream)

    traits = day_traits(
        draw_animal(sim.seed, plan.animal_index, sim.animal_variability), rng(Stream.DAY), sim.day_variability
    )
    t0, t1 = -MARGIN_S, plan.duration_s + MARGIN_S
    timeline = generate_timeline(traits, plan.condition, t0, t1, rng(Stream.BEHAVIOUR))
    body_rng = rng(Stream.BODY)
    loop_times = t0 + np.arange(math.ceil((t1 - t0) * LOOP_HZ) + 1) / LOOP_HZ
    path, timeline = move(timeline, traits, loop_times, body_rng)
    times = t0 + np.arange(round((t1 - t0) * SIM_HZ) + 1) / SIM_HZ
    heading, position, speed = upsample(path, times)
    body = build_body(
        heading,
        position,
        posture(timeline, traits, times, speed, body_rng),
        traits,
        slow_noise(body_rng, times.size, 0.8),
    )

    camera_rng = rng(Stream.CAMERA)
    camera = draw_camera(camera_rng)
    frame_times = np.arange(math.floor(plan.duration_s * plan.video_fps)) / plan.video_fps
    pose = film(
        at_times(body.keypoints, t0, SIM_HZ, frame_times),
        at_times(body.occlusion, t0, SIM_HZ, frame_times),
        camera, plan.video_fps, sim, plan.multi_animal, camera_rng,
    )  # fmt: skip
    imu = record(body.head_rotation, body.imu_position, t0, plan, sim, rng(Stream.IMU))
    span = (max(0.0, imu.span[0]), min(float(frame_times[-1]), imu.span[1]))
    annotation = annotate(
        timeline, span, plan.boris, plan.video_fps, sim, data.behaviours, data.grid_hz, rng(Stream.ANNOTATION)
    )
    return SimulatedSession(plan, traits, timeline, t0, body, camera, frame_times, pose, imu, annotation)


def write_session(session: SimulatedSession, folder: Path, data: DataConfig) -> None:
    plan = session.plan
    folder.mkdir(parents=True)
    write_session_yaml(folder / SESSION_YAML, plan)
    write_pose(folder / POSE_FILES[0], session.pose, data.bodyparts, KEYPOINTS, plan.multi_animal)
    write_imu(folder / IMU_FILE, session.imu, plan.imu_columns, plan.temperature)
    if plan.boris:
        write_boris(folder / BORIS_FILE, session.annotation, plan, media_s=len(session.frame_times) / plan.video_fps)
    else:
        write_labels(folder / LABELS_FILE, session.annotation, data.behaviours)


def simulate_dataset(sim: SimulationConfig, data: DataConfig, out_root: Path, progress: bool = True) -> list[str]:
    """Write `<out_root>/sessions/<session_id>/` for every animal x day; returns the session ids, sorted."""
    _check_vocabulary(data)
    sessions_dir = Path(out_root) / "sessions"
    if sessions_dir.is_dir() and any(p.is_dir() for p in sessions_dir.iterdir()):
        raise DataContractError(sessions_dir, "already holds sessions; simulate into an empty or new folder")
    plans = plan_dataset(sim)
    for plan in tqdm(plans, desc="simulate", unit="session", disable=not progress):
        write_session(simulate_session(plan, sim, data), sessions_dir / plan.session_id, data)
    return [plan.session_id for plan in plans]
