"""Run time against scenario size: entities × timepoints, offline.

Runs the board_meeting scenario offline with ``entities.count`` set to 10, 50, 200 and 500 (the
roster's five plus generated entities) and ``timepoints.count`` set to 3, 10 and 30
(``fidelity.budget_mode: max_quality``, so the budget never lowers fidelity and every size runs
the same mechanisms). Each run is a fresh interpreter, timed around ``timepoint.run`` (store
and run folder included, imports not). Prints per size the wall time, the relationship records
made (M13 keeps one per pair of present entities per timepoint: the work that grows fastest)
and the time per thousand records; then, from the same runs, the time ratios against the
ratios of entity pairs × timepoints, which near-linear costs follow.

- A size past the scenario size limit (``MAX_PAIR_TIMEPOINTS``) is refused by the schema; it
  is shown as refused, not run.
- A run that takes longer than ``--limit`` seconds is stopped and shown as over the limit; the
  larger sizes of its row and column are then skipped (they would take longer still).

The machine may be busy: compare the ratios, measured in one run, more than the seconds.

    python benchmarks/scale.py [--entities 10 50 200 500] [--timepoints 3 10 30] [--limit 180]

Exit status 0 when 500 entities × 10 timepoints (if measured) finished within 60 s.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "showcase" / "board_meeting.yaml"
#: 500 entities × 10 timepoints must finish within this many seconds
TARGET_S = 60.0


def measure_one(entities: int, timepoints: int, home: Path) -> dict:
    """One run in this interpreter; what the parent prints."""
    import timepoint as tp
    from timepoint.errors import ScenarioError
    from timepoint.llm.offline import OfflineModel
    from timepoint.settings import Settings

    overrides = {
        "entities.count": entities,
        "timepoints.count": timepoints,
        "fidelity.budget_mode": "max_quality",
    }
    started = time.perf_counter()
    try:
        run = tp.run(
            SCENARIO, model=OfflineModel(seed=0), settings=Settings(home=home), overrides=overrides
        )
    except ScenarioError as refused:
        return {"refused": str(refused)}
    except tp.RunFailed as failed:
        run = failed.run
    seconds = time.perf_counter() - started
    record = run.record
    return {
        "seconds": seconds,
        "status": record.status,
        "timepoints": len(record.timepoints),
        "relationships": len(record.relationships),
    }


def measure(entities: int, timepoints: int, limit: float, home: Path) -> dict:
    """One run in a fresh interpreter, stopped after ``limit`` seconds."""
    command = [sys.executable, __file__, "--one", str(entities), str(timepoints), str(home)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=limit, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return {"over": limit}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def cell(result: dict | None) -> str:
    if result is None:
        return "skipped"
    if "refused" in result:
        return "refused (limit)"
    if "over" in result:
        return f"> {result['over']:.0f} s"
    if "error" in result:
        return "error"
    return f"{result['seconds']:.1f} s"


def pair_timepoints(entities: int, timepoints: int) -> int:
    return entities * (entities - 1) // 2 * timepoints


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entities", type=int, nargs="+", default=[10, 50, 200, 500])
    parser.add_argument("--timepoints", type=int, nargs="+", default=[3, 10, 30])
    parser.add_argument("--limit", type=float, default=180.0, help="seconds per run (default 180)")
    parser.add_argument("--one", nargs=3, metavar=("E", "T", "HOME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        entities, timepoints, home = int(args.one[0]), int(args.one[1]), Path(args.one[2])
        print(json.dumps(measure_one(entities, timepoints, home)))
        return 0

    sizes_e, sizes_t = sorted(set(args.entities)), sorted(set(args.timepoints))
    results: dict[tuple[int, int], dict | None] = {}
    print(
        f"board_meeting offline, max_quality; at most {args.limit:.0f} s a run; "
        f"{os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for e in sizes_e:
            for t in sizes_t:
                slower = [
                    r
                    for (e2, t2), r in results.items()
                    if r is not None and "over" in r and e2 <= e and t2 <= t
                ]
                if slower:
                    results[(e, t)] = None  # a smaller size already took too long
                else:
                    results[(e, t)] = measure(e, t, args.limit, Path(tmp) / f"e{e}t{t}")
                result = results[(e, t)]
                extra = ""
                if result and "seconds" in result:
                    per_thousand = result["seconds"] * 1e6 / max(1, result["relationships"])
                    extra = (
                        f"  {result['relationships']:>9,} relationship records  "
                        f"{per_thousand:7.1f} ms per 1,000  ({result['status']})"
                    )
                elif result and "error" in result:
                    extra = f"  {result['error']}"
                print(f"{e:4d} entities × {t:3d} timepoints: {cell(result):>16}{extra}", flush=True)

    print(f"\n{'wall time':>14}" + "".join(f"{f'{t} tps':>18}" for t in sizes_t))
    for e in sizes_e:
        print(f"{f'{e} entities':>14}" + "".join(f"{cell(results[(e, t)]):>18}" for t in sizes_t))
    skipped = [k for k, r in results.items() if r is None or "over" in r]
    refused = [k for k, r in results.items() if r is not None and "refused" in r]
    if skipped:
        print(
            f"\nOver the {args.limit:.0f} s limit or skipped after a smaller size was: "
            + ", ".join(f"{e}×{t}" for e, t in skipped)
        )
    if refused:
        print(
            "Refused by the scenario size limit (entity pairs × timepoints): "
            + ", ".join(f"{e}×{t}" for e, t in refused)
        )

    def seconds(e: int, t: int) -> float | None:
        result = results.get((e, t))
        return result["seconds"] if result and "seconds" in result else None

    print("\nRatios between neighbouring sizes (time ratio / ratio of pairs × timepoints):")
    for t in sizes_t:
        for small, large in itertools.pairwise(sizes_e):
            a, b = seconds(small, t), seconds(large, t)
            if a and b:
                work = pair_timepoints(large, t) / pair_timepoints(small, t)
                print(
                    f"  {t:3d} tps, {small:3d} -> {large:3d} entities: time ×{b / a:6.2f}, "
                    f"pairs×timepoints ×{work:7.2f}"
                )
    for e in sizes_e:
        for small, large in itertools.pairwise(sizes_t):
            a, b = seconds(e, small), seconds(e, large)
            if a and b:
                print(
                    f"  {e:3d} entities, {small:2d} -> {large:2d} tps: time ×{b / a:6.2f}, "
                    f"timepoints ×{large / small:5.2f}"
                )
    fitted = [
        (pair_timepoints(e, t), seconds(e, t))
        for e in sizes_e
        for t in sizes_t
        if seconds(e, t) and pair_timepoints(e, t) >= 10_000
    ]
    if len(fitted) >= 2:
        xs = [math.log(w) for w, _ in fitted]
        ys = [math.log(s) for _, s in fitted]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
            (x - mx) ** 2 for x in xs
        )
        print(
            f"\nFitted exponent k in time ≈ c·(pairs × timepoints)^k over the runs with at least "
            f"10,000 pair-timepoints: {slope:.2f} (1 is linear)"
        )
    target = seconds(500, 10)
    if target is None:
        print("\n500 entities × 10 timepoints not measured")
        return 0
    ok = target < TARGET_S
    print(
        f"\n500 entities × 10 timepoints: {target:.1f} s (target < {TARGET_S:.0f} s): "
        + ("met" if ok else "missed")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
