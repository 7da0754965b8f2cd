"""Latency of ``GET /runs/{id}`` on loopback under a steady load (target: p95 < 500 ms).

Starts ``timepoint serve --workers 0`` in its own process on a fresh store holding one offline
run owned by a new key, then sends ``--rate`` requests per second for ``--duration`` seconds on
an open-loop schedule (a request is sent at its time whether or not the earlier ones have been
answered, so a slow server cannot slow the load down) and prints the percentiles.

    python benchmarks/api_latency.py [--rate 50] [--duration 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

import timepoint as tp
from timepoint.service.keys import create_key
from timepoint.settings import Settings
from timepoint.store import open_store

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "showcase" / "jefferson_dinner.yaml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(home: Path) -> tuple[str, str]:
    """One stored offline run and a key that owns it."""
    settings = Settings(home=home)
    run = tp.run(SCENARIO, settings=settings, overrides={"timepoints.count": 1})
    with open_store(home=home) as store:
        key = create_key(store, "benchmark", rate_per_minute=1_000_000)
        store.own_run(run.run_id, key.split("_")[1], "benchmark")
    return key, run.run_id


async def load(url: str, key: str, rate: float, duration: float) -> tuple[list[float], int]:
    """Latencies (seconds) of the answered requests, and the number of failures."""
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:

        async def one() -> None:
            nonlocal failures
            started = time.perf_counter()
            try:
                answer = await client.get(url)
            except httpx.HTTPError:
                failures += 1
                return
            if answer.status_code != 200:
                failures += 1
                return
            latencies.append(time.perf_counter() - started)

        tasks = []
        start = time.perf_counter()
        for n in range(int(rate * duration)):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return latencies, failures


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "runs"
        key, run_id = prepare(home)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIMEPOINT_")}
        env["TIMEPOINT_HOME"] = str(home)
        server = subprocess.Popen(
            [sys.executable, "-m", "timepoint.cli", "serve", "--workers", "0", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                time.sleep(0.1)
            url = f"{base}/runs/{run_id}"
            latencies, failures = asyncio.run(load(url, key, args.rate, args.duration))
        finally:
            server.terminate()
            server.wait(timeout=30)
    sent = int(args.rate * args.duration)
    ms = [s * 1000 for s in latencies]
    print(f"GET /runs/{{id}} on loopback: {args.rate:g} req/s for {args.duration:g} s")
    print(f"requests {sent}, answered 200 {len(ms)}, failed {failures}")
    if ms:
        print(
            f"p50 {percentile(ms, 0.50):.1f} ms   p95 {percentile(ms, 0.95):.1f} ms   "
            f"p99 {percentile(ms, 0.99):.1f} ms   max {max(ms):.1f} ms   "
            f"mean {statistics.fmean(ms):.1f} ms"
        )
        verdict = "meets" if percentile(ms, 0.95) < 500 else "misses"
        print(f"p95 {verdict} the 500 ms target")
    return 0 if ms and not failures else 1


if __name__ == "__main__":
    sys.exit(main())
