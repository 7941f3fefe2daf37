"""The Kubernetes profile (deploy/kubernetes/) is checked offline: the Helm values against the Dagster
chart's values.schema.json (vendored), the manifests against Kubernetes' own schemas (kubernetes-validate
ships them), and a broken copy of each is rejected."""

from __future__ import annotations

import copy
import importlib.resources
import importlib.util
import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "deploy" / "kubernetes"
VALUES = PROFILE / "values.yaml"
CHART_SCHEMA = PROFILE / "schemas" / "dagster-values.schema.json"
MANIFESTS = ("config.yaml", "migrate-job.yaml", "webhooks.yaml", "metrics.yaml")
# The oldest and the newest Kubernetes the manifests are checked against.
KUBERNETES_VERSIONS = ("1.30", "1.37")
SECRET = "ycpipeline-secrets"


@cache
def _kubernetes_definitions(version: str) -> Resource[Any]:
    """kubernetes-validate's shipped definitions for `version`, under both `$defs` (their own
    references) and `definitions` (the layout the chart's schema refers to)."""
    path = (
        importlib.resources.files("kubernetes_validate")
        / "kubernetes-json-schema"
        / f"v{version}.0-local-strict"
        / "_definitions.json"
    )
    definitions = json.loads(path.read_text())["$defs"]
    return Resource.from_contents(
        {"$defs": definitions, "definitions": definitions}, default_specification=DRAFT202012
    )


def _remote_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("http"):
            yield ref.split("#")[0]
        for value in node.values():
            yield from _remote_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _remote_refs(value)


def chart_values_errors(values: dict[str, Any]) -> list[str]:
    """What the chart's schema rejects in an override file. Helm merges maps with the chart's defaults
    and replaces lists, so a key missing from a map is the default's, but one missing from a list item
    (a user deployment, a tag limit) is missing. The Kubernetes objects the schema refers to online are
    served from kubernetes-validate's shipped definitions: nothing is fetched."""
    schema = json.loads(CHART_SCHEMA.read_text())
    definitions = _kubernetes_definitions(KUBERNETES_VERSIONS[0])
    registry: Registry[Any] = Registry().with_resources(
        (uri, definitions) for uri in set(_remote_refs(schema))
    )
    validator = jsonschema.Draft7Validator(schema, registry=registry)
    return [
        f"{'.'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in validator.iter_errors(values)
        if error.validator != "required" or any(isinstance(p, int) for p in error.absolute_path)
    ]


def manifest_errors(documents: list[dict[str, Any]], version: str) -> list[str]:
    """What Kubernetes' strict schemas for `version` reject in `documents`."""
    errors = []
    for document in documents:
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(map(str, exc.absolute_path)) or "(top)"
            errors.append(f"{document['kind']}/{document['metadata']['name']} {where}: {exc.message}")
    return errors


def _values() -> dict[str, Any]:
    return yaml.safe_load(VALUES.read_text())


def _manifests() -> list[dict[str, Any]]:
    return [doc for name in MANIFESTS for doc in yaml.safe_load_all((PROFILE / name).read_text()) if doc]


