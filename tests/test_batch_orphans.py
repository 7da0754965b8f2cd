"""A killed driver takes its workers along; a resume waits for leases and records each job once.

The driver alone is killed (``kill -9`` of its pid, not of its process group): its workers must
end by themselves. Spend is checked against the endpoint: an offline server on 127.0.0.1 whose
model counts the tokens it answered, billed through a registry at $1000 per million tokens.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from functools import partial

import pytest
import yaml

import timepoint as tp
from timepoint.batch.job import JobContext, run_job
from timepoint.batch.lease import this_host
from timepoint.batch.lifeline import ORPHANED, watch_parent
from timepoint.commands.offline_server import answer_schemas
from timepoint.engine.locks import run_lock
from timepoint.errors import BatchError
from timepoint.llm.offline import OfflineModel
from timepoint.llm.offline_server import OfflineEndpoint, OfflineServer
from timepoint.store import open_store

from .test_batch_specs import PRICED_REGISTRY, write_scenario

psutil = pytest.importorskip("psutil")

PRICE_PER_TOKEN = 1000 / 1_000_000


class CountingModel(OfflineModel):
    """The offline model, counting the tokens of every answer it gives (the endpoint's bill)."""

    def __init__(self, **options):
        super().__init__(**options)
        self.tokens = 0
        self.calls = 0
        self.largest = 0
        self.counter_lock = threading.Lock()

    def complete(self, request):
        completion = super().complete(request)
        with self.counter_lock:
            self.tokens += completion.usage.total_tokens
            self.calls += 1
            self.largest = max(self.largest, completion.usage.total_tokens)
        return completion


def _cli_env(tmp_path, server):
    registry = tmp_path / "registry.yaml"
    registry.write_text(yaml.safe_dump(PRICED_REGISTRY))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIMEPOINT_", "OPENROUTER"))}
    env.update(
        TIMEPOINT_HOME=str(tmp_path / "runs"),
        TIMEPOINT_LLM_BASE_URL=server.url,
        TIMEPOINT_LLM_API_KEY="offline-endpoint",
        TIMEPOINT_LLM_MODEL="test-priced",
        TIMEPOINT_LLM_REGISTRY=str(registry),
    )
    return env


def _live(processes):
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def _workers_of(pid, at_least, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    children = []
    while time.monotonic() < deadline:
        children = psutil.Process(pid).children(recursive=True)
        if len(children) >= at_least:
            return children
        time.sleep(0.05)
    raise AssertionError(f"only {len(children)} worker processes started")


@pytest.mark.slow
@pytest.mark.parametrize("threads", [1, 2])
def test_killed_driver_leaves_no_worker_and_resume_records_each_job_once(tmp_path, threads):
    jobs = 8
    write_scenario(tmp_path)
    batch_file = tmp_path / "orphans.yaml"
    batch_file.write_text(
        yaml.safe_dump(
            {
                "scenario": "village_well.yaml",
                "id": "orphans",
                "grid": {"seed": f"0..{jobs - 1}"},
                "workers": 2,
                "threads_per_worker": threads,
                "budget_usd": None,
                "attempts": 1,
            }
        )
    )
    model = CountingModel(latency_ms=700)
    endpoint = OfflineEndpoint(model, answer_schemas(), served="test-priced")
    with OfflineServer(endpoint) as server:
        env = _cli_env(tmp_path, server)
        command = [sys.executable, "-m", "timepoint.cli", "batch", str(batch_file), "--yes"]
        driver = subprocess.Popen(
            [*command, "--quiet"],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        store = open_store(home=tmp_path / "runs")
        try:
            workers = _workers_of(driver.pid, at_least=2)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and driver.poll() is None:
                if store.batches() and len(store.completed_job_ids("orphans")) >= 2:
                    break
                time.sleep(0.05)
            workers = psutil.Process(driver.pid).children(recursive=True)
        finally:
            os.kill(driver.pid, signal.SIGKILL)  # the driver only, not its process group
            driver.wait()
        killed_at = time.monotonic()
        _, alive = psutil.wait_procs(workers, timeout=5)
        assert not _live(alive), f"workers outlived their driver: {[p.pid for p in alive]}"
        gone_s = time.monotonic() - killed_at

        before = {r["job_id"]: r for r in store.jobs("orphans")}
        done_before = {j: r["run_id"] for j, r in before.items() if r["status"] == "completed"}
        assert 2 <= len(done_before) < jobs, "the batch should have been killed mid-way"

        resumed = subprocess.run(
            [*command, "--resume", "orphans"], env=env, capture_output=True, text=True, timeout=300
        )
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert "previous driver" in resumed.stderr and f"pid {driver.pid}" in resumed.stderr
        billed_tokens, largest_call = model.tokens, model.largest

    after = {r["job_id"]: r for r in store.jobs("orphans")}
    assert len(after) == jobs and {r["status"] for r in after.values()} == {"completed"}
    for job_id, run_id in done_before.items():
        assert after[job_id]["run_id"] == run_id, "a completed result was recomputed"
    completed_runs = [r for r in store.list_runs() if r.status == "completed"]
    per_seed = collections.Counter(r.seed for r in completed_runs)
    assert per_seed == dict.fromkeys(range(jobs), 1), "a job ran to completion twice"
    assert sorted(r.run_id for r in completed_runs) == sorted(r["run_id"] for r in after.values())
    attempts = store.attempts("orphans")
    assert [a["job_id"] for a in attempts if a["status"] == "completed"] == sorted(after)

    # every attempt that ran is in the totals: all the endpoint billed, with at most the worst
    # case of the calls the killed workers had in flight on top
    total_usd, total_tokens = store.batch_spend("orphans")
    billed_usd = billed_tokens * PRICE_PER_TOKEN
    printed = re.search(r"\$([0-9.]+) for the batch", resumed.stdout)
    assert printed and float(printed.group(1)) == pytest.approx(total_usd, abs=1e-4)
    assert total_usd >= billed_usd - 1e-6 and total_tokens >= billed_tokens
    in_flight = 2 * threads * 4 * largest_call * PRICE_PER_TOKEN
    assert total_usd <= billed_usd + in_flight
    assert sum(r.cost_usd for r in store.list_runs()) <= total_usd + 1e-6
    assert gone_s < 5


def test_watchdog_exits_once_the_parent_changes():
    parents = iter([100, 100, 1])
    exits = []
    watch_parent(100, getppid=lambda: next(parents), exit=exits.append, interval_s=0.001)
    assert exits == [ORPHANED]


def test_watchdog_stops_without_exiting_when_asked():
    stop = threading.Event()
    stop.set()
    exits = []
    watch_parent(100, getppid=lambda: 1, exit=exits.append, stop=stop)
    assert exits == []


DRIVER = """
import sys, time
from timepoint.batch.backends import open_backend

backend = open_backend("local", 2, None, int(sys.argv[1]))
for index in range(backend.capacity + 2):
    backend.submit(time.sleep, 120, key=str(index))
print("submitted", flush=True)
time.sleep(300)
"""


@pytest.mark.parametrize("threads", [1, 2])
def test_local_pool_workers_die_with_a_killed_driver(tmp_path, threads):
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(DRIVER))
    driver = subprocess.Popen(
        [sys.executable, str(script), str(threads)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert driver.stdout.readline().strip() == "submitted"
        workers = _workers_of(driver.pid, at_least=2)
        time.sleep(0.5)  # let the workers reach their initializer
        workers = psutil.Process(driver.pid).children(recursive=True)
    finally:
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        driver.stdout.close()
    _, alive = psutil.wait_procs(workers, timeout=5)
    assert not _live(alive), [p.cmdline() for p in _live(alive)]


def _recover_slowly(home, store, job_id, record) -> None:
    """Hold the run's writer lock (as another job's recovery does) from before the resumed job
    looks for its orphan until after, then store the run completed."""
    with run_lock(home, record.run_id):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if any(a["job_id"] == job_id and a["attempt"] == 2 for a in store.attempts("adopt")):
                break
            time.sleep(0.02)
        time.sleep(0.5)
        store.save_run(record, store.calls(record.run_id), children=False)


def _resume(grid, settings, **options):
    return tp.run_batch(grid, parallel_workers=1, progress=False, settings=settings, **options)


def test_resume_waits_for_a_remote_driver_and_its_workers_and_says_so(tmp_path, settings):
    grid = tp.expand_grid(write_scenario(tmp_path), {"seed": range(2)})
    store = open_store(settings.db_url, home=settings.home)
    store.create_batch("remote", {"jobs": 2})
    far = "far-away:4242:0123456789ab"
    assert store.claim_batch("remote", far, host="far-away", pid=4242, lease_s=1.5) is None
    first = grid[0].job_id
    attempt, _ = store.claim_job(
        "remote", first, far, spec={}, lease_s=3.0, host="far-away", pid=4243
    )
    store.renew_job_lease("remote", first, far, attempt, lease_s=3.0, cost_usd=0.25, tokens=250)
    messages: list[str] = []
    started = time.monotonic()
    summary = _resume(grid, settings, resume="remote", lease_s=2.0, say=messages.append)
    assert time.monotonic() - started >= 2.5
    assert messages[0].startswith(
        "waiting for batch remote: the driver that ran it (pid 4242 on far-away) may still be "
        "running; its lease runs out at "
    )
    assert messages[1].startswith(
        "waiting for 1 job(s) of batch remote still held by the previous driver's workers "
        "(pid 4243 on far-away)"
    )
    # the old attempt ends after all: it may not record, but its spend counts
    assert not store.finish_job("remote", first, far, attempt, status="completed", cost_usd=0.5)
    assert (summary.completed, summary.failed) == (2, 0)
    rows = {r["job_id"]: r for r in store.jobs("remote")}
    assert rows[first]["status"] == "completed" and rows[first]["attempt"] == 2
    statuses = [(a["job_id"], a["attempt"], a["status"]) for a in store.attempts("remote")]
    assert (first, 1, "lost") in statuses and (first, 2, "completed") in statuses
    assert store.batch_spend("remote")[0] == pytest.approx(0.5)
    assert store.batch("remote")["lease_owner"] is None, "the lease is given up at the end"


def test_a_batch_run_by_a_live_driver_here_is_not_resumed(tmp_path, settings):
    grid = tp.expand_grid(write_scenario(tmp_path), {"seed": range(1)})
    store = open_store(settings.db_url, home=settings.home)
    store.create_batch("busy", {"jobs": 1})
    holder = f"{this_host()}:{os.getpid()}:feedfacecafe"
    store.claim_batch("busy", holder, host=this_host(), pid=os.getpid(), lease_s=60)
    with pytest.raises(BatchError, match=rf"being run by another process \(pid {os.getpid()} "):
        _resume(grid, settings, resume="busy")
    assert store.jobs("busy") == []


def test_a_job_that_loses_its_lease_stops_calling_the_model_and_records_nothing(tmp_path, settings):
    grid = tp.expand_grid(write_scenario(tmp_path), {"seed": range(1)})
    store = open_store(settings.db_url, home=settings.home)
    store.create_batch("taken", {"jobs": 1})
    store.claim_batch("taken", "driver-a", host=this_host(), pid=os.getpid(), lease_s=60)
    ctx = JobContext(
        batch_id="taken",
        settings=settings,
        model=partial(OfflineModel, latency_ms=300),
        attempts=3,
        store_url=store.url,
        lease_owner="driver-a",
        lease_s=0.4,
    )
    results = []
    worker = threading.Thread(target=lambda: results.append(run_job(grid[0], ctx, None)))
    started = time.monotonic()
    worker.start()
    while not store.attempts("taken"):
        time.sleep(0.02)
    store.claim_batch("taken", "driver-b", host="h", pid=1, lease_s=60, takeover="driver-a")
    worker.join(timeout=30)
    (result,) = results
    assert result.lost and result.error_class == "LeaseLost" and result.retries == 0
    assert time.monotonic() - started < 3, "the run went on calling the model"
    (row,) = store.jobs("taken")
    assert row["status"] == "abandoned" and row["run_id"] is None
    (attempt,) = store.attempts("taken")
    assert attempt["status"] == "lost"
    completed = [r for r in store.list_runs() if r.status == "completed"]
    assert completed == []


@pytest.mark.parametrize(
    "how",
    ["killed", "worker-died", "killed-before-final-row", "being-recovered-by-another-job"],
    ids=lambda how: how,
)
def test_a_resume_adopts_a_run_its_killed_attempt_stored_but_never_recorded(
    tmp_path, settings, how
):
    grid = tp.expand_grid(write_scenario(tmp_path), {"seed": range(2)})
    store = open_store(settings.db_url, home=settings.home)
    store.create_batch("adopt", {"jobs": 2})
    far = "far-away:4242:0123456789ab"
    assert store.claim_batch("adopt", far, host="far-away", pid=4242, lease_s=1.0) is None
    first = grid[0]
    attempt, _ = store.claim_job(
        "adopt", first.job_id, far, spec={}, lease_s=1.0, host="far-away", pid=4243
    )
    assert attempt is not None
    # the attempt named its run, stored it, and was killed before recording the job
    store.name_attempt_run("adopt", first.job_id, attempt, "20260101-000000-orphan")
    stored = tp.run(
        first.scenario,
        seed=first.seed,
        overrides=first.overrides or None,
        store=store,
        settings=settings,
        run_id="20260101-000000-orphan",
    )
    if how in ("killed-before-final-row", "being-recovered-by-another-job"):
        # its folder was written, its store row still says running
        running = stored.record.model_copy(update={"status": "running"})
        store.save_run(running, store.calls(stored.run_id), children=False)
    if how == "being-recovered-by-another-job":  # another job's start-up is finishing it
        recovering = threading.Thread(
            target=_recover_slowly, args=(settings.home, store, first.job_id, stored.record)
        )
        recovering.start()
    if how == "worker-died":  # the driver saw the worker die and closed its attempt as failed
        assert store.close_job(
            "adopt", first.job_id, far, status="failed", step="worker", message="worker died"
        )
    summary = _resume(grid, settings, resume="adopt", lease_s=2.0)
    if how == "being-recovered-by-another-job":
        recovering.join()
    assert (summary.completed, summary.failed) == (2, 0)
    rows = {r["job_id"]: r for r in store.jobs("adopt")}
    assert rows[first.job_id]["run_id"] == stored.run_id, "the stored run was not adopted"
    assert store.load_run(stored.run_id).status == "completed"
    seeds = collections.Counter(r.seed for r in store.list_runs() if r.status == "completed")
    assert seeds == {0: 1, 1: 1}, "a job ran to completion twice"
    adopting = [a for a in store.attempts("adopt") if a["job_id"] == first.job_id]
    assert [a["cost_usd"] for a in adopting if a["status"] == "completed"] == [0.0], (
        "the adopted run's spend is counted twice in the batch totals"
    )
