"""Ray Train with its storage on a real S3-compatible server: features and checkpoints go through s3://."""

import pyarrow.fs as pafs
import pytest

from ratbehavior.training.ray_launcher import train_on_ray
from tests.s3server import ACCESS_KEY, SECRET_KEY, s3_server
from tests.training.toy import tiny_config, toy_dataset


@pytest.mark.slow
def test_a_real_worker_trains_with_features_and_checkpoints_on_s3(local_ray, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    with s3_server(tmp_path / "s3") as s3:
        s3.make_bucket("runs")
        cfg = tiny_config(
            "ray.num_workers=1", "ray.storage_path=s3://runs/ratbehavior", f"ray.s3_endpoint={s3.endpoint}",
            "training.pretrain.epochs=0", "training.align.epochs=0", "training.pseudo_labels.rounds=0",
        )  # fmt: skip
        trained = train_on_ray(toy_dataset(), cfg, ["A2"], run_name="s3")
        stored = [i.path for i in s3.filesystem().get_file_info(pafs.FileSelector("runs/ratbehavior", recursive=True))]
    assert trained.calibration.threshold.shape == (3,)
    assert "runs/ratbehavior/s3/features/sessions.txt" in stored
    # The classifier job started from the stage-3 job's last checkpoint, read back from S3.
    assert any(p.startswith("runs/ratbehavior/s3-stage3/checkpoint_") and p.endswith("/stage3.pt") for p in stored)
    assert any(
        p.startswith("runs/ratbehavior/s3-classifier/checkpoint_") and p.endswith("/classifier.pt") for p in stored
    )
