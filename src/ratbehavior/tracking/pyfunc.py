"""The registered form of a model: an MLflow pyfunc wrapping the self-contained model directory.

Its input is a table of session folders and its output the contract's predictions table, one row
per frame with a `session` column in front; `ratbehavior predict --model models:/...` uses the same
model directory through `unwrap_python_model`.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd
from mlflow.models.signature import ModelSignature
from mlflow.types.schema import ColSpec, Schema

import ratbehavior
from ratbehavior.inference import Predictor, load_model_dir, load_session_for, predict_session

MODEL_DIR_ARTIFACT = "model_dir"
# What loading and running the model imports; ratbehavior itself travels with the model as code.
RUNTIME_PACKAGES = (
    "torch", "numpy", "pandas", "scipy", "scikit-learn", "pyyaml", "pydantic", "tables", "h5py", "mlflow",
)  # fmt: skip


class BehaviourModel(mlflow.pyfunc.PythonModel):
    predictor: Predictor

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.predictor = load_model_dir(Path(context.artifacts[MODEL_DIR_ARTIFACT]))

    def predict(
        self, context: mlflow.pyfunc.PythonModelContext, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        grid_hz = self.predictor.config.data.grid_hz
        tables = []
        for folder in model_input["session"]:
            session = load_session_for(self.predictor, Path(folder))
            table = predict_session(self.predictor, session).table(grid_hz)
            table.insert(0, "session", session.session_id)
            tables.append(table)
        return pd.concat(tables, ignore_index=True)


def signature(behaviours: list[str]) -> ModelSignature:
    outputs = [ColSpec("string", "session"), ColSpec("long", "frame"), ColSpec("double", "time_s")]
    outputs += [ColSpec("long", b) for b in behaviours] + [ColSpec("double", f"prob_{b}") for b in behaviours]
    return ModelSignature(inputs=Schema([ColSpec("string", "session")]), outputs=Schema(outputs))


def pip_requirements() -> list[str]:
    return [f"{package}=={metadata.version(package)}" for package in RUNTIME_PACKAGES]


def log_model_dir(model_dir: Path, behaviours: list[str]) -> mlflow.models.model.ModelInfo:
    """Log a model directory as a pyfunc model of the active run."""
    return mlflow.pyfunc.log_model(
        name="model",
        # Models from code: the model is rebuilt by importing this file, not unpickled.
        python_model=str(Path(__file__).with_name("pyfunc_model.py")),
        artifacts={MODEL_DIR_ARTIFACT: str(model_dir)},
        code_paths=[str(Path(ratbehavior.__file__).parent)],
        signature=signature(behaviours),
        pip_requirements=pip_requirements(),
    )
