"""The containers' commands, run as plain processes on 127.0.0.1.

The commands and environments are read from deploy/compose.yaml (the entrypoint of a service
without one is the Dockerfile's ``ENTRYPOINT``), translated the one way a machine without
containers needs (:func:`translate`): service host names become 127.0.0.1, the ports free
ones, ``/data`` a temporary folder and ``/run/secrets/`` a folder of files the test writes.
PostgreSQL is the suite's private cluster in place of the ``postgres`` service; the model is
the offline one served over HTTP with a latency, so a batch is still running when a worker is
stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.service_support import ROOT, finished, free_port, wait_for
from tests.test_store_support import PostgresCluster, postgres_unavailable

COMPOSE = ROOT / "deploy" / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
#: how each program of the image is started from this interpreter (its bin/ need not be on PATH)
PROGRAMS = {
    "timepoint": [sys.executable, "-m", "timepoint.cli"],
    "dask": [sys.executable, "-m", "dask"],
}
#: the ports the Compose file names
PORTS = (8000, 8786, 8787, 8788)
DB_PASSWORD = "compose-secret"
LATENCY_MS = "400"
BATCH = {
    "scenario": "showcase/jefferson_dinner.yaml",
    "overrides": {"timepoints.count": 1},
    "grid": {"seed": list(range(6))},
}


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def dockerfile_entrypoint() -> list[str]:
    [line] = [x for x in DOCKERFILE.read_text().splitlines() if x.startswith("ENTRYPOINT ")]
    return json.loads(line.removeprefix("ENTRYPOINT "))


def interpolate(value: str, environ: dict[str, str]) -> str:
    """Compose's ``${NAME:-default}`` with ``environ`` as the shell that runs Compose."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: environ.get(m.group(1)) or m.group(2), value)


@dataclass
class Translation:
    """How the Compose names map to this machine."""

    ports: dict[int, int]
    home: Path
    secrets: Path
    db_port: int

    def __call__(self, value: str) -> str:
        value = value.replace("0.0.0.0", "127.0.0.1")
        value = value.replace("postgres:5432", f"127.0.0.1:{self.db_port}")
        value = re.sub(r"\b(api|scheduler)(?=:\d)", "127.0.0.1", value)
        value = re.sub(
            r"\b(\d{4})\b",
            lambda m: str(self.ports.get(int(m.group(1)), m.group(1))),
            value,
        )
        value = re.sub(r"^/data\b", str(self.home), value)
        return re.sub(r"^/run/secrets/", f"{self.secrets}/", value)


def translate(service: str, tr: Translation, shell: dict[str, str]) -> tuple[list[str], dict]:
    """The argv and environment of a Compose service on this machine."""
    spec = compose()["services"][service]
    entrypoint = spec.get("entrypoint") or dockerfile_entrypoint()
    program, *rest = [tr(interpolate(str(a), shell)) for a in [*entrypoint, *spec["command"]]]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIMEPOINT_", "DASK_"))}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    for name, value in (spec.get("environment") or {}).items():
        translated = tr(interpolate(str(value), shell))
        if translated:
            env[name] = translated
    return [*PROGRAMS[program], *rest], env


class Processes:
    """Processes started in their own sessions, each with a log; all stopped at the end."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.started.append((name, process))
        return process

    def logs(self) -> str:
        return "\n".join(
            f"--- {name}\n{(self.folder / f'{name}.log').read_text()[-3000:]}"
            for name, _ in self.started
        )

    def stop_all(self) -> None:
        for _, process in reversed(self.started):
            stop(process, signal.SIGTERM)


def stop(process: subprocess.Popen, sig: int) -> None:
    """Send ``sig`` to the process's session and wait for it (then SIGKILL)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture
def database() -> Iterator[tuple[PostgresCluster, str]]:
    """A private cluster with the role and database deploy/compose.yaml names."""
    reason = postgres_unavailable()
    if reason:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    import psycopg

    cluster = PostgresCluster().start()
    try:
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as connection:
            connection.execute(f"CREATE ROLE timepoint LOGIN PASSWORD '{DB_PASSWORD}'")
            connection.execute("CREATE DATABASE timepoint OWNER timepoint")
        yield cluster, cluster.url("timepoint")
    finally:
        cluster.stop()


