"""The fresh-clone path of `ratbehavior data pull`, with real git and DVC in a temporary repository."""

import shutil
import subprocess

import pytest
import yaml

from ratbehavior.config import load_config
from ratbehavior.data.simulate import simulate_dataset
from ratbehavior.data.versioning import DataVersionError, dvc, ensure_data, read_data_version

TINY = {"simulation": {"seed": 5, "animals": 2, "days_per_animal": [1, 1], "session_minutes": 0.2}}


def _regenerate(config_path, out):
    cfg = load_config(config_path)
    simulate_dataset(cfg.simulation, cfg.data, out, progress=False)


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    (root / "configs").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    dvc(root, "init", "-q")
    dvc(root, "config", "core.analytics", "false")
    dvc(root, "remote", "add", "-d", "local", str(tmp_path / "remote"))
    (root / "configs" / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    _regenerate(root / "configs" / "tiny.yaml", root / "data")
    dvc(root, "add", "-q", "data")
    record = yaml.safe_load((root / "data.dvc").read_text())
    record["meta"] = {"simulate_config": "configs/tiny.yaml"}
    (root / "data.dvc").write_text(yaml.safe_dump(record, sort_keys=False))
    return root


def _lose_data_and_cache(root):
    shutil.rmtree(root / "data")
    shutil.rmtree(root / ".dvc" / "cache", ignore_errors=True)


def test_a_fresh_clone_regenerates_the_recorded_version_then_pulls_it(repo):
    recorded = read_data_version(repo)
    assert ensure_data(repo, _regenerate) == "present"
    _lose_data_and_cache(repo)
    assert ensure_data(repo, _regenerate) == "regenerated"
    assert read_data_version(repo) == recorded
    _lose_data_and_cache(repo)
    assert ensure_data(repo, _regenerate) == "pulled"


def test_changed_data_in_the_workspace_is_never_overwritten(repo):
    victim = next((repo / "data" / "sessions").iterdir()) / "session.yaml"
    victim.write_text(victim.read_text() + "condition: edited by hand\n")
    with pytest.raises(DataVersionError, match="differs from the version in data.dvc"):
        ensure_data(repo, _regenerate)
    assert "edited by hand" in victim.read_text()


def test_a_simulator_that_changed_is_caught(repo):
    _lose_data_and_cache(repo)
    (repo / "configs" / "tiny.yaml").write_text(
        yaml.safe_dump({**TINY, "simulation": {**TINY["simulation"], "seed": 6}})
    )
    with pytest.raises(DataVersionError, match="differs from .* in data.dvc: the simulator's output changed"):
        ensure_data(repo, _regenerate)
