"""Every step of a training as a Ray Train job: stage 1, 2, 3, the classifier and each pseudo-label round.

The driver writes the features once to the storage URI and launches one `TorchTrainer` per step,
each resuming from the previous step's last checkpoint. A checkpoint is the whole folder of stage
files, so a job that fails mid-stage restarts (`FailureConfig`) from its last epoch, and the next
job finds every earlier stage complete and only loads it. The same `train_model` runs in every
worker: Ray adds placement, the process group, checkpoint storage and restarts, nothing else.
"""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import torch

from ratbehavior.config import Config
from ratbehavior.data.dataset import SessionData, load_session, save_session
from ratbehavior.errors import InputError
from ratbehavior.tracking.runs import EpochLogger, StepRuns
from ratbehavior.training.checkpoint import Checkpoints
from ratbehavior.training.config import RayConfig
from ratbehavior.training.distributed import is_main
from ratbehavior.training.loop import EpochHook
from ratbehavior.training.pipeline import TrainedModel, stage_names, train_model


def storage(ray_cfg: RayConfig) -> tuple[str, pafs.FileSystem | None]:
    """(path, filesystem) for Ray's RunConfig: an absolute local folder, or bucket/prefix on S3."""
    if ray_cfg.storage_path.startswith("s3://"):
        filesystem = pafs.S3FileSystem(
            endpoint_override=ray_cfg.s3_endpoint,
            scheme="http" if (ray_cfg.s3_endpoint or "").startswith("http://") else "https",
            access_key=os.environ.get("AWS_ACCESS_KEY_ID"),
            secret_key=os.environ.get("AWS_SECRET_ACCESS_KEY"),
            region=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        )
        return ray_cfg.storage_path.removeprefix("s3://"), filesystem
    return str(Path(ray_cfg.storage_path).resolve()), None


def _copy(
    source: str, destination: str, source_fs: pafs.FileSystem | None, destination_fs: pafs.FileSystem | None
) -> None:
    destination_fs = destination_fs or pafs.LocalFileSystem()
    destination_fs.create_dir(destination, recursive=True)
    pafs.copy_files(
        source,
        destination,
        source_filesystem=source_fs or pafs.LocalFileSystem(),
        destination_filesystem=destination_fs,
    )


def _s3_credentials() -> dict[str, str]:
    """The driver's S3 credentials, for workers whose processes did not inherit its environment (a
    local Ray started earlier). On a cluster the workers get them from a Secret and this adds nothing new."""
    names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    return {name: os.environ[name] for name in names if name in os.environ}


def upload_features(sessions: Sequence[SessionData], ray_cfg: RayConfig, run_name: str) -> str:
    """Write the featurised sessions where every worker can read them; returns their location."""
    root, filesystem = storage(ray_cfg)
    target = f"{root}/{run_name}/features"
    with tempfile.TemporaryDirectory() as tmp:
        for session in sessions:
            save_session(session, Path(tmp))
        (Path(tmp) / "sessions.txt").write_text("\n".join(s.session_id for s in sessions) + "\n")
        _copy(tmp, target, None, filesystem)
    return target


def download_features(location: str, ray_cfg: RayConfig, folder: Path) -> list[SessionData]:
    _copy(location, str(folder), storage(ray_cfg)[1], None)
    return [load_session(folder, sid) for sid in (folder / "sessions.txt").read_text().split()]


class RayCheckpoints(Checkpoints):
    """Stage files in a worker-local folder, reported to Ray after every epoch: Ray persists the folder
    to the run's storage and hands the latest one back to a restarted worker group."""

    reported = False

    def save(self, stage: str, state: dict[str, Any]) -> None:
        if is_main():
            super().save(stage, state)
        self.report({"stage": stage, "epoch": state["epoch"]})

    def report(self, metrics: dict[str, Any]) -> None:
        import ray.train

        # Every worker reports (the call is a barrier); only rank 0 attaches the checkpoint.
        checkpoint = ray.train.Checkpoint.from_directory(str(self.folder)) if is_main() else None
        ray.train.report(metrics, checkpoint=checkpoint)
        self.reported = True


