"""The names that tie the deployment together agree: the Ray head Service and configs/cluster.yaml,
the MLflow server's stores and allowed hosts, the buckets, the pipeline's ConfigMap and RBAC, the
Ray workers and the training configuration; and no deployment file names a host outside the cluster."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from tests.k8s.manifests import (
    K8S,
    NAMESPACE,
    REPO,
    SOURCES,
    VARIANTS,
    Obj,
    containers,
    find,
    objects_of,
    ray_cluster_specs,
)

CLUSTER_CONFIG = yaml.safe_load((REPO / "configs" / "cluster.yaml").read_text())
RAY_CLUSTER = "ratbehavior-raycluster"
RAY_DASHBOARD_PORT = 8265
PIPELINE = "ratbehavior-pipeline"
TRACKING_URI = "MLFLOW_TRACKING_URI"
# What may follow a Service's name in a host name: nothing, or its namespace's DNS domains.
SERVICE_DOMAINS = {"", NAMESPACE, f"{NAMESPACE}.svc", f"{NAMESPACE}.svc.cluster.local"}
# The worker group sizes the overlays promise (docs/deploy.md).
CPU_WORKERS = {"local": 1, "production": 4, "production+gpu": 4}
# What a pipeline run needs: RayJobs per step, the cluster, and the pods and logs of both.
PIPELINE_GRANTS = {
    ("ray.io", "rayjobs"): {"create", "get", "list", "watch", "delete"},
    ("ray.io", "rayclusters"): {"create", "get", "list", "watch", "delete"},
    ("", "services"): {"get"},
    ("", "pods"): {"get"},
    ("", "pods/log"): {"get"},
}
DEPLOYMENT_FILES = [REPO / "docker" / "Dockerfile", REPO / ".dockerignore", REPO / "docs" / "deploy.md"]
URL = re.compile(r"\b([a-z][a-z0-9+.-]*)://([^/\s\"'`>]*)")


def service_ports(objects: list[Obj]) -> dict[str, set[int]]:
    """In-cluster host name -> ports: the Services, and the head Service KubeRay makes per RayCluster."""
    ports = {o["metadata"]["name"]: {p["port"] for p in o["spec"]["ports"]} for o in objects if o["kind"] == "Service"}
    for obj in objects:
        if obj["kind"] == "RayCluster":
            head = obj["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
            ports[f"{obj['metadata']['name']}-head-svc"] = {p["containerPort"] for p in head.get("ports", [])}
    return ports


def mlflow_options(objects: list[Obj]) -> tuple[list[str], dict[str, str]]:
    """The MLflow server's command line: (all arguments, {option: value} of the --option=value ones)."""
    (container,) = find(objects, "Deployment", "mlflow")["spec"]["template"]["spec"]["containers"]
    arguments = container.get("command", []) + container.get("args", [])
    return arguments, dict(a[2:].split("=", 1) for a in arguments if a.startswith("--") and "=" in a)


def containers_of_all(objects: list[Obj]) -> list[tuple[str, Obj]]:
    return [pair for obj in objects for pair in containers(obj)]


def buckets(objects: list[Obj]) -> set[str]:
    (container,) = find(objects, "Job", "minio-buckets")["spec"]["template"]["spec"]["containers"]
    return set(next(v["value"] for v in container["env"] if v["name"] == "BUCKETS").split())


