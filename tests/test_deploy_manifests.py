"""The deployment files: Kubernetes manifests valid and consistent with the Compose file and
the image, and one table in the README naming every variable a container reads."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.service_support import ROOT

KUBERNETES = ROOT / "deploy" / "kubernetes"
SCHEMAS = {
    "DaskCluster": KUBERNETES / "schemas" / "daskcluster.schema.json",
    "DaskAutoscaler": KUBERNETES / "schemas" / "daskautoscaler.schema.json",
}
VERSION = kubernetes_validate.latest_version()


def documents() -> list[tuple[str, dict[str, Any]]]:
    """(file name, resource) of every manifest in deploy/kubernetes/."""
    return [
        (path.name, doc)
        for path in sorted(KUBERNETES.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in documents() if doc["kind"] == kind]


def the(kind: str, name: str) -> dict[str, Any]:
    [doc] = [d for d in by_kind(kind) if d["metadata"]["name"] == name]
    return doc


def validate(doc: dict[str, Any]) -> None:
    """Against the Kubernetes schema (strict), or the committed schema of a custom resource,
    whose pod specs are checked as Pods."""
    if doc["kind"] not in SCHEMAS:
        kubernetes_validate.validate(doc, VERSION, strict=True)
        return
    jsonschema.validate(doc, json.loads(SCHEMAS[doc["kind"]].read_text()))
    for role, pod_spec in pod_specs(doc):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": role}, "spec": pod_spec}
        kubernetes_validate.validate(pod, VERSION, strict=True)


def pod_specs(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(role, pod spec) of the pods a resource makes."""
    if doc["kind"] == "DaskCluster":
        return [(role, doc["spec"][role]["spec"]) for role in ("scheduler", "worker")]
    if doc["kind"] in ("Deployment", "StatefulSet"):
        return [(doc["metadata"]["name"], doc["spec"]["template"]["spec"])]
    return []


@pytest.mark.parametrize(
    ("name", "doc"), documents(), ids=lambda x: x if isinstance(x, str) else x["kind"]
)
def test_every_manifest_is_valid(name: str, doc: dict[str, Any]) -> None:
    validate(doc)


@pytest.mark.parametrize(
    ("kind", "path", "bad"),
    [
        ("Deployment", ("spec", "replicas"), "two"),
        ("Deployment", ("spec", "template", "spec", "containers", 0, "imagePullPolicy"), 3),
        ("DaskAutoscaler", ("spec", "maximum"), "20"),
        ("DaskCluster", ("spec", "worker", "replicas"), -1),
        ("DaskCluster", ("spec", "worker", "spec", "containers", 0, "ports", 0, "name"), 8788),
    ],
)
def test_the_validation_refuses_a_broken_manifest(kind: str, path: tuple, bad: Any) -> None:
    broken = copy.deepcopy(by_kind(kind)[0])
    node = broken
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = bad
    with pytest.raises((kubernetes_validate.ValidationError, jsonschema.ValidationError)):
        validate(broken)


def test_the_ci_script_checks_every_manifest() -> None:
    script = (ROOT / "scripts" / "test.sh").read_text()
    named = set(re.findall(r"deploy/kubernetes/([\w-]+\.yaml)", script))
    for group in re.findall(r"deploy/kubernetes/\{([\w,-]+)\}\.yaml", script):
        named |= {f"{name}.yaml" for name in group.split(",")}
    assert named == {path.name for path in KUBERNETES.glob("*.yaml")}
    assert "hadolint Dockerfile" in script and "deploy/compose.yaml" in script


def containers() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{role}/{c['name']}", c)
        for _, doc in documents()
        for role, spec in pod_specs(doc)
        for c in spec["containers"]
    ]


