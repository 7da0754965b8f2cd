"""Batch throughput with default settings and driver memory, the offline model emulating latency.

Run: ``python benchmarks/batch_throughput.py [--jobs 200] [--latency-ms 1000] [--workers 2]``

1. Throughput: ``--jobs`` jobs of a small scenario (3 entities to populate, 1 timepoint: about
   6.5 calls a job) on each backend with ``--workers`` workers. The *default* rows pass no
   other setting: each worker then runs as many jobs at once as one run may have calls in
   flight (``models.max_concurrency``, 16). The *tuned* rows run twice that many. Each row
   prints jobs/s, calls/s, the ratio to the ideal ``workers × in-run concurrency / latency``
   calls/s (target ≥ 0.8 for the default rows), and the CPU the batch used per job, driver and
   workers together, with the calls/s this machine's cores could sustain at that cost.

   A forward run's calls are mostly sequential (each timepoint's dialog needs its event); the
   header line measures one job alone to show its chain. One job per worker therefore leaves
   most of the ideal unused, whatever the pool: that is why the default runs several jobs per
   worker on threads, and the tuned rows, with more jobs than in-run slots, can pass 1.0.

   The default latency is 1 s, what a hosted model takes for one completion of a few hundred
   tokens (providers answer in 0.5–3 s). At 100 ms the ideal would be 320 calls/s — about 50
   jobs/s — while a job costs tens of milliseconds of Python CPU in its worker (prompt building,
   the offline model, store and lease writes): two cores cannot do that, so the rows at 100 ms
   measure the CPU, and their "cpu-bound at" column says where it stops.
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
import os
import resource
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

#: (backend, threads per worker as a multiple of the in-run concurrency; None: the default)
ROWS = (("local", None), ("dask", None), ("local", 2), ("dask", 2))

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


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (the batch's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def solo(folder: Path, latency_ms: float) -> str:
    """One job alone, in this process: its calls and how long its chain of calls takes."""
    home = folder / "solo"
    model = OfflineModel(latency_ms=latency_ms)
    started = time.perf_counter()
    run = tp.run(write(folder, SMALL), model=model, settings=Settings(home=home), seed=0)
    wall = time.perf_counter() - started
    calls = open_store(home=home).load_run(run.run_id).usage.calls
    chain = wall / (latency_ms / 1000)
    return (
        f"one job alone: {calls} calls in {wall:.1f} s, a chain of {chain:.1f} call latencies "
        f"({calls / chain:.1f} calls in flight on average)"
    )


def throughput(
    folder: Path, backend: str, jobs: int, workers: int, latency_ms: float, times: int | None
) -> str:
    concurrency = ModelsConfig().max_concurrency
    threads = times * concurrency if times else None
    home = folder / f"{backend}-{threads}"
    settings = Settings(home=home)
    grid = tp.expand_grid(write(folder, SMALL), {"seed": range(jobs)})
    cpu, started = cpu_seconds(), time.perf_counter()
    summary = tp.run_batch(
        grid,
        parallel_workers=workers,
        backend=backend,
        model=partial(OfflineModel, latency_ms=latency_ms),
        settings=settings,
        progress=False,
        budget_cap=None,
        **({"threads_per_worker": threads} if threads else {}),
    )
    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    store = open_store(home=home)
    calls = sum(store.load_run(r["run_id"]).usage.calls for r in store.jobs(summary.batch_id))
    ideal = workers * concurrency / (latency_ms / 1000)
    achieved = calls / wall
    cpu_bound = (os.cpu_count() or 1) * calls / cpu
    label = f"{backend} {'tuned' if threads else 'default'}"
    shape = f"{workers} × {threads or concurrency} jobs"
    return (
        f"{label:<14} {shape:<12} {summary.completed:>4}/{jobs} jobs {wall:6.1f} s "
        f"{summary.completed / wall:6.2f} jobs/s {achieved:7.1f} calls/s  ideal {ideal:6.1f}  "
        f"ratio {achieved / ideal:.2f}  cpu {1000 * cpu / jobs:4.0f} ms/job, "
        f"cpu-bound at {cpu_bound:6.1f} calls/s"
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
    parser.add_argument("--latency-ms", type=float, default=1000.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-jobs", type=int, nargs=2, default=[200, 2000])
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="timepoint-bench-"))
    try:
        if not args.skip_throughput:
            print(f"throughput: {args.jobs} jobs of {SMALL['id']}, {args.latency_ms:g} ms a call")
            print(solo(folder, args.latency_ms))
            for backend, times in ROWS:
                print(throughput(folder, backend, args.jobs, args.workers, args.latency_ms, times))
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
