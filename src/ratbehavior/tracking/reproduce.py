"""Reproduce a recorded run: its data version fetched from the DVC remote by md5 (whatever the
workspace holds now), its configuration, seed and torch thread count, trained again and compared
metric by metric. The same bits need the same instruction set of the CPU kernels too, and so far the
same kind of CPU: a run recorded under other kernels or on another CPU is still retrained, with a
warning that its metrics may not match exactly."""

from __future__ import annotations

import math
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import mlflow
import torch
import yaml
from mlflow.exceptions import MlflowException

from ratbehavior.config import Config
from ratbehavior.cpu_kernels import active_kernels, cpu_name
from ratbehavior.data.versioning import fetch_version
from ratbehavior.errors import InputError
from ratbehavior.steps import ALL_ANIMALS, TIME_PREFIX, WEIGHTS_PREFIX
from ratbehavior.training.pipeline import stage_names
from ratbehavior.workflow import WorkflowResult, run_workflow


@dataclass(frozen=True)
class Reproduction:
    original_run_id: str
    result: WorkflowResult
    # metric -> (original, reproduced) for every quality metric that differs; empty when reproduced.
    differences: dict[str, tuple[float | None, float | None]]
    # held-out animal -> the first training step after which the fold's weights differ.
    diverged: dict[str, str]

    @property
    def exact(self) -> bool:
        return not self.differences


def _same(a: float | None, b: float | None) -> bool:
    """Exact equality: on CPU a reproduction must give the same bits. NaN (no frame to score) equals NaN."""
    if a is None or b is None:
        return a is b
    return a == b or (math.isnan(a) and math.isnan(b))


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with `n` torch threads, then give the caller back its own count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def first_divergence(
    before: Mapping[str, Mapping[str, str]], after: Mapping[str, Mapping[str, str]], steps: Sequence[str]
) -> dict[str, str]:
    """Per fold (held-out animal -> step -> weights hash), the first of `steps` whose hashes differ."""
    diverged = {}
    for animal in sorted(before.keys() & after.keys()):
        step = next((s for s in steps if before[animal].get(s) != after[animal].get(s)), None)
        if step is not None:
            diverged[animal] = step
    return diverged


def fold_weights(run_id: str) -> dict[str, dict[str, str]]:
    """Per held-out animal of the run's folds, the hash of the fold's weights after each step."""
    client = mlflow.MlflowClient()
    folds = client.search_runs([client.get_run(run_id).info.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'")
    return {
        fold.data.tags["held_out_animal"]: {
            key.removeprefix(WEIGHTS_PREFIX): value
            for key, value in fold.data.tags.items()
            if key.startswith(WEIGHTS_PREFIX)
        }
        for fold in folds
        if fold.data.tags.get("held_out_animal", ALL_ANIMALS) != ALL_ANIMALS
    }


def _quality_metrics(run_id: str) -> dict[str, float]:
    metrics = mlflow.MlflowClient().get_run(run_id).data.metrics
    return {k: v for k, v in metrics.items() if not k.startswith(TIME_PREFIX)}


def reproduce(run_id: str, cfg: Config, repo: Path, out: Path, progress: bool = True) -> Reproduction:
    """`cfg` only says where tracking is; the run's own configuration is read back from the run."""
    from ratbehavior.tracking.runs import setup_tracking

    setup_tracking(cfg)
    try:
        original = mlflow.MlflowClient().get_run(run_id)
    except MlflowException as err:
        raise InputError(f"run {run_id}: {err.message}") from err
    tags = original.data.tags
    if "data_md5" not in tags:
        raise InputError(f"run {run_id} records no data version (data_md5); it cannot be reproduced")
    with tempfile.TemporaryDirectory() as tmp:
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="config.yaml", dst_path=tmp)
        recorded = Config.model_validate(yaml.safe_load(Path(path).read_text()))
    recorded_kernels, kernels = tags.get("cpu_kernels"), active_kernels()
    if recorded_kernels and recorded_kernels != kernels:
        warnings.warn(
            f"run {run_id} trained with {recorded_kernels} CPU kernels and this process has {kernels}: "
            "the metrics can differ (set ATEN_CPU_CAPABILITY, MKL_CBWR and ONEDNN_MAX_CPU_ISA as it had them)",
            stacklevel=2,
        )
    recorded_cpu, cpu = tags.get("cpu"), cpu_name()
    if recorded_cpu and recorded_cpu != cpu:
        # Measured: an Intel and an AMD CPU, both on AVX2 kernels, trained different models (README).
        warnings.warn(f"run {run_id} trained on {recorded_cpu} and this is {cpu}: the metrics can differ", stacklevel=2)
    data = fetch_version(repo, tags["data_md5"], out / "data-version")
    folds = tags.get("folds")
    with torch_threads(int(tags.get("torch_threads", torch.get_num_threads()))):
        result = run_workflow(
            data, recorded, out, repo,
            animals=folds.split(",") if folds else None,
            extra_tags={"reproduces": run_id},
            progress=progress,
        )  # fmt: skip
    before, after = _quality_metrics(run_id), _quality_metrics(result.run_id)
    differences = {
        key: (before.get(key), after.get(key))
        for key in sorted(before.keys() | after.keys())
        if not _same(before.get(key), after.get(key))
    }
    diverged = first_divergence(fold_weights(run_id), fold_weights(result.run_id), stage_names(recorded))
    return Reproduction(run_id, result, differences, diverged)
