"""The model registry, by aliases only: `candidate` marks each version that passed the gate,
`production` is moved by a person (`promote`) and can go back (`rollback`). The deprecated stages
are never used."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ratbehavior.errors import InputError
from ratbehavior.inference import Predictor

CANDIDATE = "candidate"
PRODUCTION = "production"
GATE_TAG = "gate"
# Registered-model tag: the versions `production` pointed to, oldest first, so rollback knows where to go.
HISTORY_TAG = "production_history"
# Version tags that `models list` shows.
SHOWN_TAGS = ("macro_f1", "worst_animal", "worst_animal_f1", "without_video_f1", "data_md5", "git_commit")


class RegistryError(InputError):
    """A registry request that cannot be honoured (unknown model or version, failed gate, no history)."""


@dataclass(frozen=True)
class VersionRow:
    version: str
    aliases: tuple[str, ...]
    gate: str
    tags: dict[str, str]
    run_id: str


def register(client: MlflowClient, name: str, model_uri: str, run_id: str, tags: dict[str, str]) -> str:
    """Register a model that passed the gate, with its metrics and lineage as tags, and point
    `candidate` at it. Returns the new version."""
    import mlflow

    version = mlflow.register_model(model_uri, name, tags={**tags, GATE_TAG: "passed", "run_id": run_id}).version
    client.set_registered_model_alias(name, CANDIDATE, version)
    return str(version)


def _versions(client: MlflowClient, name: str) -> list[Any]:
    versions = client.search_model_versions(f"name='{name}'")
    if not versions:
        raise RegistryError(f"no registered model named {name!r}")
    return sorted(versions, key=lambda v: int(v.version))


def list_versions(client: MlflowClient, name: str) -> list[VersionRow]:
    versions = _versions(client, name)
    # Version searches do not fill in aliases on every store; the registered model always has them.
    aliases = client.get_registered_model(name).aliases
    return [
        VersionRow(
            version=str(v.version),
            aliases=tuple(sorted(a for a, held in aliases.items() if str(held) == str(v.version))),
            gate=v.tags.get(GATE_TAG, "unknown"),
            tags={k: v.tags[k] for k in SHOWN_TAGS if k in v.tags},
            run_id=v.run_id or "",
        )
        for v in versions
    ]


def _history(client: MlflowClient, name: str) -> list[str]:
    return json.loads(client.get_registered_model(name).tags.get(HISTORY_TAG, "[]"))


def promote(client: MlflowClient, name: str, version: str) -> str | None:
    """Point `production` at `version`, which must have passed the gate. Returns the version that
    held the alias before (None if none)."""
    known = {str(v.version): v for v in _versions(client, name)}
    if version not in known:
        raise RegistryError(f"{name} has no version {version} (versions: {', '.join(known)})")
    gate = known[version].tags.get(GATE_TAG)
    if gate != "passed":
        raise RegistryError(
            f"{name} version {version} did not pass the leave-one-animal-out gate (gate: {gate or 'not recorded'}); "
            "it cannot go to production"
        )
    previous = _production(client, name)
    history = _history(client, name)
    client.set_registered_model_alias(name, PRODUCTION, version)
    client.set_registered_model_tag(name, HISTORY_TAG, json.dumps([*history, version]))
    return previous


def rollback(client: MlflowClient, name: str) -> str:
    """Point `production` back at the version it held before the last promotion; returns it."""
    history = _history(client, name)
    if len(history) < 2:
        raise RegistryError(f"{name}: no earlier production version to roll back to")
    history.pop()
    client.set_registered_model_alias(name, PRODUCTION, history[-1])
    client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(history))
    return history[-1]


def _production(client: MlflowClient, name: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(name, PRODUCTION).version)
    except MlflowException:
        return None


def load_registered(model_uri: str) -> Predictor:
    """The predictor behind a registry URI (models:/<name>@<alias> or models:/<name>/<version>)."""
    import mlflow.pyfunc

    from ratbehavior.tracking.pyfunc import BehaviourModel

    try:
        wrapper = mlflow.pyfunc.load_model(model_uri).unwrap_python_model()
    except MlflowException as err:
        raise RegistryError(f"{model_uri}: {err.message}") from err
    if not isinstance(wrapper, BehaviourModel):
        raise RegistryError(f"{model_uri}: not a ratbehavior model")
    return wrapper.predictor
