"""The driver of a training step that the pipeline submits to a Ray cluster through the Jobs API
(`steps._train_on_cluster`): `python -m ratbehavior.remote_step '<request JSON>'`. It runs the step on
that cluster's Ray and prints the checkpoint it ends with, which the submitter reads from the logs."""

import json
import sys

from ratbehavior.config import Config
from ratbehavior.steps import CHECKPOINT_MARK, train

if __name__ == "__main__":
    request = json.loads(sys.argv[1])
    config = Config.model_validate(request["config"])
    done = train(request["fold_run_id"], config, request["held_out"], request["step"], request["previous"])
    print(f"{CHECKPOINT_MARK}{done}", flush=True)
