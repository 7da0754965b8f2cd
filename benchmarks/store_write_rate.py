"""Store writes of a batch on PostgreSQL: transactions and rows per job and per running job-second.

Run: ``python benchmarks/store_write_rate.py [--jobs 64] [--latency-ms 1000] [--workers 2]``

Starts a private PostgreSQL cluster on 127.0.0.1 (the test suite's: PostgreSQL 15 binaries in
/usr/lib/postgresql/15/bin), runs ``--jobs`` jobs of the small scenario of
``batch_throughput.py`` on the local backend with the offline model emulating ``--latency-ms``
per call, and reads PostgreSQL's own counters (``pg_stat_database``: committed transactions,
rows inserted and updated) before and after. Every process of the batch writes to the store —
the driver, each job's lease heartbeat and spend flushes, the run rows — so these counters see
them all. docs/scaling.md scales the per-job-second figure to 100, 1,000 and 10,000 jobs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

import psycopg

import timepoint as tp
from timepoint.llm.offline import OfflineModel
from timepoint.settings import Settings
from timepoint.store import open_store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from batch_throughput import SMALL, write

from tests.test_store_support import PostgresCluster, postgres_unavailable

COUNTERS = "SELECT xact_commit, tup_inserted, tup_updated FROM pg_stat_database WHERE datname = %s"


def counters(url: str, database: str) -> tuple[int, int, int]:
    """PostgreSQL's counters of ``database``, after the statistics of finished sessions are in."""
    time.sleep(1.5)  # backends report their statistics at most once a second
    with psycopg.connect(url) as connection:
        connection.execute("SELECT pg_stat_clear_snapshot()")
        row = connection.execute(COUNTERS, (database,)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


class ConnectionPeak:
    """The most connections to ``database`` seen while the block runs (sampled every 0.2 s)."""

    def __init__(self, url: str, database: str):
        self.url, self.database, self.peak = url, database, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> ConnectionPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
        with psycopg.connect(self.url, autocommit=True) as connection:
            while not self._stop.wait(0.2):
                row = connection.execute(query, (self.database,)).fetchone()
                self.peak = max(self.peak, int(row[0]) if row else 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=1000.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    reason = postgres_unavailable()
    if reason:
        raise SystemExit(f"cannot start PostgreSQL: {reason}")
    cluster = PostgresCluster().start()
    folder = Path(tempfile.mkdtemp(prefix="timepoint-bench-"))
    try:
        url = cluster.new_database()
        database = url.rsplit("/", 1)[1]
        settings = Settings(home=folder / "runs", db_url=url)
        warm = tp.expand_grid(write(folder, SMALL), {"seed": [999]})
        tp.run_batch(warm, parallel_workers=1, settings=settings, progress=False)  # migrations
        grid = tp.expand_grid(write(folder, SMALL), {"seed": range(args.jobs)})
        before = counters(cluster.url("postgres"), database)
        started = time.perf_counter()
        with ConnectionPeak(cluster.url("postgres"), database) as connections:
            summary = tp.run_batch(
                grid,
                parallel_workers=args.workers,
                model=partial(OfflineModel, latency_ms=args.latency_ms),
                settings=settings,
                progress=False,
                budget_cap=None,
            )
        wall = time.perf_counter() - started
        after = counters(cluster.url("postgres"), database)
        commits, inserted, updated = (b - a for a, b in zip(before, after, strict=True))
        job_seconds = sum(
            row["duration_s"] or 0.0 for row in open_store(url).jobs(summary.batch_id)
        )
        print(
            f"{summary.completed}/{args.jobs} jobs of {SMALL['id']} on {args.workers} workers, "
            f"{args.latency_ms:g} ms a call: {wall:.1f} s, {job_seconds / args.jobs:.1f} s a job"
        )
        print(
            f"  per job: {commits / args.jobs:.1f} transactions, "
            f"{inserted / args.jobs:.1f} rows inserted, {updated / args.jobs:.1f} rows updated"
        )
        print(
            f"  per running job and second: {commits / job_seconds:.2f} transactions, "
            f"{(inserted + updated) / job_seconds:.2f} rows written"
        )
        slots = args.workers * 16
        print(
            f"  whole batch: {commits / wall:.1f} transactions/s with up to {slots} jobs "
            f"running; at most {connections.peak} connections open at once"
        )
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
