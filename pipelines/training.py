"""The training pipeline: data version -> validation -> features -> leave-one-animal-out folds in
parallel (each step a Ray Train job) and the model on all animals -> aggregate and gate -> register.

`ratbehavior pipeline compile` writes pipelines/training.yaml, the file a user uploads to the
Kubeflow UI; `ratbehavior pipeline run` runs this function with Kubeflow's local runner.
Pseudo-label rounds and ensemble members are unrolled at compile time (`build(rounds=..., members=...)`).
"""

import components as c
from kfp import dsl

from ratbehavior.training.pipeline import member_prefix

DEFAULT_ROUNDS = 1
DEFAULT_MEMBERS = 1


def _train_chain(common: dict, fold_run_id, held_out, rounds: int, members: int):
    """Stage 1, 2, 3, the classifier and `rounds` pseudo-label rounds of one fold, for each of
    `members` ensemble members in turn; returns the last task."""
    previous = ""
    for member in range(members):
        label = f"member {member} " if member else ""
        for step, name in (
            ("stage1", "stage 1"),
            ("stage2", "stage 2"),
            ("stage3", "stage 3"),
            ("classifier", "classifier"),
        ):
            task = c.train_step(
                **common, fold_run_id=fold_run_id, held_out=held_out, step=f"{member_prefix(member)}{step}",
                previous=previous,
            )  # fmt: skip
            task.set_display_name(label + name)
            previous = task.output
        for r in range(1, rounds + 1):
            task = c.pseudo_label_round(
                **common, fold_run_id=fold_run_id, held_out=held_out, previous=previous, round_number=r,
                member=member,
            ).set_display_name(f"{label}pseudo-label round {r}")  # fmt: skip
            previous = task.output
    return task


def build(rounds: int = DEFAULT_ROUNDS, members: int = DEFAULT_MEMBERS):
    @dsl.pipeline(name="ratbehavior-training", description="Leave-one-animal-out, gate, register.")
    def training(
        repo: str = ".",
        rev: str = "HEAD",
        config: str = "configs/default.yaml",
        overrides: str = "[]",
        animals: list = [],  # noqa: B006 -- KFP reads the default from the signature; empty: every animal
        mlflow_uri: str = "",
        ray_address: str = "",
        workdir: str = "artifacts/pipeline",
    ) -> None:
        version = c.resolve_data_version(repo=repo, rev=rev).set_caching_options(False)
        data = c.fetch_data(repo=repo, data_md5=version.outputs["data_md5"], workdir=workdir)
        common = {
            "repo": repo, "config": config, "overrides": overrides, "mlflow_uri": mlflow_uri,
            "ray_address": ray_address,
        }  # fmt: skip
        run = c.start_run(
            **common,
            data_root=data.output,
            commit=version.outputs["commit"],
            kfp_run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
        ).set_caching_options(False)
        validated = c.validate(**common, run_id=run.output, data_root=data.output, workdir=workdir)
        features = c.build_features(**common, run_id=run.output, data_root=data.output, workdir=workdir)
        features.after(validated)
        folds = c.list_folds(run_id=run.output, features=features.output, animals=animals)
        with dsl.ParallelFor(folds.output, parallelism=2, name="folds") as item:
            fold = c.start_fold(**common, run_id=item.run_id, features=item.features, held_out=item.held_out)
            trained = _train_chain(common, fold.output, item.held_out, rounds, members)
            scored = c.evaluate_fold(
                **common, run_id=item.run_id, fold_run_id=fold.output, features=item.features,
                held_out=item.held_out, checkpoint=trained.output, workdir=workdir,
            )  # fmt: skip
        gate = c.aggregate(
            **common, run_id=run.output, features=features.output, fold_files=dsl.Collected(scored.output),
            workdir=workdir,
        )  # fmt: skip
        final = c.start_fold(**common, run_id=run.output, features=features.output, held_out="all-animals")
        final.after(gate)
        final_trained = _train_chain(common, final.output, "all-animals", rounds, members)
        model = c.export_model(
            **common, run_id=run.output, features=features.output, checkpoint=final_trained.output, workdir=workdir
        )
        with dsl.If(gate.output == True, name="gate-passed"):  # noqa: E712 -- a KFP condition, not a Python test
            c.register(**common, run_id=run.output, model_uri=model.output)

    return training


training = build()