def worker_loop(loop_config: dict[str, Any]) -> None:
    """What each Ray Train worker runs: fetch the features and the latest checkpoint, then train
    up to and including this job's step."""
    import ray.train

    cfg = Config.model_validate(loop_config["config"])
    if cfg.ray.num_workers > 0:
        # A worker owns cpus_per_worker CPUs; torch's default of one thread per core would oversubscribe.
        torch.set_num_threads(max(1, int(cfg.ray.cpus_per_worker)))
    root, filesystem = storage(cfg.ray)
    # Local mode reports the worker's folder as is (nothing is uploaded), so it must outlive the job:
    # it sits in the run's storage when that is local. Real workers' folders are uploaded by Ray and
    # then thrown away.
    local_mode = cfg.ray.num_workers == 0
    in_storage = local_mode and filesystem is None
    work = Path(root) / loop_config["run"] / f"local-{loop_config['step']}" if in_storage else Path(tempfile.mkdtemp())
    try:
        sessions = download_features(loop_config["features"], cfg.ray, work / "features")
        # This job's own latest checkpoint after a restart, else where the previous step ended.
        checkpoint = ray.train.get_checkpoint()
        if checkpoint is None and loop_config["previous"]:
            checkpoint = ray.train.Checkpoint(loop_config["previous"], filesystem=filesystem)
        if checkpoint is not None:
            checkpoint.to_directory(str(work / "checkpoints"))
        checkpoints = RayCheckpoints(work / "checkpoints")
        train_model(
            sessions, cfg, loop_config["holdout"], progress=loop_config["progress"], hooks=loop_config["hooks"],
            checkpoints=checkpoints, stop_after=loop_config["step"],
        )  # fmt: skip
        if not checkpoints.reported:
            # Ray restored a run of the same name that had already finished this step: hand its
            # checkpoint back, or the driver would get none.
            checkpoints.report({"stage": loop_config["step"], "epoch": -1})
    finally:
        if not local_mode:
            shutil.rmtree(work, ignore_errors=True)


def ensure_ray(ray_cfg: RayConfig) -> None:
    """Connect to the Ray this process belongs to (inside a Ray job), or start one on this machine:
    no dashboard, no usage statistics."""
    import ray

    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if os.environ.get("RAY_ADDRESS"):
        ray.init()
    else:
        ray.init(num_cpus=ray_cfg.local_num_cpus, include_dashboard=False, log_to_driver=False)


def run_step(
    step: str,
    features: str,
    cfg: Config,
    holdout_animals: Sequence[str],
    run_name: str,
    previous: str | None,
    progress: bool = False,
    hooks: Sequence[EpochHook] = (),
    step_runs: StepRuns | None = None,
) -> str:
    """One step of a training as one Ray Train job: the workers read the features at `features` and
    resume from the checkpoint at `previous` (the last step's, None for the first). Returns the path
    of this step's last checkpoint in the run's storage. With `step_runs`, the driver creates the
    step's tracking run and rank 0 logs the epoch losses into it: a restarted worker group finds the
    same run id in its loop config, so it never makes a second run."""
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    ensure_ray(cfg.ray)
    path, filesystem = storage(cfg.ray)
    r = cfg.ray
    resources = {"CPU": r.cpus_per_worker, **({"GPU": r.gpus_per_worker} if r.gpus_per_worker else {})}
    tracking_run = step_runs.start(step) if step_runs else None
    step_hooks = [*hooks, *([EpochLogger(step_runs.uri, tracking_run)] if step_runs and tracking_run else [])]
    trainer = TorchTrainer(
        worker_loop,
        train_loop_config={
            "config": cfg.model_dump(mode="json"), "features": features, "holdout": list(holdout_animals),
            "step": step, "progress": progress, "run": run_name, "hooks": step_hooks, "previous": previous,
        },
        scaling_config=ScalingConfig(
            num_workers=r.num_workers, use_gpu=r.gpus_per_worker > 0, resources_per_worker=resources,
        ),
        run_config=RunConfig(
            name=f"{run_name}-{step}", storage_path=path, storage_filesystem=filesystem,
            failure_config=FailureConfig(max_failures=r.max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=2),
            worker_runtime_env={"env_vars": _s3_credentials()} if filesystem is not None else None,
        ),
    )  # fmt: skip
    started = time.perf_counter()
    try:
        checkpoint = trainer.fit().checkpoint
    except BaseException:
        if step_runs and tracking_run:
            step_runs.finish(tracking_run, {}, failed=True)
        raise
    if step_runs and tracking_run:
        step_runs.finish(tracking_run, {"seconds": time.perf_counter() - started})
    return checkpoint.path


