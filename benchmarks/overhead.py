"""Orchestration overhead per LLM call, and the cost of one offline run from the shell.

Two figures, both excluding the provider's own time (the offline model, timed from inside):

- the call path: for every request a real run makes, the time through the gateway's stack
  (selection, structured output, retry, metering and budget reservation, limiter) minus the
  provider's time — the median over all calls is the overhead per LLM call (target ≤ 2 ms);
- the whole run: (run wall time − provider time) / calls, which also spreads the run's fixed
  work (loading the scenario, mechanisms, validators, narrative and PDF, the store) over its
  calls.

    python benchmarks/overhead.py [--runs 20]

Then the wall time and peak memory of ``timepoint run`` on the jefferson_dinner scenario in a
fresh interpreter (targets: < 3 s and < 200 MB).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "showcase" / "jefferson_dinner.yaml"


class TimedProvider:
    """The offline model, with the time spent inside it added up."""

    def __init__(self, inner):
        self.inner = inner
        self.seconds = 0.0
        self.calls = 0
        self.requests: list = []

    @property
    def provider(self) -> str:
        return self.inner.provider

    @property
    def cache_identity(self) -> str:
        return self.inner.cache_identity

    def complete(self, request):
        started = time.perf_counter()
        try:
            return self.inner.complete(request)
        finally:
            self.last = time.perf_counter() - started
            self.seconds += self.last
            self.calls += 1
            self.requests.append(request)

    last = 0.0


def call_path_overhead(requests) -> list[float]:
    """Per request: time through a fresh gateway stack minus the provider's time, in ms."""
    from timepoint.llm.config import BudgetConfig, ModelsConfig
    from timepoint.llm.offline import OfflineModel
    from timepoint.llm.stack import build_gateway
    from timepoint.settings import Settings

    provider = TimedProvider(OfflineModel(seed=0))
    gateway = build_gateway(
        Settings(),
        models=ModelsConfig(),
        budget=BudgetConfig(max_usd=100.0),
        seed=0,
        cache_dir=None,
        provider=provider,
    )
    samples = []
    for request in requests:
        started = time.perf_counter()
        gateway.complete(request)
        samples.append((time.perf_counter() - started - provider.last) * 1000)
    return samples


def overhead_per_call(runs: int, home: Path) -> tuple[list[float], list]:
    import timepoint as tp
    from timepoint.llm.offline import OfflineModel
    from timepoint.settings import Settings

    settings = Settings(home=home)
    tp.run(SCENARIO, settings=settings)  # warm imports and the store
    samples, requests = [], []
    for seed in range(runs):
        provider = TimedProvider(OfflineModel(seed=seed))
        started = time.perf_counter()
        tp.run(SCENARIO, model=provider, settings=settings, seed=seed)
        wall = time.perf_counter() - started
        samples.append((wall - provider.seconds) / provider.calls * 1000)
        requests.extend(provider.requests)
    return samples, requests


def cli_run(home: Path) -> tuple[float, float]:
    """Wall time and peak RSS of one ``timepoint run`` process (its own usage, from ``wait4``)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "timepoint.cli", "run", str(SCENARIO), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"TIMEPOINT_HOME": str(home), "PATH": "/usr/bin:/bin"},
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"timepoint run failed with exit code {process.returncode}")
    return wall, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # first, while this process is small: a child's peak RSS counts its parent's at fork
        walls = [cli_run(Path(tmp) / "cli") for _ in range(3)]
        samples, requests = overhead_per_call(args.runs, Path(tmp) / "api")
        path = call_path_overhead(requests)
    median = statistics.median(path)
    print(
        f"call path overhead per LLM call: median {median:.3f} ms over {len(path)} calls "
        f"(p90 {statistics.quantiles(path, n=10)[-1]:.3f} ms); target ≤ 2 ms "
        f"-> ratio to target {median / 2:.2f}"
    )
    whole = statistics.median(samples)
    print(
        f"whole run, (wall − provider) / calls: median {whole:.1f} ms over {args.runs} runs "
        "(includes scenario loading, mechanisms, validators, narrative, PDF and the store)"
    )
    wall = statistics.median(w for w, _ in walls)
    peak = max(m for _, m in walls)
    print(
        f"`timepoint run` jefferson_dinner, fresh interpreter: median wall {wall:.2f} s "
        f"(ratio to 3 s target {wall / 3:.2f}), peak RSS {peak:.0f} MB "
        f"(ratio to 200 MB target {peak / 200:.2f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
