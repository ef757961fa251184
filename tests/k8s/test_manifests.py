"""k8s/ as a cluster would receive it: each overlay rendered by kubectl's kustomize, every built-in
object validated against the Kubernetes OpenAPI schemas in strict mode (an unknown field fails),
the KubeRay objects checked field by field (no KubeRay schema is to be had offline) with their pod
templates validated as Kubernetes PodTemplates, the images, the Secrets and every reference
between objects."""

from __future__ import annotations

import base64
import subprocess

import kubernetes_validate
import pytest
import yaml

from tests.k8s.manifests import (
    K8S,
    NAMESPACE,
    OVERLAYS,
    PYPROJECT,
    REPO,
    SOURCES,
    VARIANTS,
    Obj,
    containers,
    dockerfile_instructions,
    image_parts,
    image_user,
    load_yaml,
    name,
    objects_of,
    pod_templates,
    ray_cluster_specs,
)

# The oldest Kubernetes the manifests are for, and the newest kubernetes-validate ships schemas of.
KUBERNETES_VERSIONS = ("1.30", "1.37")
RAY_VERSION = next(d for d in PYPROJECT["project"]["dependencies"] if d.startswith("ray[")).split("==")[1]

PROJECT_IMAGE = "ratbehavior"
VERSION = PYPROJECT["project"]["version"]
# The project image's tag: built locally for the local overlay, the package's release elsewhere.
PROJECT_TAG = {"local": "dev", "production": VERSION, "production+gpu": VERSION, "rayjob template": VERSION}
# Third-party images, by the container that may run them; every other container runs the project image.
THIRD_PARTY = {"minio": "minio/minio", "postgres": "postgres"}
PLACEHOLDER = "CHANGE_ME"
NOT_SECRET = {"POSTGRES_DB"}

# The fields of the KubeRay v1 CRDs (KubeRay 1.7) that the manifests may use: anything else is a typo.
RAY_CLUSTER_FIELDS = {
    "rayVersion", "headGroupSpec", "workerGroupSpecs", "enableInTreeAutoscaling", "autoscalerOptions",
    "headServiceAnnotations", "suspend", "gcsFaultToleranceOptions", "managedBy", "upgradeStrategy",
}  # fmt: skip
HEAD_GROUP_FIELDS = {"rayStartParams", "template", "serviceType", "headService", "enableIngress", "resources", "labels"}
WORKER_GROUP_FIELDS = {
    "groupName", "replicas", "minReplicas", "maxReplicas", "rayStartParams", "template", "numOfHosts",
    "idleTimeoutSeconds", "scaleStrategy", "suspend", "resources", "labels",
}  # fmt: skip
RAY_JOB_FIELDS = {
    "entrypoint", "rayClusterSpec", "clusterSelector", "submissionMode", "runtimeEnvYAML", "metadata", "jobId",
    "shutdownAfterJobFinishes", "ttlSecondsAfterFinished", "activeDeadlineSeconds", "backoffLimit", "suspend",
    "submitterPodTemplate", "submitterConfig", "entrypointNumCpus", "entrypointNumGpus", "entrypointResources",
    "managedBy", "deletionStrategy",
}  # fmt: skip


def schema_errors(obj: Obj) -> list[str]:
    errors = []
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as err:
            errors.append(f"{name(obj)} (Kubernetes {version}) {'.'.join(map(str, err.path))}: {err.message}")
    return errors


@pytest.mark.parametrize("variant", VARIANTS)
def test_builtin_objects_match_the_kubernetes_schemas(rendered, variant):
    objects = [o for o in rendered[variant] if not o["apiVersion"].startswith("ray.io/")]
    assert {o["kind"] for o in objects} >= {"Namespace", "Deployment", "Service", "Job", "Secret", "ConfigMap"}
    assert [e for obj in objects for e in schema_errors(obj)] == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_everything_is_in_the_namespace(rendered, variant):
    assert [name(o) for o in rendered[variant] if o["kind"] == "Namespace"] == [f"Namespace/{NAMESPACE}"]
    namespaced = [o for o in rendered[variant] if o["kind"] != "Namespace"]
    assert [name(o) for o in namespaced if o["metadata"].get("namespace") != NAMESPACE] == []


