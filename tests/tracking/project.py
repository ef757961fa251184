"""A throwaway project for tracking tests: git, DVC with a remote, a tiny simulated dataset pushed."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ratbehavior.config import Config, load_config
from ratbehavior.data.simulate import simulate_dataset
from ratbehavior.data.versioning import dvc, read_data_version

CI_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "ci.yaml"


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    def config(self, *overrides: str) -> Config:
        """The CI configuration with tracking and Ray storage inside the project."""
        return load_config(
            CI_CONFIG,
            [
                f"tracking.uri=sqlite:///{self.root / 'mlflow.db'}",
                f"tracking.artifact_root={self.root / 'mlartifacts'}",
                f"ray.storage_path={self.root / 'ray'}",
                *overrides,
            ],
        )

    def record_data(self, simulation_seed: int) -> str:
        """(Re)write the dataset from `simulation_seed`, track it with DVC, push it, commit; its md5."""
        cfg = load_config(CI_CONFIG, [f"simulation.seed={simulation_seed}"])
        shutil.rmtree(self.data, ignore_errors=True)
        simulate_dataset(cfg.simulation, cfg.data, self.data)
        dvc(self.root, "add", "data")
        dvc(self.root, "push")
        _git(self.root, "add", "data.dvc", ".gitignore")
        _git(self.root, "commit", "-q", "-m", f"data from simulation seed {simulation_seed}")
        return read_data_version(self.root).md5

    @property
    def commit(self) -> str:
        return _git(self.root, "rev-parse", "HEAD")


def make_project(root: Path, remote: str, remote_options: dict[str, str] | None = None) -> Project:
    root.mkdir(parents=True, exist_ok=True)
    _git(root, "init", "-q")
    _git(root, "config", "user.email", "test@example.invalid")
    _git(root, "config", "user.name", "test")
    dvc(root, "init", "-q")
    dvc(root, "config", "core.analytics", "false")
    dvc(root, "remote", "add", "-d", "store", remote)
    for key, value in (remote_options or {}).items():
        dvc(root, "remote", "modify", "store", key, value)
    (root / ".gitignore").write_text("mlflow.db\nmlartifacts/\nray/\nartifacts/\n")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "project")
    project = Project(root)
    project.record_data(simulation_seed=1)
    return project
