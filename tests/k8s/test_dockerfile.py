"""docker/Dockerfile read as text (no Docker engine here): the base, the layer order, the package
install, the torch build arguments, the user, and the build context."""

from __future__ import annotations

import re

from tests.k8s.manifests import PYPROJECT, REPO, dockerfile_instructions, image_user

BASE_IMAGE = "python:3.11-slim"


def index(instructions: list[tuple[str, str]], keyword: str, pattern: str) -> int:
    """Position of the first instruction of that keyword whose arguments match pattern."""
    matches = [i for i, (k, a) in enumerate(instructions) if k == keyword and re.search(pattern, a)]
    assert matches, f"no {keyword} matching {pattern!r}"
    return matches[0]


def test_base_image_is_the_project_python():
    froms = [arguments for keyword, arguments in dockerfile_instructions() if keyword == "FROM"]
    assert froms == [BASE_IMAGE]
    assert PYPROJECT["project"]["requires-python"].startswith(">=3.11,<3.12")


def test_dependencies_are_a_layer_of_their_own_before_the_source():
    instructions = dockerfile_instructions()
    pyproject = index(instructions, "COPY", r"^pyproject\.toml ")
    dependencies = index(instructions, "RUN", r"pip install --requirement")
    source = index(instructions, "COPY", r"^src ")
    package = index(instructions, "RUN", r"pip install \.( |$)")
    assert pyproject < dependencies < source < package
    # The dependency list is pyproject.toml's own, pins included.
    assert "tomllib" in instructions[dependencies][1] and "['dependencies']" in instructions[dependencies][1]


def test_installs_the_package_and_its_configs():
    instructions = dockerfile_instructions()
    assert ("WORKDIR", "/app") in instructions
    assert ("COPY", "configs ./configs") in instructions
    assert (REPO / "configs" / "cluster.yaml").is_file()


def test_torch_build_is_chosen_by_build_arguments():
    instructions = dockerfile_instructions()
    arguments = dict(a.split("=", 1) for k, a in instructions if k == "ARG" and "=" in a)
    assert arguments["TORCH_INDEX_URL"] == '""'
    assert arguments["TORCH_VARIANT"] == "cpu"
    install = instructions[index(instructions, "RUN", r"pip install --requirement")][1]
    assert '--index-url "${TORCH_INDEX_URL%/}/${TORCH_VARIANT}"' in install
    assert 'if [ -n "$TORCH_INDEX_URL" ]' in install


def test_image_has_the_mlflow_servers_postgres_driver():
    """k8s/base/mlflow.yaml runs `mlflow server` from this image with a postgresql:// backend, which
    SQLAlchemy 2.1 opens with psycopg (3): the image has only pyproject.toml's dependencies."""
    assert any(re.match(r"psycopg(\[[a-z,]+\])?==", dependency) for dependency in PYPROJECT["project"]["dependencies"])


def test_no_entrypoint_to_get_in_the_way_of_ray_and_kubeflow():
    assert [k for k, _ in dockerfile_instructions() if k == "ENTRYPOINT"] == []


def test_runs_as_a_numeric_non_root_user():
    user = image_user(dockerfile_instructions())
    assert user.isdigit(), "Kubernetes can verify runAsNonRoot only for a numeric user"
    assert int(user) != 0


def test_build_context_is_only_what_the_image_copies():
    copied = {a.split()[0] for k, a in dockerfile_instructions() if k == "COPY"}
    patterns = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert patterns[0] == "*"
    assert {p.removeprefix("!").rstrip("/") for p in patterns if p.startswith("!")} == copied
