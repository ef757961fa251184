"""The Kubeflow pipeline from the command line: compile it to the YAML a user uploads, run it with
Kubeflow's local runner (the embedded default), or submit it to a Kubeflow Pipelines endpoint.

The pipeline and its components live beside the package in the project checkout (pipelines/,
components/), as thin wrappers over `ratbehavior.steps`.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ratbehavior
from ratbehavior.errors import InputError

CHECKOUT = Path(ratbehavior.__file__).resolve().parents[2]
COMPILED = CHECKOUT / "pipelines" / "training.yaml"


def load_pipeline(
    rounds: int | None = None, image: str | None = None, members: int | None = None
) -> Callable[..., Any]:
    """The pipeline function, with `rounds` pseudo-label rounds and `members` ensemble members
    unrolled, and components on `image`."""
    if not (CHECKOUT / "pipelines" / "training.py").is_file():
        raise InputError(f"{CHECKOUT}: no pipelines/training.py; the pipeline commands run from a project checkout")
    if image:
        os.environ["RATBEHAVIOR_IMAGE"] = image
    if str(CHECKOUT) not in sys.path:
        sys.path.insert(0, str(CHECKOUT))
    # Re-imported so that an image given here reaches the components' base_image.
    for name in ("components", "pipelines.training"):
        if name in sys.modules:
            importlib.reload(sys.modules[name])
    training = importlib.import_module("pipelines.training")
    return training.build(
        training.DEFAULT_ROUNDS if rounds is None else rounds, training.DEFAULT_MEMBERS if members is None else members
    )


def compile_pipeline(
    out: Path = COMPILED, rounds: int | None = None, image: str | None = None, members: int | None = None
) -> Path:
    from kfp import compiler

    compiler.Compiler().compile(load_pipeline(rounds, image, members), str(out))
    return out


def run_local(arguments: dict[str, Any], rounds: int | None = None, members: int | None = None) -> None:
    """Every component in a subprocess of this environment (no containers): the embedded default."""
    from kfp import local

    workdir = Path(arguments.get("repo", ".")) / arguments.get("workdir", "artifacts/pipeline")
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(workdir / "kfp"))
    load_pipeline(rounds, members=members)(**arguments)


def submit(host: str, arguments: dict[str, Any], package: Path = COMPILED, run_name: str | None = None) -> str:
    """Upload the compiled pipeline to a Kubeflow Pipelines endpoint and start a run; returns its id."""
    import kfp

    client = kfp.Client(host=host)
    run = client.create_run_from_pipeline_package(str(package), arguments=arguments, run_name=run_name)
    return run.run_id