@pytest.mark.parametrize("variant", VARIANTS)
def test_ray_head_service_is_the_configured_address(rendered, variant):
    address = urlparse(CLUSTER_CONFIG["ray"]["address"])
    cluster = find(rendered[variant], "RayCluster", RAY_CLUSTER)
    head = cluster["spec"]["headGroupSpec"]
    assert address.hostname == f"{cluster['metadata']['name']}-head-svc"
    assert address.port == int(head["rayStartParams"].get("dashboard-port", RAY_DASHBOARD_PORT))
    assert address.port in service_ports(rendered[variant])[address.hostname]
    assert find(rendered[variant], "ConfigMap", PIPELINE)["data"]["RAY_ADDRESS"] == CLUSTER_CONFIG["ray"]["address"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_mlflow_server_stores_and_allowed_hosts(rendered, variant):
    objects = rendered[variant]
    arguments, options = mlflow_options(objects)
    assert arguments[:2] == ["mlflow", "server"]
    assert "--serve-artifacts" in arguments
    backend = urlparse(options["backend-store-uri"])
    assert backend.scheme == "postgresql"
    assert backend.port in service_ports(objects)[backend.hostname]
    assert urlparse(options["artifacts-destination"]).scheme == "s3"
    assert urlparse(options["artifacts-destination"]).hostname in buckets(objects)
    allowed = set(options["allowed-hosts"].split(","))
    (port,) = service_ports(objects)["mlflow"]
    for host in (f"mlflow.{domain}".rstrip(".") for domain in SERVICE_DOMAINS):
        assert {host, f"{host}:{port}"} <= allowed
    # Every client's tracking URI passes the Host header check.
    uris = [v["value"] for _, c in containers_of_all(objects) for v in c.get("env", []) if v["name"] == TRACKING_URI]
    uris.append(find(objects, "ConfigMap", PIPELINE)["data"][TRACKING_URI])
    assert {urlparse(uri).netloc for uri in uris} <= allowed


@pytest.mark.parametrize("variant", VARIANTS)
def test_backend_uri_variables_are_set(rendered, variant):
    """$(VAR) in the MLflow arguments is expanded by Kubernetes only from the container's own env."""
    arguments, _ = mlflow_options(rendered[variant])
    (container,) = find(rendered[variant], "Deployment", "mlflow")["spec"]["template"]["spec"]["containers"]
    referenced = set(re.findall(r"\$\((\w+)\)", " ".join(arguments)))
    assert referenced == {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}
    assert referenced <= {v["name"] for v in container["env"]}


@pytest.mark.parametrize("variant", VARIANTS)
def test_buckets_cover_every_store(rendered, variant):
    _, options = mlflow_options(rendered[variant])
    mlflow_bucket = urlparse(options["artifacts-destination"]).hostname
    ray_bucket = urlparse(CLUSTER_CONFIG["ray"]["storage_path"]).hostname
    assert {mlflow_bucket, ray_bucket, "dvc"} <= buckets(rendered[variant])


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_in_cluster_url_names_a_service_port(rendered, variant):
    """Env values, arguments, the pipeline's ConfigMap and configs/cluster.yaml: http URLs point at a
    Service of the render, on one of its ports."""
    objects = rendered[variant]
    texts = [str(v.get("value", "")) for _, c in containers_of_all(objects) for v in c.get("env", [])]
    texts += [a for _, c in containers_of_all(objects) for a in c.get("args", [])]
    texts += list(find(objects, "ConfigMap", PIPELINE)["data"].values())
    texts += [CLUSTER_CONFIG["ray"]["address"], CLUSTER_CONFIG["ray"]["s3_endpoint"]]
    ports = service_ports(objects)
    urls = [urlparse(u) for text in texts for u in re.findall(r"https?://[^\s,]+", text)]
    assert len(urls) >= 5
    assert [u.geturl() for u in urls if u.port not in ports.get(u.hostname, set())] == []
    config_map = find(objects, "ConfigMap", PIPELINE)["data"]
    s3_endpoint = CLUSTER_CONFIG["ray"]["s3_endpoint"]
    assert config_map["MLFLOW_S3_ENDPOINT_URL"] == config_map["AWS_ENDPOINT_URL"] == s3_endpoint


@pytest.mark.parametrize("variant", VARIANTS)
def test_pipeline_account_may_run_ray_jobs(rendered, variant):
    objects = rendered[variant]
    granted: dict[tuple[str, str], set[str]] = defaultdict(set)
    for rule in find(objects, "Role", PIPELINE)["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted[(group, resource)] |= set(rule["verbs"])
    assert all(required <= granted[key] for key, required in PIPELINE_GRANTS.items()), dict(granted)
    assert not any("*" in verbs for verbs in granted.values())
    binding = find(objects, "RoleBinding", PIPELINE)
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": PIPELINE}
    assert {"kind": "ServiceAccount", "name": PIPELINE, "namespace": NAMESPACE} in binding["subjects"]


def cpus(quantity: str | int | float) -> float:
    text = str(quantity)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def group_cpus(group: Obj) -> float:
    """The CPUs Ray advertises for one pod of a group: num-cpus, else the container's CPU limit."""
    if "num-cpus" in group["rayStartParams"]:
        return float(group["rayStartParams"]["num-cpus"])
    return cpus(group["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"])


def is_gpu_group(group: Obj) -> bool:
    return "nvidia.com/gpu" in group["template"]["spec"]["containers"][0]["resources"].get("limits", {})


@pytest.mark.parametrize("source", SOURCES)
def test_ray_workers_fit_the_cluster_training_config(rendered, source):
    """configs/cluster.yaml's Train workers (num_workers x cpus_per_worker) find room on the CPU workers,
    the head takes none of them, and each overlay has the worker count it promises."""
    (cluster,) = [spec for obj in objects_of(rendered, source) for spec in ray_cluster_specs(obj)]
    ray = CLUSTER_CONFIG["ray"]
    cpu_groups = [g for g in cluster["workerGroupSpecs"] if not is_gpu_group(g)]
    slots = sum(g["replicas"] * int(group_cpus(g) // ray["cpus_per_worker"]) for g in cpu_groups)
    assert slots >= ray["num_workers"]
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    assert [g["groupName"] for g in cluster["workerGroupSpecs"] if is_gpu_group(g)] == (
        ["gpu"] if source == "production+gpu" else []
    )
    if source in CPU_WORKERS:
        assert sum(g["replicas"] for g in cpu_groups) == CPU_WORKERS[source]


def deployment_files() -> list[Path]:
    return DEPLOYMENT_FILES + sorted(p for p in K8S.rglob("*") if p.is_file() and p.suffix != ".env")


def test_no_deployment_file_names_an_outside_host(rendered):
    """Images and packages come from registries the user configures: no file names one. Every URL is
    an in-cluster Service (short or qualified name), localhost, or a bucket."""
    objects = rendered["production+gpu"]
    services = set(service_ports(objects))
    local = {"localhost", "127.0.0.1", "0.0.0.0"}
    outside = []
    for path in deployment_files():
        for scheme, netloc in URL.findall(path.read_text()):
            host = netloc.rpartition("@")[2].split(":")[0].rstrip(").,;")
            first, _, rest = host.partition(".")
            in_cluster = first in services and rest in SERVICE_DOMAINS
            if not (host in local or in_cluster or (scheme == "s3" and host in buckets(objects))):
                outside.append(f"{path.relative_to(REPO)}: {scheme}://{netloc}")
    assert outside == []
