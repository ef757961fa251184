"""Where a run came from: code, data, configuration, environment. Every run carries these as tags,
and `reproduce` reads them back."""

from __future__ import annotations

import os
import subprocess
from importlib import metadata
from pathlib import Path

import torch

from ratbehavior.config import Config, config_hash
from ratbehavior.cpu_kernels import active_kernels, cpu_name, mkl_branch
from ratbehavior.data.versioning import DataVersionError, default_remote, read_data_version, workspace_md5

PACKAGES = ("ratbehavior", "torch", "numpy", "pandas", "scikit-learn", "ray", "mlflow", "dvc", "kfp")
# Set by the Kubeflow components (from the pipeline's run-id placeholder) and by the image build.
KFP_RUN_ID_ENV = "RATBEHAVIOR_KFP_RUN_ID"
IMAGE_ENV = "RATBEHAVIOR_IMAGE"


def _git(repo: Path, *args: str) -> str | None:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def lineage_tags(repo: Path, cfg: Config, data_root: Path) -> dict[str, str]:
    """Tags for a run of the project at `repo` with `cfg` on the data in `data_root`. `data_md5` is
    that data's own DVC hash, so it names what was trained on even when it is not the version
    data.dvc records (`data_dvc_md5`); reproduction fetches it from the remote by that hash. A
    project outside git or without data.dvc still runs; missing pieces are tagged 'unknown'."""
    commit = _git(repo, "rev-parse", "HEAD")
    status = _git(repo, "status", "--porcelain", "--untracked-files=no")
    try:
        recorded = read_data_version(repo).md5
    except DataVersionError:
        recorded = "unknown"
    try:
        remote_name, remote = default_remote(repo)
        data_remote = f"{remote_name} {remote['url']}"
    except DataVersionError:
        data_remote = "unknown"
    tags = {
        "git_commit": commit or "unknown",
        "git_dirty": "unknown" if status is None else str(bool(status)).lower(),
        "data_md5": workspace_md5(data_root),
        "data_dvc_md5": recorded,
        "data_path": str(data_root),
        "data_remote": data_remote,
        "config_hash": config_hash(cfg),
        "seed": str(cfg.seed),
        # On CPU the same seed gives the same weights only with the same thread count: torch's
        # reductions split their sums by thread. `reproduce` trains again with this many.
        "torch_threads": str(torch.get_num_threads()),
        # And only with the same instruction set of the kernels (see `ratbehavior.cpu_kernels`).
        "cpu_kernels": active_kernels(),
        # Even under the same kernels, CPUs have been seen to train different models (README), and
        # MKL's AVX2 branch is documented for Intel CPUs; an AMD one ran AUTO.
        "cpu": cpu_name(),
        "mkl_branch": mkl_branch(),
        "kfp_run_id": os.environ.get(KFP_RUN_ID_ENV, "none"),
        "image": os.environ.get(IMAGE_ENV, "none"),
    }
    if commit:
        tags["mlflow.source.git.commit"] = commit
    for package in PACKAGES:
        try:
            tags[f"version.{package}"] = metadata.version(package)
        except metadata.PackageNotFoundError:
            tags[f"version.{package}"] = "absent"
    return tags
