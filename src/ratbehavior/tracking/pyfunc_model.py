"""The file MLflow's models-from-code logging stores and runs to rebuild a registered model."""

from mlflow.models import set_model

from ratbehavior.tracking.pyfunc import BehaviourModel

set_model(BehaviourModel())