def _manifest(kind: str, name: str, documents: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return next(
        doc for doc in (documents or _manifests()) if doc["kind"] == kind and doc["metadata"]["name"] == name
    )


def test_the_values_follow_the_chart_schema() -> None:
    assert chart_values_errors(_values()) == []


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    *parents, last = path.split(".")

    def mutate(values: dict[str, Any]) -> None:
        node: Any = values
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        if value is _DROP:
            del node[int(last) if last.isdigit() else last]
        else:
            node[int(last) if last.isdigit() else last] = value

    return mutate


_DROP = object()
BROKEN_VALUES = {
    "unknown launcher": _set("runLauncher.type", "K8SRunLauncher"),
    "misspelt daemon key": _set("dagsterDaemon.runMonitor", {"enabled": True}),
    "port as text": _set("dagster-user-deployments.deployments.0.port", "3030"),
    "tag limit without a limit": _set(
        "dagsterDaemon.runCoordinator.config.queuedRunCoordinator.tagConcurrencyLimits.0.limit", _DROP
    ),
    "deployment without an image": _set("dagster-user-deployments.deployments.0.image", _DROP),
    "resources key misspelt": _set(
        "dagster-user-deployments.deployments.0.resources", {"request": {"cpu": "1"}}
    ),
}


@pytest.mark.parametrize("mutate", BROKEN_VALUES.values(), ids=BROKEN_VALUES.keys())
def test_a_broken_values_file_is_rejected(mutate: Callable[[dict[str, Any]], None]) -> None:
    values = copy.deepcopy(_values())
    mutate(values)
    assert chart_values_errors(values) != []


def test_the_values_run_the_project_on_kubernetes_with_secrets_from_a_secret() -> None:
    values = _values()
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    module = deployment["dagsterApiGrpcArgs"][deployment["dagsterApiGrpcArgs"].index("--module-name") + 1]
    assert importlib.util.find_spec(module) is not None
    assert {"name": SECRET} in deployment["envSecrets"]
    launcher = values["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    assert {"name": SECRET} in launcher["config"]["k8sRunLauncher"]["envSecrets"]
    assert values["postgresql"]["enabled"] is False  # external Postgres
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["global"]["postgresqlSecretName"]
    daemon = values["dagsterDaemon"]
    assert daemon["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert daemon["runMonitoring"]["enabled"] and daemon["runMonitoring"]["freeSlotsAfterRunEndSeconds"] > 0
    assert daemon["runRetries"]["enabled"] and 0 < daemon["runRetries"]["maxRetries"] <= 3
    assert list(_inline_secrets(values)) == []


def _inline_secrets(node: Any, path: str = "") -> Iterator[str]:
    """Keys naming a password, token or secret that hold a value (a Secret's name is no secret)."""
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}"
            named = re.search(r"password|token|secret", str(key), re.I) and not str(key).endswith(
                "SecretName"
            )
            if named and type(value) in (str, int, float):  # a flag (bool) holds no secret
                yield where
            yield from _inline_secrets(value, where)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _inline_secrets(value, f"{path}.{i}")


def test_the_run_queue_and_pools_agree_with_dagster_yaml() -> None:
    instance = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    values = _values()
    queue = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert queue["maxConcurrentRuns"] == instance["concurrency"]["runs"]["max_concurrent_runs"]
    dequeue = instance["run_coordinator"]["config"]
    assert queue["dequeueIntervalSeconds"] == dequeue["dequeue_interval_seconds"]
    assert queue["dequeueUseThreads"] == dequeue["dequeue_use_threads"]
    for kind in ("sensors", "schedules"):
        daemon = values["dagsterDaemon"][kind]
        assert daemon["useThreads"] == instance[kind]["use_threads"]
        assert daemon["numWorkers"] == instance[kind]["num_workers"]
    for limit in instance["concurrency"]["runs"]["tag_concurrency_limits"]:
        assert limit in queue["tagConcurrencyLimits"]
    assert values["concurrency"]["enabled"] is True
    assert values["concurrency"]["pools"]["defaultLimit"] == instance["concurrency"]["pools"]["default_limit"]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_manifests_follow_the_kubernetes_schemas(version: str) -> None:
    assert manifest_errors(_manifests(), version) == []


def _receiver(documents: list[dict[str, Any]]) -> dict[str, Any]:
    spec = _manifest("Deployment", "ycpipeline-webhooks", documents)["spec"]["template"]["spec"]
    return spec["containers"][0]


BROKEN_MANIFESTS = {
    "replicas as text": lambda docs: _manifest("Deployment", "ycpipeline-webhooks", docs)["spec"].update(
        replicas="two"
    ),
    "probe field misspelt": lambda docs: _receiver(docs)["readinessProbe"]["httpGet"].update(paht="/health"),
    "service port missing": lambda docs: _manifest("Service", "ycpipeline-webhooks", docs)["spec"]["ports"][
        0
    ].pop("port"),
    "config value not text": lambda docs: _manifest("ConfigMap", "ycpipeline-config", docs)["data"].update(
        BONUS_RATE=0.05
    ),
}


@pytest.mark.parametrize("mutate", BROKEN_MANIFESTS.values(), ids=BROKEN_MANIFESTS.keys())
def test_a_broken_manifest_is_rejected(mutate: Callable[[list[dict[str, Any]]], None]) -> None:
    documents = _manifests()
    mutate(documents)
    assert manifest_errors(documents, KUBERNETES_VERSIONS[-1]) != []


def test_the_receiver_runs_two_replicas_probed_on_health_and_scraped_on_metrics() -> None:
    documents = _manifests()
    deployment = _manifest("Deployment", "ycpipeline-webhooks", documents)
    assert deployment["spec"]["replicas"] == 2
    container = _receiver(documents)
    command = container["command"]
    assert command[:3] == ["ycpipeline", "webhook", "serve"]
    port = int(command[command.index("--port") + 1])
    (named,) = container["ports"]
    assert named["containerPort"] == port
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": named["name"]}
    assert {"secretRef": {"name": SECRET}} in container["envFrom"]
    assert "env" not in container  # nothing inline
    service = _manifest("Service", "ycpipeline-webhooks", documents)
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == named["name"]
    metrics = _manifest("Service", "ycpipeline-metrics", documents)
    scraped = (metrics["metadata"], deployment["spec"]["template"]["metadata"])
    for metadata in scraped:
        assert metadata["annotations"] == {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(port),
            "prometheus.io/path": "/metrics",
        }
    assert metrics["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_the_install_guide_names_the_pinned_chart_version() -> None:
    pinned = re.search(r"^dagster==(\S+)$", (ROOT / "requirements" / "dev.lock").read_text(), re.M)
    assert pinned is not None
    guide = (ROOT / "docs" / "deploy.md").read_text()
    assert f"--version {pinned.group(1)}" in guide
