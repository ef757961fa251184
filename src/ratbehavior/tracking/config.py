"""Where runs are recorded and what a model must score to reach the registry.

No MLflow import here: the configuration tree imports this module and must stay cheap to load.
"""

from __future__ import annotations

from pydantic import Field

from ratbehavior.section import Section


class GateConfig(Section):
    """Leave-one-animal-out scores a model needs before it is registered."""

    min_macro_f1: float = Field(0.90, ge=0.0, le=1.0)
    min_animal_f1: float = Field(0.85, ge=0.0, le=1.0)


class TrackingConfig(Section):
    # The embedded default: SQLite in the project folder, artifacts beside it. MLFLOW_TRACKING_URI,
    # when set (a cluster's MLflow server), wins over this, so no configuration changes there.
    uri: str = "sqlite:///mlflow.db"
    # Artifacts of experiments this project creates on a file-backed store (ignored by a server,
    # which proxies artifacts to its own store).
    artifact_root: str = "mlartifacts"
    experiment: str = "ratbehavior"
    model_name: str = "ratbehavior"
    gate: GateConfig = Field(default_factory=GateConfig)
