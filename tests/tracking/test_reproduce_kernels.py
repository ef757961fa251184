"""`reproduce` warns, before any training, that a run recorded under other CPU kernels or on another CPU
may not give the same bits."""

from __future__ import annotations

import warnings

import mlflow
import pytest

from ratbehavior.config import config_to_dict, load_config
from ratbehavior.cpu_kernels import active_kernels, cpu_name
from ratbehavior.data.versioning import DataVersionError
from ratbehavior.tracking.reproduce import reproduce
from ratbehavior.tracking.runs import setup_tracking


def _reproduce_warnings(tmp_path, monkeypatch, tags: dict[str, str]) -> list[str]:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = load_config(
        None, [f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}", f"tracking.artifact_root={tmp_path / 'artifacts'}"]
    )
    setup_tracking(cfg)
    with mlflow.start_run() as run:
        mlflow.set_tags({"data_md5": "0" * 32} | tags)
        mlflow.log_dict(config_to_dict(cfg), "config.yaml")
    # tmp_path is no DVC project, so the data fetch that follows the checks fails.
    with warnings.catch_warnings(record=True) as caught, pytest.raises(DataVersionError):
        warnings.simplefilter("always")
        reproduce(run.info.run_id, cfg, tmp_path, tmp_path / "out", progress=False)
    return [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def test_a_run_recorded_under_other_kernels_is_reproduced_with_a_warning(tmp_path, monkeypatch):
    other = "AVX512" if active_kernels() != "AVX512" else "AVX2"
    messages = _reproduce_warnings(tmp_path, monkeypatch, {"cpu_kernels": other, "cpu": cpu_name()})
    trained = [m for m in messages if "trained" in m]
    assert (
        len(trained) == 1 and f"trained with {other} CPU kernels and this process has {active_kernels()}" in trained[0]
    )


def test_a_run_recorded_on_another_cpu_is_reproduced_with_a_warning(tmp_path, monkeypatch):
    messages = _reproduce_warnings(tmp_path, monkeypatch, {"cpu_kernels": active_kernels(), "cpu": "Other CPU"})
    trained = [m for m in messages if "trained" in m]
    assert len(trained) == 1 and trained[0].endswith(
        f"trained on Other CPU and this is {cpu_name()}: the metrics can differ"
    )
