"""Batch throughput and driver memory, with the offline model emulating provider latency.

Run: ``python benchmarks/batch_throughput.py [--jobs 200] [--latency-ms 100] [--workers 2]``

1. Throughput: ``--jobs`` jobs of a small scenario (3 entities to populate, 1 timepoint: 5 calls
   a job) on each backend with ``--workers`` workers and the default in-run concurrency
   (``models.max_concurrency``). Prints jobs/s, calls/s and the ratio to the ideal
   ``workers × in-run concurrency / latency`` calls/s (target ≥ 0.8). A forward run's calls are
   mostly sequential (each timepoint's dialog needs its event), so one run rarely keeps all its
   in-run slots busy; the rows with threads run as many jobs per worker as the in-run
   concurrency (``threads_per_worker``) to fill them, on both backends.
2. Driver memory: the peak of Python allocations in the driver (tracemalloc, after a warm-up
   batch so that lazy imports are not counted) while running 200 and 2,000 jobs of the cheapest
   scenario (one known entity, one timepoint, one call a job) on
   the local backend. It should be flat: the driver keeps a bounded window of futures and
   streams every result into the store.

Everything is written under a temporary folder that is removed at the end.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import tempfile
import time
import tracemalloc
from functools import partial
from pathlib import Path

import yaml

import timepoint as tp
from timepoint.llm.config import ModelsConfig
from timepoint.llm.offline import OfflineModel
from timepoint.settings import Settings
from timepoint.store import open_store

#: (backend, threads per worker) of the throughput rows
BACKENDS = (("local", 1), ("local", 16), ("dask", 1), ("dask", 16))

SMALL = {
    "id": "bench_small",
    "title": "Harbour council",
    "description": "Three harbour masters decide whether to close the port before a storm.",
    "entities": {
        "count": 3,
        "roster": [
            {"id": "ines", "name": "Ines", "role": "primary", "knowledge": ["A storm is near."]},
            {"id": "tomas", "name": "Tomas", "role": "primary", "knowledge": ["Ships are due."]},
            {"id": "lea", "name": "Lea", "role": "secondary"},
        ],
    },
    "timepoints": {"count": 1},
}

CHEAPEST = {
    "id": "bench_cheapest",
    "title": "A lighthouse keeper",
    "description": "A lighthouse keeper notes the weather at dusk.",
    "entities": {
        "count": 1,
        "roster": [
            {
                "id": "keeper",
                "name": "Mara",
                "role": "primary",
                "description": "The keeper of the north light.",
                "traits": {"conscientiousness": 0.2},
                "knowledge": ["The lamp needs oil."],
            }
        ],
    },
    "timepoints": {"count": 1},
    "mechanisms": {"disabled": ["m11", "m15"]},
}


def write(folder: Path, scenario: dict) -> Path:
    path = folder / f"{scenario['id']}.yaml"
    path.write_text(yaml.safe_dump(scenario))
    return path


def throughput(
    folder: Path,
    backend: str,
    jobs: int,
    workers: int,
    latency_ms: float,
    threads: int = 1,
) -> str:
    home = folder / f"{backend}-{threads}"
    settings = Settings(home=home)
    grid = tp.expand_grid(write(folder, SMALL), {"seed": range(jobs)})
    started = time.perf_counter()
    summary = tp.run_batch(
        grid,
        parallel_workers=workers,
        backend=backend,
        threads_per_worker=threads,
        model=partial(OfflineModel, latency_ms=latency_ms),
        settings=settings,
        progress=False,
        budget_cap=None,
    )
    wall = time.perf_counter() - started
    store = open_store(home=home)
    calls = sum(store.load_run(r["run_id"]).usage.calls for r in store.jobs(summary.batch_id))
    concurrency = ModelsConfig().max_concurrency
    ideal = workers * concurrency / (latency_ms / 1000)
    achieved = calls / wall
    label = f"{backend} ({workers} workers" + (f" × {threads} threads)" if threads > 1 else ")")
    return (
        f"{label:<30} {summary.completed:>4}/{jobs} jobs  {wall:6.1f} s  "
        f"{summary.completed / wall:6.2f} jobs/s  {achieved:7.1f} calls/s  "
        f"ideal {ideal:6.1f} calls/s  ratio {achieved / ideal:.2f}"
    )


def driver_peak(folder: Path, jobs: int, workers: int) -> tuple[float, float]:
    home = folder / f"memory-{jobs}-{time.monotonic_ns()}"
    grid = tp.expand_grid(write(folder, CHEAPEST), {"seed": range(jobs)})
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.perf_counter()
    summary = tp.run_batch(
        grid, parallel_workers=workers, settings=Settings(home=home), progress=False
    )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert summary.completed == jobs, summary.describe()
    return peak / 1e6, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-jobs", type=int, nargs=2, default=[200, 2000])
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="timepoint-bench-"))
    try:
        if not args.skip_throughput:
            print(f"throughput: {args.jobs} jobs of {SMALL['id']}, {args.latency_ms:g} ms a call")
            for backend, threads in BACKENDS:
                print(
                    throughput(folder, backend, args.jobs, args.workers, args.latency_ms, threads)
                )
        print(f"driver memory: {CHEAPEST['id']}, local backend, {args.workers} workers")
        driver_peak(folder, 4, args.workers)
        peaks = []
        for jobs in args.memory_jobs:
            peak, wall = driver_peak(folder, jobs, args.workers)
            peaks.append(peak)
            print(f"  {jobs:>5} jobs: peak {peak:6.2f} MB of Python allocations ({wall:.1f} s)")
        growth = args.memory_jobs[-1] / args.memory_jobs[0]
        print(f"  peak ratio {peaks[-1] / peaks[0]:.2f} for {growth:g}x the jobs")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