def test_compose_services_are_the_ones_the_issue_names():
    services = compose()["services"]
    assert set(services) == {"api", "scheduler", "worker", "postgres"}
    assert services["worker"]["deploy"]["replicas"] == 2
    api = services["api"]["environment"]
    assert api["DASK_SCHEDULER_ADDRESS"] == "tcp://scheduler:8786"
    assert api["TIMEPOINT_DB_URL"].startswith("postgresql://timepoint@postgres:5432/")
    user = api["TIMEPOINT_DB_URL"].removeprefix("postgresql://").split("@")[0]
    assert ":" not in user, "the password comes from the secret file, never the URL"
    assert api["TIMEPOINT_DB_PASSWORD_FILE"] == "/run/secrets/db_password"
    assert services["api"]["secrets"] == services["postgres"]["secrets"] == ["db_password"]
    assert services["postgres"]["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert dockerfile_entrypoint() == ["timepoint"]


@pytest.mark.slow
@pytest.mark.postgres
def test_compose_commands_run_a_batch_on_dask_and_survive_a_stopped_worker(tmp_path, database):
    cluster, _ = database
    ports = {port: free_port() for port in PORTS}
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "db_password").write_text(DB_PASSWORD + "\n")
    tr = Translation(ports, tmp_path / "data", secrets, cluster.port)
    tr.home.mkdir()
    processes = Processes(tmp_path)
    model = processes.start(
        "model",
        [*PROGRAMS["timepoint"], "offline-server", "--port", "0", "--latency-ms", LATENCY_MS],
        {**os.environ, "PYTHONPATH": str(ROOT)},
    )
    model_url = wait_for(lambda: _served_url(tmp_path / "model.log"), timeout=30, what="model")
    # the shell that runs `docker compose up`: an endpoint and its key
    shell = {"TIMEPOINT_LLM_BASE_URL": model_url, "TIMEPOINT_LLM_API_KEY": "local-key"}
    try:
        processes.start("scheduler", *translate("scheduler", tr, shell))
        dashboard = f"http://127.0.0.1:{ports[8787]}"
        wait_for(lambda: _answers(f"{dashboard}/health"), timeout=30, what="the scheduler")
        workers = []
        for index in range(compose()["services"]["worker"]["deploy"]["replicas"]):
            tr.ports[8788] = free_port()  # one dashboard port per worker on this machine
            workers.append(processes.start(f"worker{index}", *translate("worker", tr, shell)))
        wait_for(lambda: _answers(f"http://127.0.0.1:{tr.ports[8788]}/health"), timeout=30)
        argv, env = translate("api", tr, shell)
        key = subprocess.run(
            [*PROGRAMS["timepoint"], "keys", "create", "--name", "first"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.split()[0]
        processes.start("api", argv, env)
        url = f"http://127.0.0.1:{ports[8000]}"
        api = httpx.Client(
            base_url=url,
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        wait_for(lambda: _answers(f"{url}/healthz"), timeout=30, what="/healthz")
        ready = api.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"

        batch = api.post("/batches", json={**BATCH, "workers": 2})
        assert batch.status_code == 202, batch.text
        batch_id = batch.json()["id"]
        db_url = cluster.url("timepoint")
        stopped, interrupted = _stop_a_worker_mid_job(db_url, batch_id, workers)
        done = finished(api, batch_id, timeout=40)
        runs = api.get("/runs").json()
        api.close()
    except BaseException:
        print(processes.logs())
        raise
    finally:
        processes.stop_all()
        stop(model, signal.SIGTERM)
    assert done["status"] == "completed", done
    assert done["progress"] == {"done": 6, "total": 6}
    assert "dask" in done["result"]["summary"]["backend"]
    import psycopg

    with psycopg.connect(cluster.url("timepoint")) as connection:
        jobs = connection.execute(
            "SELECT status, run_id FROM batch_jobs WHERE batch_id = %s", (batch_id,)
        ).fetchall()
        attempts = connection.execute(
            "SELECT job_id, status, pid FROM batch_attempts WHERE batch_id = %s", (batch_id,)
        ).fetchall()
        providers = connection.execute("SELECT DISTINCT provider FROM runs").fetchall()
    assert sorted(status for status, _ in jobs) == ["completed"] * 6
    completed = {job: pid for job, status, pid in attempts if status == "completed"}
    assert len(completed) == 6, "each job's result was recorded by one attempt"
    assert len([a for a in attempts if a[1] == "completed"]) == 6
    # the jobs of the stopped worker were finished by the one that remained
    assert interrupted and all(completed[job] != stopped for job in interrupted), attempts
    assert {pid for job, status, pid in attempts if job in interrupted} > {stopped}
    assert {run["run_id"] for run in runs} == {run_id for _, run_id in jobs}
    assert providers == [("openai-compatible",)]  # the endpoint the environment named


def _served_url(log: Path) -> str | None:
    found = re.search(r"offline model at (\S+)", log.read_text())
    return found.group(1) if found else None


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _stop_a_worker_mid_job(
    db_url: str, batch_id: str, workers: list[subprocess.Popen]
) -> tuple[int, set[str]]:
    """Once a worker's jobs have made model calls, stop that worker the way ``docker compose
    stop`` and Kubernetes do (SIGTERM); returns its process id and the jobs it was running."""
    import psycopg

    def running() -> dict[int, set[str]]:
        with psycopg.connect(db_url) as connection:
            rows = connection.execute(
                "SELECT pid, job_id FROM batch_attempts "
                "WHERE batch_id = %s AND status = 'running' AND tokens > 0",
                (batch_id,),
            ).fetchall()
        by_pid: dict[int, set[str]] = {}
        for pid, job in rows:
            by_pid.setdefault(pid, set()).add(job)
        return by_pid

    pid, jobs = next(iter(wait_for(running, timeout=40, every=0.1, what="jobs").items()))
    [victim] = [w for w in workers if os.getpgid(pid) == w.pid]
    stop(victim, signal.SIGTERM)
    return pid, jobs