@contextmanager
def local_checkpoint(cfg: Config, checkpoint: str) -> Iterator[Path]:
    """A finished training's last checkpoint, copied from Ray's storage to a folder that lives for the
    block. Fails if a step of the configuration is missing there: loading it would train that step
    here, outside Ray (a pipeline compiled with fewer rounds or members than the configuration has)."""
    import ray.train

    with tempfile.TemporaryDirectory() as tmp:
        ray.train.Checkpoint(checkpoint, filesystem=storage(cfg.ray)[1]).to_directory(tmp)
        missing = [step for step in stage_names(cfg) if not (Path(tmp) / f"{step}.pt").is_file()]
        if missing:
            raise InputError(
                f"{checkpoint}: the training stopped before {', '.join(missing)}; a pipeline must be compiled "
                "with the configuration's pseudo-label rounds and members (--rounds, --members)"
            )
        yield Path(tmp)


def trained_from_checkpoint(
    sessions: Sequence[SessionData], cfg: Config, holdout_animals: Sequence[str], checkpoint: str
) -> TrainedModel:
    """The model a training's last checkpoint holds. Every step is complete there, so this only loads
    the weights and recomputes the calibration, exactly as the workers did."""
    with local_checkpoint(cfg, checkpoint) as folder:
        return train_model(sessions, cfg, holdout_animals, folder)


def train_on_ray(
    sessions: Sequence[SessionData],
    cfg: Config,
    holdout_animals: Sequence[str] = (),
    run_name: str | None = None,
    progress: bool = False,
    hooks: Sequence[EpochHook] = (),
    step_runs: StepRuns | None = None,
) -> TrainedModel:
    """`train_model`, one Ray Train job per step (`run_step`). `run_name` names the runs under the
    storage path. `hooks` run in every worker after each epoch (they are pickled: plain functions)."""
    started = time.perf_counter()
    ensure_ray(cfg.ray)
    run_name = run_name or time.strftime("train-%Y%m%d-%H%M%S")
    features = upload_features(sessions, cfg.ray, run_name)
    previous = None
    for step in stage_names(cfg):
        previous = run_step(step, features, cfg, holdout_animals, run_name, previous, progress, hooks, step_runs)
    trained = trained_from_checkpoint(sessions, cfg, holdout_animals, previous)
    trained.seconds = time.perf_counter() - started
    return trained


def submit_to_cluster(
    address: str, entrypoint: list[str], env: dict[str, str] | None = None, poll_s: float = 5.0
) -> tuple[str, str, str]:
    """Run a `ratbehavior` command on a Ray cluster through the Jobs API and wait for it: the cluster's
    image has the package, and the command's paths (data, storage) must be reachable from there.
    Returns (job id, final status, logs); the logs are also printed as they arrive."""
    from ray.job_submission import JobStatus, JobSubmissionClient

    client = JobSubmissionClient(address)
    deadline = time.monotonic() + 120
    while True:
        try:
            job_id = client.submit_job(
                entrypoint=shlex.join(entrypoint),
                runtime_env={"env_vars": {"RAY_USAGE_STATS_ENABLED": "0", **(env or {})}},
            )
            break
        except RuntimeError as err:
            # A head that has just started answers before its job agent is up.
            if "No available agent" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(poll_s)
    printed = 0
    while True:
        status = client.get_job_status(job_id)
        logs = client.get_job_logs(job_id)
        print(logs[printed:], end="", flush=True)
        printed = len(logs)
        if status in {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED}:
            return job_id, str(status), logs
        time.sleep(poll_s)
