"""The demo-dataset simulator: reproducible bytes, the contract's formats, and physics both modalities agree on."""

import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import uniform_filter1d

from ratbehavior.config import DEFAULT_BEHAVIOURS, DEFAULT_BODYPARTS, DataConfig, SimulationConfig
from ratbehavior.data.align import align_session
from ratbehavior.data.imu import STANDARD_GRAVITY
from ratbehavior.data.labels import read_boris, read_frame_labels
from ratbehavior.data.session import SESSION_ID_PATTERN, list_sessions
from ratbehavior.data.simulate import simulate_dataset, simulate_session
from ratbehavior.data.simulate.behaviour import JUMP_PUSH_S, generate_timeline
from ratbehavior.data.simulate.dataset import write_session
from ratbehavior.data.simulate.plan import draw_animal, plan_dataset

TINY = SimulationConfig(seed=3, animals=2, days_per_animal=[2, 1], session_minutes=0.3, boris_fraction=0.34)
CONTRACT_FILES = {"session.yaml", "pose.csv", "imu.csv"}
IMU_COLUMNS = {"time_s", "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"}


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sim")
    simulate_dataset(TINY, DataConfig(), root, progress=False)
    return root


@pytest.fixture(scope="module")
def minute_sessions():
    """In-memory sessions long enough to hold jumps and many turns, with their ground truth."""
    sim = SimulationConfig(seed=5, animals=3, days_per_animal=[1], session_minutes=1.5)
    return [simulate_session(plan, sim, DataConfig()) for plan in plan_dataset(sim)]


def test_same_seed_same_bytes_other_seed_other_bytes(tiny, tmp_path):
    simulate_dataset(TINY, DataConfig(), tmp_path / "again", progress=False)
    assert _hashes(tmp_path / "again") == _hashes(tiny)
    simulate_dataset(TINY.model_copy(update={"seed": 4}), DataConfig(), tmp_path / "other", progress=False)
    other = _hashes(tmp_path / "other")
    assert not set(other.values()) & set(_hashes(tiny).values())


def test_a_session_does_not_depend_on_how_many_animals_come_before():
    more = TINY.model_copy(update={"animals": 3, "days_per_animal": [1, 1, 2]})
    plan = next(p for p in plan_dataset(TINY) if p.animal == "R02")
    same = next(p for p in plan_dataset(more) if p.session_id == plan.session_id)
    # File-format variants are dealt across the dataset, but the rat and its recording are its own.
    first, second = simulate_session(plan, TINY, DataConfig()), simulate_session(same, more, DataConfig())
    assert first.timeline == second.timeline
    assert np.array_equal(first.body.keypoints, second.body.keypoints)
    assert np.array_equal(first.imu.time_s, second.imu.time_s)


def test_refuses_to_write_over_existing_sessions(tiny):
    with pytest.raises(ValueError, match="already holds sessions"):
        simulate_dataset(TINY, DataConfig(), tiny, progress=False)


def test_unknown_vocabulary_is_refused(tmp_path):
    with pytest.raises(ValueError, match="cannot make"):
        simulate_dataset(TINY, DataConfig(behaviours=["walk", "backflip"]), tmp_path, progress=False)


def test_every_session_follows_the_contract(tiny):
    sessions = list_sessions(tiny)
    assert [s.session_id for s in sessions] == sorted(p.session_id for p in plan_dataset(TINY))
    for files in sessions:
        assert SESSION_ID_PATTERN.match(files.session_id)
        names = {p.name for p in files.root.iterdir()}
        assert names >= CONTRACT_FILES and len(names & {"labels.csv", "labels_boris.csv"}) == 1
        meta = files.meta
        assert meta.video_fps in (25, 30, 60) and 100 <= meta.imu_rate_hz <= 400
        assert 0.0 < abs(meta.imu_offset_s) <= 0.5

        pose = pd.read_csv(files.pose, header=[0, 1, 2], index_col=0)
        if pose.columns.get_level_values(1)[0] == "rat1":
            pose = pd.read_csv(files.pose, header=[0, 1, 2, 3], index_col=0).droplevel([0, 1], axis=1)
        else:
            pose = pose.droplevel(0, axis=1)
        assert list(dict.fromkeys(pose.columns.get_level_values(0))) == list(DEFAULT_BODYPARTS)
        assert list(pose.index) == list(range(int(TINY.session_minutes * 60 * meta.video_fps)))
        likelihood = pose.xs("likelihood", axis=1, level=1).to_numpy()
        assert np.nanmin(likelihood) >= 0 and np.nanmax(likelihood) <= 1

        imu = pd.read_csv(files.imu)
        assert set(imu.columns) >= IMU_COLUMNS
        assert (np.diff(imu["time_s"]) > 0).all()
        steps = np.diff(imu["time_s"])
        assert np.median(steps) == pytest.approx(1.0 / meta.imu_rate_hz, rel=0.05)
        acc = np.linalg.norm(imu[["acc_x", "acc_y", "acc_z"]].to_numpy(), axis=1)
        gravity = 1.0 if meta.imu_units.acc == "g" else STANDARD_GRAVITY
        assert np.median(acc) == pytest.approx(gravity, rel=0.1)
        gyr = np.abs(imu[["gyr_x", "gyr_y", "gyr_z"]].to_numpy())
        fast = np.percentile(gyr, 99.5)
        assert (fast < 10.0) if meta.imu_units.gyr == "rad/s" else (fast > 30.0)

        aligned = align_session(files, DataConfig())
        low, high = TINY.labelled_fraction
        assert low - 0.02 <= aligned.label_mask.mean() <= high + 0.02
        assert aligned.labels[aligned.label_mask].any(axis=1).all(), "every annotated frame shows some behaviour"


