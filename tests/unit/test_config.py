from pathlib import Path

import pytest

from ratbehavior.config import Config, ConfigError, config_hash, load_config

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_config_file_in_the_repo_loads(path):
    assert isinstance(load_config(path), Config)


def test_overrides_are_parsed_as_yaml_values():
    cfg = load_config(None, ["data.likelihood_threshold=0.8", "simulation.days_per_animal=[1, 2]", "seed=7"])
    assert cfg.data.likelihood_threshold == 0.8
    assert cfg.simulation.days_per_animal == [1, 2]
    assert cfg.seed == 7


def test_a_typo_fails_loudly_with_the_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("data:\n  likelyhood_threshold: 0.5\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: data.likelyhood_threshold: Extra inputs"):
        load_config(path)
    with pytest.raises(ConfigError, match="expected section.key=value"):
        load_config(None, ["data.grid_hz"])
    with pytest.raises(ConfigError, match="less than or equal to 1"):
        load_config(None, ["data.likelihood_threshold=3"])


def test_hash_changes_with_any_value_and_only_then():
    assert config_hash(load_config()) == config_hash(load_config())
    assert config_hash(load_config()) != config_hash(load_config(None, ["seed=1"]))