def ray_cluster_problems(cluster: Obj, where: str) -> list[str]:
    problems = [f"{where}: unknown field {f}" for f in set(cluster) - RAY_CLUSTER_FIELDS]
    if cluster.get("rayVersion") != RAY_VERSION:
        problems.append(f"{where}: rayVersion {cluster.get('rayVersion')} is not the pinned ray {RAY_VERSION}")
    head = cluster.get("headGroupSpec", {})
    groups = cluster.get("workerGroupSpecs", [])
    problems += [f"{where} head: unknown field {f}" for f in set(head) - HEAD_GROUP_FIELDS]
    if not groups:
        problems.append(f"{where}: no worker group")
    for group in groups:
        label = f"{where} group {group.get('groupName')}"
        problems += [f"{label}: unknown field {f}" for f in set(group) - WORKER_GROUP_FIELDS]
        if not isinstance(group.get("groupName"), str):
            problems.append(f"{label}: no groupName")
        counts = [group.get(key) for key in ("minReplicas", "replicas", "maxReplicas")]
        if not all(isinstance(c, int) for c in counts) or not 0 <= counts[0] <= counts[1] <= counts[2]:
            problems.append(f"{label}: needs integers 0 <= minReplicas <= replicas <= maxReplicas, not {counts}")
    if len({g.get("groupName") for g in groups}) != len(groups):
        problems.append(f"{where}: two worker groups share a name")
    for label, spec in [(f"{where} head", head)] + [(f"{where} group {g.get('groupName')}", g) for g in groups]:
        params = spec.get("rayStartParams")
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            problems.append(f"{label}: rayStartParams must be a map of strings, not {params!r}")
        if not spec.get("template", {}).get("spec", {}).get("containers"):
            problems.append(f"{label}: template has no containers")
    return problems


def ray_problems(obj: Obj) -> list[str]:
    problems = []
    spec = obj["spec"]
    if obj["kind"] == "RayJob":
        problems += [f"{name(obj)}: unknown field {f}" for f in set(spec) - RAY_JOB_FIELDS]
        if not isinstance(spec.get("entrypoint"), str) or not spec["entrypoint"].strip():
            problems.append(f"{name(obj)}: no entrypoint")
        if ("rayClusterSpec" in spec) == ("clusterSelector" in spec):
            problems.append(f"{name(obj)}: needs one of rayClusterSpec and clusterSelector")
    for cluster in ray_cluster_specs(obj):
        problems += ray_cluster_problems(cluster, name(obj))
    return problems


@pytest.mark.parametrize("source", SOURCES)
def test_kuberay_objects_have_their_required_fields(rendered, source):
    objects = [o for o in objects_of(rendered, source) if o["apiVersion"].startswith("ray.io/")]
    assert [o["kind"] for o in objects] == (["RayJob"] if source == "rayjob template" else ["RayCluster"])
    assert all(o["apiVersion"] == "ray.io/v1" for o in objects)
    assert [p for obj in objects for p in ray_problems(obj)] == []


@pytest.mark.parametrize("source", SOURCES)
def test_kuberay_pod_templates_match_the_kubernetes_schemas(rendered, source):
    """KubeRay embeds plain Kubernetes pod templates: each one must be a valid PodTemplate."""
    errors = []
    for obj in objects_of(rendered, source):
        if obj["apiVersion"].startswith("ray.io/"):
            for where, template in pod_templates(obj):
                pod = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"}, "template": template}
                errors += [f"{where}: {e}" for e in schema_errors(pod)]
    assert errors == []


@pytest.mark.parametrize("source", SOURCES)
def test_every_container_runs_the_project_image(rendered, source):
    wrong = []
    for obj in objects_of(rendered, source):
        for where, container in containers(obj):
            repository, tag = image_parts(container["image"])
            if container["name"] in THIRD_PARTY:
                ok = repository == THIRD_PARTY[container["name"]] and tag not in {None, "latest"}
            else:
                ok = repository.rsplit("/", 1)[-1] == PROJECT_IMAGE and tag == PROJECT_TAG[source]
            if not ok:
                wrong.append(f"{where}: {container['image']}")
    assert wrong == []


@pytest.mark.parametrize("source", SOURCES)
def test_project_pods_run_as_the_image_user(rendered, source):
    """runAsNonRoot can only be checked against a numeric user: the Dockerfile's and the pods' agree."""
    user = int(image_user(dockerfile_instructions()))
    wrong = []
    for obj in objects_of(rendered, source):
        for where, template in pod_templates(obj):
            pod = template["spec"]
            if any(image_parts(c["image"])[0].rsplit("/", 1)[-1] == PROJECT_IMAGE for c in pod["containers"]):
                context = pod.get("securityContext", {})
                if context.get("runAsUser") != user or not context.get("runAsNonRoot"):
                    wrong.append(f"{where}: {context}")
    assert wrong == []


def committed_files(*folders: str) -> list[str]:
    """Files under folders that a commit would take: tracked, or new and not ignored."""
    result = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *folders],
        cwd=REPO, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return result.stdout.split()


