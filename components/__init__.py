"""One Kubeflow Pipelines component per step, each a few lines calling `ratbehavior.steps`.

Lightweight Python components on the project image with `install_kfp_package=False`: the image
already holds the package, so the same component runs in Kubeflow's local subprocess runner (this
machine's environment) and on a cluster. Every component takes the project folder, the config file
and its overrides, and the MLflow URI, and loads the configuration with `steps.pipeline_config`.
Their bodies import inside the function because KFP ships only the function's source.
"""

import os
from typing import NamedTuple

from kfp import dsl

# The image every component runs; `ratbehavior pipeline compile --image` bakes another one in.
IMAGE = os.environ.get("RATBEHAVIOR_IMAGE", "ratbehavior:0.1.0")


def _component(func):
    return dsl.component(base_image=IMAGE, install_kfp_package=False)(func)


@_component
def resolve_data_version(repo: str, rev: str) -> NamedTuple("DataVersion", [("commit", str), ("data_md5", str)]):
    from collections import namedtuple
    from pathlib import Path

    from ratbehavior.data.versioning import resolve_rev

    commit, md5 = resolve_rev(Path(repo), rev)
    return namedtuple("DataVersion", ["commit", "data_md5"])(commit, md5)


@_component
def fetch_data(repo: str, data_md5: str, workdir: str) -> str:
    from pathlib import Path

    from ratbehavior.data.versioning import fetch_version

    target = Path(repo) / workdir / f"data-{data_md5.removesuffix('.dir')[:12]}"
    return str(fetch_version(Path(repo), data_md5, target))


@_component
def start_run(
    repo: str,
    config: str,
    overrides: str,
    mlflow_uri: str,
    ray_address: str,
    data_root: str,
    commit: str,
    kfp_run_id: str,
) -> str:
    from pathlib import Path

    from ratbehavior import steps

    cfg = steps.pipeline_config(repo, config, overrides, mlflow_uri, ray_address)
    # The data version's commit, which a moving rev resolved to, not whatever the checkout is on.
    tags = {"kfp_run_id": kfp_run_id, "git_commit": commit, "mlflow.source.git.commit": commit}
    return steps.start_run(cfg, Path(repo), Path(data_root), tags)


@_component
def validate(
    repo: str, config: str, overrides: str, mlflow_uri: str, ray_address: str, run_id: str, data_root: str, workdir: str
):
    from pathlib import Path

    from ratbehavior import steps

    cfg = steps.pipeline_config(repo, config, overrides, mlflow_uri, ray_address)
    steps.validate(run_id, cfg, Path(data_root), Path(repo) / workdir / run_id / "validation")


@_component
def build_features(
    repo: str, config: str, overrides: str, mlflow_uri: str, ray_address: str, run_id: str, data_root: str, workdir: str
) -> str:
    from pathlib import Path

    from ratbehavior import steps

    cfg = steps.pipeline_config(repo, config, overrides, mlflow_uri, ray_address)
    return str(steps.features(run_id, cfg, Path(data_root), Path(repo) / workdir / run_id / "features"))


@_component
def list_folds(run_id: str, features: str, animals: list) -> list:
    """One item per fold, carrying the run and the features: Kubeflow's local runner hands a loop's
    tasks the loop item in place of outputs of tasks outside the loop, so those travel in the item."""
    from pathlib import Path

    from ratbehavior import steps

    held_out = list(animals) if animals else steps.animals(Path(features))
    return [{"held_out": a, "run_id": run_id, "features": features} for a in held_out]


@_component
def start_fold(
    repo: str, config: str, overrides: str, mlflow_uri: str, ray_address: str, run_id: str, features: str, held_out: str
) -> str:
    from pathlib import Path

    from ratbehavior import steps

    cfg = steps.pipeline_config(repo, config, overrides, mlflow_uri, ray_address)
    return steps.start_fold(run_id, cfg, Path(features), held_out)


@_component
def train_step(
    repo: str,
    config: str,
    overrides: str,
    mlflow_uri: str,
    ray_address: str,
    fold_run_id: str,
    held_out: str,
    step: str,
    previous: str,
) -> str:
    """Stage 1, 2, 3 or the classifier (`step`) as one Ray Train job; the pipeline shows each as its own task."""
    from ratbehavior import steps

    cfg = steps.pipeline_config(repo, config, overrides, mlflow_uri, ray_address)
    return steps.train(fold_run_id, cfg, held_out, step, previous)


@_component
def pseudo_label_round(
    repo: str,
    config: str,
    overrides: str,
    mlflow_uri: str,
    ray_address: str,
    fold_run_id: str,
    held_out: str,
    previous: str,
    round_number: int,
    member: int = 0,
) -> str:
    """Stage 3 on the confident pseudo-labels of the previous classifier, then the classifier again
    (of ensemble member `member`)."""
    from ratbehavior import steps
    from ratbehavior.training.pipeline import member_prefix

    cfg = steps.pipeline_config(repo, config, overrides, mlflow_uri, ray_address)
    prefix = member_prefix(member)
    tuned = steps.train(fold_run_id, cfg, held_out, f"{prefix}stage3_round{round_number}", previous)
    return steps.train(fold_run_id, cfg, held_out, f"{prefix}classifier_round{round_number}", tuned)


@_component
def evaluate_fold(
    repo: str,
    config: str,
    overrides: str,
    mlflow_uri: str,
    ray_address: str,
    run_id: str,
    fold_run_id: str,
    features: str,
    held_out: str,
    checkpoint: str,
    workdir: str,
) -> str:
    from pathlib import Path

    from ratbehavior import steps

    cfg = steps.pipeline_config(repo, config, overrides, mlflow_uri, ray_address)
    out = Path(repo) / workdir / run_id / "folds"
    return str(steps.evaluate_fold(fold_run_id, cfg, Path(features), held_out, checkpoint, out))


@_component
def aggregate(
    repo: str,
    config: str,
    overrides: str,
    mlflow_uri: str,
    ray_address: str,
    run_id: str,
    features: str,
    fold_files: list,
    workdir: str,
) -> bool:
    from pathlib import Path

    from ratbehavior import steps

    cfg = steps.pipeline_config(repo, config, overrides, mlflow_uri, ray_address)
    out = Path(repo) / workdir / run_id / "evaluation"
    gate = steps.aggregate(run_id, cfg, Path(features), [Path(f) for f in fold_files], out)
    print(f"gate: {gate.verdict}")
    return gate.passed


@_component
def export_model(
    repo: str,
    config: str,
    overrides: str,
    mlflow_uri: str,
    ray_address: str,
    run_id: str,
    features: str,
    checkpoint: str,
    workdir: str,
) -> str:
    from pathlib import Path

    from ratbehavior import steps

    cfg = steps.pipeline_config(repo, config, overrides, mlflow_uri, ray_address)
    return steps.export_model(run_id, cfg, Path(features), checkpoint, Path(repo) / workdir / run_id / "model")


@_component
def register(
    repo: str, config: str, overrides: str, mlflow_uri: str, ray_address: str, run_id: str, model_uri: str
) -> str:
    from ratbehavior import steps

    cfg = steps.pipeline_config(repo, config, overrides, mlflow_uri, ray_address)
    version = steps.register_model(run_id, cfg, model_uri)
    print(f"registered {cfg.tracking.model_name} version {version} (alias candidate)")
    return version
