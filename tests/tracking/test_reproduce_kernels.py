"""`reproduce` warns, before any training, that a run recorded under other CPU kernels cannot give the same bits."""

from __future__ import annotations

import mlflow
import pytest

from ratbehavior.config import config_to_dict, load_config
from ratbehavior.cpu_kernels import active_kernels
from ratbehavior.data.versioning import DataVersionError
from ratbehavior.tracking.reproduce import reproduce
from ratbehavior.tracking.runs import setup_tracking


def test_a_run_recorded_under_other_kernels_is_reproduced_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = load_config(
        None, [f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}", f"tracking.artifact_root={tmp_path / 'artifacts'}"]
    )
    setup_tracking(cfg)
    other = "AVX512" if active_kernels() != "AVX512" else "AVX2"
    with mlflow.start_run() as run:
        mlflow.set_tags({"data_md5": "0" * 32, "cpu_kernels": other})
        mlflow.log_dict(config_to_dict(cfg), "config.yaml")
    # tmp_path is no DVC project, so the data fetch that follows the check fails.
    with pytest.warns(UserWarning, match=f"trained with {other} CPU kernels"), pytest.raises(DataVersionError):
        reproduce(run.info.run_id, cfg, tmp_path, tmp_path / "out", progress=False)