def committed_secret_values() -> dict[str, tuple[str, str]]:
    """{where: (key, value)} of every secret value in a committed file: env examples, Secret objects,
    secretGenerator literals."""
    files = committed_files("k8s", "docker", "docs")
    assert [f for f in files if f.endswith(".env")] == []
    values = {}
    for path in files:
        if path.endswith(".env.example"):
            lines = [line for line in (REPO / path).read_text().splitlines() if line.strip() and line[0] != "#"]
            values |= {f"{path} {line}": tuple(line.split("=", 1)) for line in lines}
        elif path.endswith((".yaml", ".yml")):
            for obj in load_yaml(REPO / path):
                if not isinstance(obj, dict):  # a JSON patch
                    continue
                if obj.get("kind") == "Secret":
                    decoded = {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}
                    for key, value in (decoded | (obj.get("stringData") or {})).items():
                        values[f"{path} {name(obj)} {key}"] = (key, value)
                for generator in obj.get("secretGenerator", []):
                    values |= {f"{path} {line}": tuple(line.split("=", 1)) for line in generator.get("literals", [])}
    return values


def test_no_secret_value_is_committed():
    values = committed_secret_values()
    assert values, "no Secret template found"
    real = [where for where, (key, value) in values.items() if key not in NOT_SECRET and value not in {PLACEHOLDER, ""}]
    assert real == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secret_env_files_are_ignored_by_git_and_have_examples(overlay):
    kustomization = yaml.safe_load((K8S / "overlays" / overlay / "kustomization.yaml").read_text())
    env_files = [K8S / "overlays" / overlay / f for g in kustomization["secretGenerator"] for f in g["envs"]]
    assert {g["name"] for g in kustomization["secretGenerator"]} == {"s3-credentials", "postgres-credentials"}
    for env_file in env_files:
        assert env_file.with_name(env_file.name + ".example").is_file()
        ignored = subprocess.run(["git", "check-ignore", "--quiet", "--no-index", str(env_file)], cwd=REPO, check=False)
        assert ignored.returncode == 0, f"{env_file.relative_to(REPO)} is not ignored by git"


def unresolved_references(objects: list[Obj]) -> list[str]:
    """References by name that do not name an object of the render (or a key of it)."""
    by_kind: dict[str, dict[str, Obj]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], {})[obj["metadata"].get("name")] = obj
    secrets, config_maps = by_kind.get("Secret", {}), by_kind.get("ConfigMap", {})
    missing = []
    for obj in objects:
        for where, template in pod_templates(obj):
            pod = template["spec"]
            account = pod.get("serviceAccountName")
            if account and account not in by_kind.get("ServiceAccount", {}):
                missing.append(f"{where}: ServiceAccount {account}")
            for volume in pod.get("volumes", []):
                claim = volume.get("persistentVolumeClaim", {}).get("claimName")
                if claim and claim not in by_kind.get("PersistentVolumeClaim", {}):
                    missing.append(f"{where}: PersistentVolumeClaim {claim}")
        for where, container in containers(obj):
            for source in container.get("envFrom", []):
                for field, known in (("secretRef", secrets), ("configMapRef", config_maps)):
                    if field in source and source[field]["name"] not in known:
                        missing.append(f"{where}: {field} {source[field]['name']}")
            for variable in container.get("env", []):
                for field, known in (("secretKeyRef", secrets), ("configMapKeyRef", config_maps)):
                    ref = variable.get("valueFrom", {}).get(field)
                    if ref and ref["key"] not in known.get(ref["name"], {}).get("data", {}):
                        missing.append(f"{where}: {field} {ref['name']}/{ref['key']}")
    for binding in by_kind.get("RoleBinding", {}).values():
        if binding["roleRef"]["name"] not in by_kind.get(binding["roleRef"]["kind"], {}):
            missing.append(f"{name(binding)}: {binding['roleRef']['kind']} {binding['roleRef']['name']}")
        for subject in binding["subjects"]:
            if subject["kind"] == "ServiceAccount" and subject["name"] not in by_kind.get("ServiceAccount", {}):
                missing.append(f"{name(binding)}: ServiceAccount {subject['name']}")
    for service in by_kind.get("Service", {}).values():
        selector = service["spec"].get("selector", {})
        labels = [t.get("metadata", {}).get("labels", {}) for o in objects for _, t in pod_templates(o)]
        if not any(selector.items() <= pod_labels.items() for pod_labels in labels):
            missing.append(f"{name(service)}: no pod template matches selector {selector}")
    return missing


@pytest.mark.parametrize("source", SOURCES)
def test_every_reference_resolves(rendered, source):
    """Secrets, keys, ConfigMaps, volumes, accounts and roles that pods name exist. The RayJob template
    is created in the namespace the local overlay fills."""
    objects = objects_of(rendered, source) + (rendered["local"] if source == "rayjob template" else [])
    assert unresolved_references(objects) == []
