"""Site build times: a full build of 24 runs, a rebuild with nothing new, and a rebuild after
one new run (targets on the project's 2-core machines: ≤ 60 s full, ≤ 10 s after one run).

    python benchmarks/site_build.py [--runs 24] [--workers N]

Runs are made with the offline model in a temporary ``TIMEPOINT_HOME`` (two branching and
two portal runs among them, so paths pages are built too); the site is built with the
nbconvert renderer. Progress lines of the build are printed as they come.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import timepoint as tp
from timepoint.report.site import build_site
from timepoint.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SHOWCASE = ROOT / "scenarios" / "showcase"
JEFFERSON = SHOWCASE / "jefferson_dinner.yaml"
EXTRA = (SHOWCASE / "vc_pitch_branching.yaml", SHOWCASE / "mars_mission_portal.yaml")


def make_runs(settings: Settings, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        scenario = EXTRA[i % 2] if i < 4 else JEFFERSON
        tp.run(scenario, settings=settings, seed=i)


def timed_build(settings: Settings, label: str, workers: int | None, quiet: bool) -> float:
    began = time.monotonic()
    progress = None if quiet else (lambda line: print(f"    {line}", flush=True))
    build_site(settings, renderer="nbconvert", workers=workers, progress=progress)
    seconds = time.monotonic() - began
    print(f"{label}: {seconds:.1f} s", flush=True)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=24)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="timepoint-site-bench-") as tmp:
        settings = Settings(home=Path(tmp) / "runs")
        began = time.monotonic()
        make_runs(settings, args.runs)
        print(f"made {args.runs} offline runs in {time.monotonic() - began:.1f} s", flush=True)
        full = timed_build(settings, f"full build, {args.runs} runs", args.workers, args.quiet)
        same = timed_build(settings, "rebuild, nothing new", args.workers, args.quiet)
        make_runs(settings, 1, start=args.runs)
        one = timed_build(settings, "rebuild after one new run", args.workers, args.quiet)
    print(
        f"summary: full {full:.1f} s (target ≤ 60), unchanged {same:.1f} s, "
        f"one new run {one:.1f} s (target ≤ 10)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