@pytest.mark.parametrize(
    ("name", "container"), containers(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_every_container_has_probes_and_resources(name: str, container: dict[str, Any]) -> None:
    assert container.get("livenessProbe") and container.get("readinessProbe"), name
    for bound in ("requests", "limits"):
        assert set(container["resources"][bound]) == {"cpu", "memory"}, (name, bound)


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())


def test_only_the_api_and_the_dask_workers_reach_the_database() -> None:
    policy = the("NetworkPolicy", "postgres-clients")
    database = the("StatefulSet", "postgres")
    assert selects(
        policy["spec"]["podSelector"], database["spec"]["template"]["metadata"]["labels"]
    )
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    [rule] = policy["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 5432}]
    cluster = the("DaskCluster", "timepoint-dask")["metadata"]["name"]
    # the labels the Dask operator gives the pods of a DaskCluster
    worker = {"dask.org/cluster-name": cluster, "dask.org/component": "worker"}
    scheduler = {"dask.org/cluster-name": cluster, "dask.org/component": "scheduler"}
    api = the("Deployment", "timepoint-api")["spec"]["template"]["metadata"]["labels"]
    sources = [peer["podSelector"] for peer in rule["from"]]
    assert all(set(peer) == {"podSelector"} for peer in rule["from"]), "no namespace or IP peers"
    for labels, allowed in ((api, True), (worker, True), (scheduler, False), (database, False)):
        assert any(selects(s, labels) for s in sources) is allowed, labels


def test_only_the_api_the_workers_and_the_operator_reach_the_scheduler() -> None:
    policy = the("NetworkPolicy", "dask-scheduler-clients")
    cluster = the("DaskCluster", "timepoint-dask")
    assert (
        policy["spec"]["podSelector"]["matchLabels"]
        == cluster["spec"]["scheduler"]["service"]["selector"]
    )
    [rule] = policy["spec"]["ingress"]
    service_ports = {p["port"] for p in cluster["spec"]["scheduler"]["service"]["ports"]}
    assert {p["port"] for p in rule["ports"]} == service_ports
    api = the("Deployment", "timepoint-api")["spec"]["template"]["metadata"]["labels"]
    worker = {"dask.org/cluster-name": "timepoint-dask", "dask.org/component": "worker"}
    database = the("StatefulSet", "postgres")["spec"]["template"]["metadata"]["labels"]
    pods = [peer["podSelector"] for peer in rule["from"] if "podSelector" in peer]
    for labels, allowed in ((api, True), (worker, True), (database, False)):
        assert any(selects(s, labels) for s in pods) is allowed, labels
    namespaces = [peer["namespaceSelector"] for peer in rule["from"] if "namespaceSelector" in peer]
    assert namespaces == [{"matchLabels": {"kubernetes.io/metadata.name": "dask-operator"}}]
    readme = (ROOT / "README.md").read_text()
    assert "-n dask-operator" in readme, "the README installs the operator where the policy expects"


def env(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


def test_the_kubernetes_api_runs_the_compose_command_against_the_dask_cluster() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())["services"]
    [api] = the("Deployment", "timepoint-api")["spec"]["template"]["spec"]["containers"]
    assert api["args"] == compose["api"]["command"]
    variables = env(api)
    for name in ("TIMEPOINT_HOME", "TIMEPOINT_DB_URL", "TIMEPOINT_DB_PASSWORD_FILE"):
        assert variables[name] == compose["api"]["environment"][name].replace(
            "/run/secrets/db_password", "/run/secrets/timepoint-db/password"
        )
    cluster = the("DaskCluster", "timepoint-dask")
    service = cluster["spec"]["scheduler"]["service"]
    [comm] = [p for p in service["ports"] if p["name"] == "tcp-comm"]
    name = cluster["metadata"]["name"]
    assert variables["DASK_SCHEDULER_ADDRESS"] == f"tcp://{name}-scheduler:{comm['port']}"
    [worker] = cluster["spec"]["worker"]["spec"]["containers"]
    nthreads = compose["worker"]["command"].index("--nthreads")
    assert (
        worker["args"][worker["args"].index("--nthreads") + 1]
        == (compose["worker"]["command"][nthreads + 1])
    )
    assert the("DaskAutoscaler", name)["spec"]["cluster"] == name


def test_secrets_come_from_secrets_never_from_the_manifests() -> None:
    assert not by_kind("Secret"), "create Secrets with kubectl; never commit one"
    for name, container in containers():
        for variable, value in env(container).items() if "env" in container else ():
            if re.search(r"KEY|PASSWORD|TOKEN", variable) and not variable.endswith("_FILE"):
                assert isinstance(value, dict) and "secretKeyRef" in value, (name, variable)


def test_the_image_runs_as_the_user_the_pods_require() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.MULTILINE)) == 2  # build, then runtime
    assert re.search(r"^USER 10001:10001$", dockerfile, re.MULTILINE)
    assert re.search(r"^HEALTHCHECK .*\n.*/healthz", dockerfile, re.MULTILINE)
    for _, doc in documents():
        for role, spec in pod_specs(doc):
            if "postgres" not in role:
                assert spec["securityContext"]["runAsUser"] == 10001, role
                assert spec["securityContext"]["runAsNonRoot"] is True, role


def environment_table() -> set[str]:
    """The variables the README's table of container settings names."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Environment variables of the containers") :]
    table = section[: section.index("\n\n", section.index("| variable"))]
    return set(re.findall(r"^\| `([A-Z_]+)`", table, re.MULTILINE))


def variables_read() -> set[str]:
    """Every variable the package, the Compose file and the manifests name."""
    found: set[str] = set()
    pattern = (
        r"\b(TIMEPOINT_[A-Z][A-Z_]*|OPENROUTER_API_KEY|DASK_[A-Z_]+|POSTGRES_[A-Z_]+|PGDATA)\b"
    )
    for path in ROOT.glob("timepoint/**/*.py"):
        found |= set(re.findall(rf"[\"']{pattern}[\"']", path.read_text()))
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())["services"]
    for service in compose.values():
        found |= set(service.get("environment") or {})
    for _, container in containers():
        found |= set(env(container)) if "env" in container else set()
    return found - {"TIMEPOINT_API_KEY"}  # the stdio MCP server's caller, not a container's


def test_one_table_names_every_variable_a_container_reads() -> None:
    read = variables_read()
    assert {"TIMEPOINT_DB_PASSWORD_FILE", "DASK_SCHEDULER_ADDRESS", "POSTGRES_DB"} <= read
    table = environment_table()
    assert read - table == set(), "add these to the README's table"
    assert table - read - {"DASK_WORKER_NAME"} == set(), "the table names variables nothing reads"


def max_connections(args: list[str]) -> int:
    [setting] = [a for a in args if a.startswith("max_connections=")]
    return int(setting.split("=")[1])


def test_the_database_takes_a_connection_for_every_job_the_workers_can_run() -> None:
    # one connection per running job (benchmarks/store_write_rate.py), 50 for the API pods
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())["services"]
    threads = int(
        compose["worker"]["command"][compose["worker"]["command"].index("--nthreads") + 1]
    )
    jobs = compose["worker"]["deploy"]["replicas"] * threads
    assert max_connections(compose["postgres"]["command"]) >= jobs + 50
    [worker] = the("DaskCluster", "timepoint-dask")["spec"]["worker"]["spec"]["containers"]
    threads = int(worker["args"][worker["args"].index("--nthreads") + 1])
    jobs = the("DaskAutoscaler", "timepoint-dask")["spec"]["maximum"] * threads
    [database] = the("StatefulSet", "postgres")["spec"]["template"]["spec"]["containers"]
    assert max_connections(database["args"]) >= jobs + 50