def test_format_variants_appear(tiny):
    metas = [s.meta for s in list_sessions(tiny)]
    assert {m.imu_units.acc for m in metas} == {"g", "m/s^2"}
    assert {m.imu_units.gyr for m in metas} == {"rad/s", "deg/s"}
    headers = [(tiny / "sessions" / s.session_id / "pose.csv").read_text().splitlines()[1] for s in list_sessions(tiny)]
    assert any(h.startswith("individuals,rat1") for h in headers)
    boris = [s for s in list_sessions(tiny) if s.boris is not None]
    assert len(boris) == 1


def test_labels_csv_has_the_vocabulary_and_boris_spans_are_contiguous(tiny, tmp_path):
    sim = TINY.model_copy(update={"boris_fraction": 1.0})
    simulate_dataset(sim, DataConfig(), tmp_path, progress=False)
    for files in list_sessions(tmp_path):
        assert files.labels is None and files.boris is not None
        events = pd.read_csv(files.boris)
        for column in ("Subject", "Behavior", "Behavior type", "Start (s)", "Stop (s)", "Duration (s)"):
            assert column in events.columns
        assert set(events["Behavior type"]) == {"STATE"}
        table = read_boris(files.boris, 50.0, DEFAULT_BEHAVIOURS)
        assert (np.diff(table.index) == 1).all()
        assert table.to_numpy().any(axis=1).all()
    files = next(f for f in list_sessions(tiny) if f.labels is not None)
    assert files.labels.read_text().splitlines()[0] == ",".join(["frame", *DEFAULT_BEHAVIOURS])
    assert len(read_frame_labels(files.labels, DEFAULT_BEHAVIOURS)) > 0


def test_labels_are_the_simulated_behaviour_up_to_boundary_noise(minute_sessions):
    for session in minute_sessions:
        annotation = session.annotation
        truth = session.timeline.active(DEFAULT_BEHAVIOURS, annotation.frames / 50.0)
        assert (annotation.labels == truth).mean() > 0.98


def test_rare_behaviours_are_present_but_rare():
    totals = np.zeros(len(DEFAULT_BEHAVIOURS))
    seconds = np.arange(0.0, 600.0, 0.02)
    for animal in range(1, 7):
        traits = draw_animal(11, animal, 1.0)
        timeline = generate_timeline(traits, "arena", 0.0, 600.0, np.random.default_rng(animal))
        totals += timeline.active(DEFAULT_BEHAVIOURS, seconds).mean(axis=0) / 6
    share = dict(zip(DEFAULT_BEHAVIOURS, totals, strict=True))
    for rare in ("jump", "aiming", "scratch"):
        assert 0.002 < share[rare] < 0.025, rare
    for common in ("walk", "still", "local_search", "grooming", "eating", "rearing"):
        assert share[common] > 0.04, common


