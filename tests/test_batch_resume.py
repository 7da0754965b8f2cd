"""Kill a batch mid-way, resume it: completed results are kept, the rest run exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from functools import partial

import pytest

import timepoint as tp
from timepoint.llm.offline import OfflineModel
from timepoint.store import open_store

from .test_batch_specs import write_scenario

JOBS = 10
LATENCY_MS = 150

SCRIPT = """
from functools import partial
import timepoint as tp
from timepoint.llm.offline import OfflineModel
from timepoint.settings import Settings

grid = tp.expand_grid({scenario!r}, {{"seed": range({jobs})}})
tp.run_batch(
    grid, parallel_workers=2, batch_id="killed", progress=False,
    model=partial(OfflineModel, latency_ms={latency}),
    settings=Settings(home={home!r}),
)
"""


@pytest.mark.slow
def test_killed_batch_resumes_without_losing_or_repeating_a_job(tmp_path, settings):
    path = write_scenario(tmp_path)
    script = tmp_path / "batch.py"
    script.write_text(
        textwrap.dedent(
            SCRIPT.format(
                scenario=str(path), jobs=JOBS, latency=LATENCY_MS, home=str(settings.home)
            )
        )
    )
    process = subprocess.Popen(
        [sys.executable, str(script)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = open_store(settings.db_url, home=settings.home)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            if store.batches() and len(store.completed_job_ids("killed")) >= 3:
                break
            time.sleep(0.05)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    before = {r["job_id"]: r for r in store.jobs("killed")}
    done_before = {j: r["run_id"] for j, r in before.items() if r["status"] == "completed"}
    running_before = {j for j, r in before.items() if r["status"] == "running"}
    assert 3 <= len(done_before) < JOBS, "the batch should have been killed mid-way"
    assert running_before, "some job should have been running when the batch was killed"

    grid = tp.expand_grid(path, {"seed": range(JOBS)})
    summary = tp.run_batch(
        grid,
        parallel_workers=2,
        resume="killed",
        progress=False,
        settings=settings,
        model=partial(OfflineModel, latency_ms=LATENCY_MS),
    )
    assert summary.already_completed == len(done_before)
    assert summary.executed == summary.completed == JOBS - len(done_before)
    after = {r["job_id"]: r for r in store.jobs("killed")}
    assert len(after) == JOBS and {r["status"] for r in after.values()} == {"completed"}
    for job_id, run_id in done_before.items():
        assert after[job_id]["run_id"] == run_id, "a completed result was recomputed"
    completed_runs = [
        r for r in store.list_runs(scenario="village_well") if r.status == "completed"
    ]
    assert sorted(r.run_id for r in completed_runs) == sorted(r["run_id"] for r in after.values())
    assert sorted(store.load_run(r["run_id"]).seed for r in after.values()) == list(range(JOBS))
