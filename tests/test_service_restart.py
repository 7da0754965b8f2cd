"""Accepted work survives the server and its worker dying."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

import timepoint as tp
from tests.service_support import ROOT, ApiServer, WorkerProcess, finished, wait_for
from timepoint.service.app import create_app
from timepoint.service.keys import create_key
from timepoint.service.worker import Worker
from timepoint.settings import Settings
from timepoint.store import open_store

BATCH = {
    "scenario": "showcase/jefferson_dinner.yaml",
    "overrides": {"timepoints.count": 1},
    "grid": {"seed": [0, 1, 2, 3]},
    "workers": 1,
}


@contextmanager
def serve(home: Path) -> Iterator[ApiServer]:
    """The API on a store of ``home`` (closed with the server)."""
    with open_store(home=home) as store:
        app = create_app(store, Settings(home=home), library=ROOT / "scenarios")
        with ApiServer(app) as server:
            yield server


def test_killing_server_and_worker_mid_batch_loses_nothing(tmp_path: Path) -> None:
    home = tmp_path / "runs"
    with open_store(home=home) as store:
        key = create_key(store, "restart")
    headers = {"Authorization": f"Bearer {key}"}
    with serve(home) as first, WorkerProcess(home, "--lease", "2") as worker:
        client = httpx.Client(base_url=first.url, headers=headers, timeout=30)
        batch = client.post("/batches", json=BATCH).json()["id"]
        queued = client.post(
            "/runs", json={**{k: v for k, v in BATCH.items() if k in ("scenario", "overrides")}}
        ).json()["id"]

        def one_job_done() -> bool:
            progress = client.get(f"/batches/{batch}").json()["progress"]
            return progress["done"] >= 1

        wait_for(one_job_done, timeout=60, every=0.05, what="the first job")
        worker.kill()
        client.close()
    with open_store(home=home) as store:
        assert store.work(batch)["status"] == "running"
        assert store.work(queued)["status"] == "queued"
    with serve(home) as second, WorkerProcess(home, "--lease", "2"):
        client = httpx.Client(base_url=second.url, headers=headers, timeout=30)
        done = finished(client, batch, timeout=120)
        run = finished(client, queued, timeout=120)
        listed = client.get("/runs").json()
        client.close()
    assert done["status"] == "completed", done
    assert done["progress"] == {"done": 4, "total": 4}
    assert run["status"] == "completed" and run["run_id"]
    with open_store(home=home) as store:
        jobs = store.jobs(batch)
        completed = [a for a in store.attempts(batch) if a["status"] == "completed"]
    assert sorted(j["status"] for j in jobs) == ["completed"] * 4
    assert len(completed) == 4, "every job's result was recorded once"
    assert len({r["run_id"] for r in listed}) == 5
    assert {j["run_id"] for j in jobs} | {run["run_id"]} == {r["run_id"] for r in listed}


def _died_mid_way(store, kind: str, request: dict, settings: Settings) -> tuple[Worker, str]:
    """Queue work, let a worker do it and die before recording the result; the worker that
    takes over and the work id."""
    store.add_work(f"{kind}-1", "k", kind, request, jobs=1 if kind == "branch" else 0)
    dead = Worker(store, settings, lease_s=0.05)
    row = store.claim_work(dead.token, lease_s=0.05)
    assert row is not None and row["work_id"] == f"{kind}-1"
    getattr(dead, f"_{kind}")(row)  # stored what it made, then died before recording it
    time.sleep(0.1)  # its lease runs out
    return Worker(store, settings, lease_s=5.0), f"{kind}-1"


def test_a_worker_taking_over_an_ask_or_branch_does_not_record_it_twice(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "runs")
    with open_store(home=settings.home) as store:
        parent = tp.run(
            ROOT / "scenarios" / "showcase" / "jefferson_dinner.yaml",
            overrides={"timepoints.count": 2},
            store=store,
            settings=settings,
        )
        question = f"What did {parent.record.entities[0].id} know at the end?"
        after, work_id = _died_mid_way(
            store, "ask", {"parent": parent.run_id, "question": question}, settings
        )
        assert after.step()
        assert store.work(work_id)["status"] == "completed"
        answers = store.load_run(parent.run_id).answers
        assert [a.request_id for a in answers] == [work_id], "the question was answered twice"
        assert store.work(work_id)["result_json"]["text"] == answers[0].text

        request = {"parent": parent.run_id, "at": "1", "remove": parent.record.entities[1].id}
        after, work_id = _died_mid_way(store, "branch", request, settings)
        planned = store.work(work_id)["result_json"]["planned_run"]
        assert after.step()
        work = store.work(work_id)
        assert work["status"] == "completed" and work["run_id"] == planned
        branches = [r for r in store.list_runs() if r.run_id != parent.run_id]
        assert [r.run_id for r in branches] == [planned], "the branch was simulated twice"
