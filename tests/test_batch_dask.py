"""Batches on Dask: a LocalCluster, and a real scheduler with workers in separate processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import timepoint as tp
from timepoint.store import open_store

from .test_batch_specs import write_scenario


def test_dask_local_cluster_runs_a_small_batch(tmp_path, settings):
    grid = tp.expand_grid(write_scenario(tmp_path), {"seed": range(3)})
    summary = tp.run_batch(
        grid, parallel_workers=2, backend="dask", settings=settings, progress=False
    )
    assert (summary.status, summary.completed, summary.failed) == ("completed", 3, 0)
    assert "LocalCluster" in summary.backend
    store = open_store(settings.db_url, home=settings.home)
    for row in store.jobs(summary.batch_id):
        assert store.load_run(row["run_id"]).status == "completed"


# Started through this interpreter: the ``dask`` script lives in the venv's bin/, which need not
# be on PATH (``.venv/bin/python -m pytest`` does not put it there).
DASK_SCHEDULER = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
DASK_WORKER = [sys.executable, "-m", "distributed.cli.dask_worker"]


def _start(command: list[str], log: Path) -> subprocess.Popen:
    with log.open("w") as handle:
        return subprocess.Popen(
            command, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def dask_cluster(tmp_path):
    """A scheduler and two single-thread workers on 127.0.0.1, each its own process."""
    scheduler_file = tmp_path / "scheduler.json"
    processes = [
        _start(
            [
                *DASK_SCHEDULER,
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--dashboard-address",
                ":0",
                "--scheduler-file",
                str(scheduler_file),
            ],
            tmp_path / "scheduler.log",
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert scheduler_file.exists(), (tmp_path / "scheduler.log").read_text()
        for index in range(2):
            processes.append(
                _start(
                    [
                        *DASK_WORKER,
                        "--scheduler-file",
                        str(scheduler_file),
                        "--nworkers",
                        "1",
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                    ],
                    tmp_path / f"worker{index}.log",
                )
            )
        yield json.loads(scheduler_file.read_text())["address"]
    finally:
        for process in reversed(processes):
            _stop(process)


@pytest.mark.slow
def test_dask_scheduler_address_runs_batch_under_a_shared_rate_limit(
    tmp_path, settings, dask_cluster
):
    from distributed import Client

    with Client(dask_cluster, timeout="30s") as client:
        client.wait_for_workers(2, timeout=60)
    grid = tp.expand_grid(write_scenario(tmp_path), {"seed": range(3)})
    started = time.perf_counter()
    summary = tp.run_batch(
        grid,
        parallel_workers=2,
        backend="dask",
        cluster=dask_cluster,
        settings=settings,
        progress=False,
        rpm=600,
    )
    assert (summary.status, summary.completed) == ("completed", 3), summary.describe()
    assert dask_cluster in summary.backend and "2 worker threads" in summary.backend
    assert time.perf_counter() - started >= 14 * 0.1
    store = open_store(settings.db_url, home=settings.home)
    runs = [store.load_run(row["run_id"]) for row in store.jobs(summary.batch_id)]
    assert sorted(r.seed for r in runs) == [0, 1, 2]
    assert all(r.status == "completed" for r in runs)


def test_workers_that_join_a_running_cluster_widen_the_driver_window():
    from distributed import Client, LocalCluster

    from timepoint.batch.backends import DaskBackend
    from timepoint.batch.driver import Driver

    with (
        LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        backend = DaskBackend(1, client, refresh_s=0)
        driver = Driver(backend, None, None, None, None)  # only its window is asked for
        assert (backend.capacity, driver.window) == (2, 4)
        cluster.scale(3)  # what an autoscaler does while a batch runs
        client.wait_for_workers(3, timeout=30)
        assert (backend.capacity, driver.window) == (6, 12)
        assert Driver(backend, None, None, None, None, window=5).window == 5