def test_gyro_yaw_matches_the_head_turn_seen_by_the_camera(minute_sessions):
    """During each turn, the gyro's rate about the vertical (the accelerometer's mean direction) equals
    the nose's rate of turn seen from above; the sensor is tilted on the head, so its own z axis would not."""
    seen, felt = [], []
    for s in minute_sessions:
        scale = 180.0 / math.pi if s.plan.gyr_unit == "rad/s" else 1.0
        t_imu = s.imu.time_s - s.plan.imu_offset_s
        up = uniform_filter1d(s.imu.acc, size=int(0.3 * s.plan.imu_rate_hz), axis=0)
        up /= np.linalg.norm(up, axis=1, keepdims=True)
        yaw_rate = (s.imu.gyr * up).sum(axis=1) * scale
        nose, neck = s.pose.xy[:, 0], s.pose.xy[:, 3]
        good = np.nan_to_num(s.pose.likelihood[:, [0, 3]]).min(axis=1) > 0.8
        # Image rows grow downwards, so counter-clockwise on the floor is -y in the image.
        yaw = np.arctan2(-(nose[:, 1] - neck[:, 1]), nose[:, 0] - neck[:, 0])
        for turn in (b for b in s.timeline.overlays if b.behaviour.startswith("turn_")):
            inside = (s.frame_times >= turn.start + 0.1) & (s.frame_times <= turn.stop - 0.1)
            samples = (t_imu >= turn.start + 0.1) & (t_imu <= turn.stop - 0.1)
            if inside.sum() < 8 or good[inside].mean() < 0.9 or samples.sum() < 10:
                continue
            frames = np.flatnonzero(inside & good)
            track = np.degrees(np.unwrap(yaw[frames]))
            seen.append(np.polyfit(s.frame_times[frames], track, 1)[0])
            felt.append(yaw_rate[samples].mean())
    seen, felt = np.array(seen), np.array(felt)
    assert seen.size >= 10
    assert np.corrcoef(seen, felt)[0, 1] > 0.9
    assert 0.8 < np.median(felt / seen) < 1.25


def test_the_accelerometer_falls_freely_during_a_jump(minute_sessions):
    flights = 0
    for s in minute_sessions:
        gravity = 1.0 if s.plan.acc_unit == "g" else STANDARD_GRAVITY
        magnitude = np.linalg.norm(s.imu.acc, axis=1) / gravity
        t_imu = s.imu.time_s - s.plan.imu_offset_s
        for jump in (b for b in s.timeline.primary if b.behaviour == "jump"):
            flight = (t_imu > jump.start + JUMP_PUSH_S + 0.05) & (t_imu < jump.stop - JUMP_PUSH_S - 0.05)
            if flight.sum() >= 3:
                flights += 1
                assert np.median(magnitude[flight]) < 0.35
        assert np.median(magnitude) == pytest.approx(1.0, abs=0.1)
    assert flights >= 1


def test_out_of_view_frames_have_low_likelihood_and_imu_carries_on(minute_sessions):
    for s in minute_sessions:
        hidden = s.pose.out_of_view
        assert 0.01 < hidden.mean() < 0.1
        assert np.nanmedian(s.pose.likelihood[hidden]) < 0.1
        assert np.nanmedian(s.pose.likelihood[~hidden]) > 0.8
        t_imu = s.imu.time_s - s.plan.imu_offset_s
        inside = (t_imu >= s.frame_times[hidden][0]) & (t_imu <= s.frame_times[hidden][-1])
        assert inside.sum() > 0


def test_imu_offset_is_the_true_clock_offset(minute_sessions, tmp_path):
    """Once the reader shifts the IMU by imu_offset_s, the keypoints' rate of turn and the gyro's rate
    about the vertical line up best at zero lag."""
    for session in minute_sessions:
        write_session(session, tmp_path / "sessions" / session.plan.session_id, DataConfig())
    for files in list_sessions(tmp_path):
        aligned = align_session(files, DataConfig())
        xy = aligned.pose_xy.astype(float)
        heading = np.arctan2(-(xy[:, 0, 1] - xy[:, 3, 1]), xy[:, 0, 0] - xy[:, 3, 0])
        # Over 0.2 s, so that keypoint jitter does not drown the rate.
        seen = np.full_like(heading, np.nan)
        seen[5:-5] = np.degrees(np.angle(np.exp(1j * (heading[10:] - heading[:-10])))) * 5.0
        up = uniform_filter1d(np.nan_to_num(aligned.imu[:, :3]), size=15, axis=0)
        felt = (np.nan_to_num(aligned.imu[:, 3:]) * up).sum(axis=1) / np.linalg.norm(up, axis=1).clip(1e-6)
        felt = uniform_filter1d(felt, size=11)
        ok = np.isfinite(seen) & aligned.imu_mask
        lags = np.arange(-15, 16)
        middle = slice(15, -15)
        score = [np.corrcoef(seen[middle][ok[middle]], np.roll(felt, lag)[middle][ok[middle]])[0, 1] for lag in lags]
        assert abs(lags[int(np.argmax(score))]) <= 1, files.session_id
        assert max(score) > 0.25, files.session_id


def test_imu_drops_packets_and_has_a_few_long_gaps(minute_sessions):
    for s in minute_sessions:
        steps = np.diff(s.imu.time_s) * s.plan.imu_rate_hz
        assert 0.002 < (steps > 1.5).mean() < 0.05
    long_gaps = sum(int((np.diff(s.imu.time_s) > 0.2).sum()) for s in minute_sessions)
    assert 1 <= long_gaps <= 10
