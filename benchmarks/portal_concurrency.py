"""How well a PORTAL run overlaps its independent model calls.

Runs the ``mars_mission_portal`` scenario with the offline model emulating 200 ms of provider
latency per call, then prints the number of calls, the wall time, and the ratio of wall time to
``calls × 200 ms`` (what the calls would take one after another). The target is a ratio of at
most 0.25 at the scenario's default concurrency.

    python benchmarks/portal_concurrency.py [--latency-ms 200] [--concurrency N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CANDIDATES = (
    ROOT / "scenarios" / "showcase" / "mars_mission_portal.yaml",
    ROOT / "scenarios" / "portal" / "mars_mission_portal.yaml",
)
TARGET = 0.25


def scenario_path() -> Path:
    """The mars_mission_portal scenario, wherever the library keeps it."""
    for path in CANDIDATES:
        if path.is_file():
            return path
    found = sorted((ROOT / "scenarios").rglob("mars_mission_portal.yaml"))
    if not found:
        raise SystemExit("mars_mission_portal.yaml not found under scenarios/")
    return found[0]


def measure(latency_ms: float, concurrency: int | None) -> dict[str, float]:
    """Run the scenario once and return calls, wall time and the overlap ratio."""
    import timepoint as tp
    from timepoint.llm.offline import OfflineModel
    from timepoint.settings import Settings

    overrides = {"models.max_concurrency": concurrency} if concurrency else None
    with tempfile.TemporaryDirectory() as home:
        # a first run without latency loads every module, so the timed run measures the run
        tp.run(scenario_path(), model=OfflineModel(seed=0), settings=Settings(home=Path(home)))
        started = time.perf_counter()
        run = tp.run(
            scenario_path(),
            model=OfflineModel(seed=0, latency_ms=latency_ms),
            settings=Settings(home=Path(home) / "runs"),
            overrides=overrides,
        )
        wall = time.perf_counter() - started
    calls = run.record.usage.calls
    serial = calls * latency_ms / 1000
    return {"calls": calls, "wall_s": wall, "serial_s": serial, "ratio": wall / serial}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=None, help="models.max_concurrency")
    args = parser.parse_args(argv)
    result = measure(args.latency_ms, args.concurrency)
    print(f"scenario:   {scenario_path().relative_to(ROOT)}")
    print(f"calls:      {result['calls']}")
    print(f"wall time:  {result['wall_s']:.2f} s")
    print(f"serial:     {result['serial_s']:.2f} s ({result['calls']} × {args.latency_ms:g} ms)")
    print(f"ratio:      {result['ratio']:.3f} (target ≤ {TARGET})")
    return 0 if result["ratio"] <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
