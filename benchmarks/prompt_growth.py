"""Prompt size against run length: bounded prompts, tokens linear in timepoints.

Runs the board_meeting scenario offline with ``timepoints.count`` set to 3, 10, 30 and 100
(``fidelity.budget_mode: max_quality``, so the budget never lowers fidelity and every length
runs the same mechanisms), records every request the model receives, and prints per length
the largest and mean prompt per action and the run's total tokens. Then, from the same runs:

- the largest prompt per action at 100 timepoints over the largest at 10 (target ≤ 2);
- the exponent k of total tokens ≈ c·T^k, fitted by least squares on log-log (target ≈ 1);
- whether the default soft budget (``fidelity.token_budget`` of the scenario) finishes 30
  timepoints, with the fidelity downgrades it made.

Run it as a script (not part of the test suite)::

    python benchmarks/prompt_growth.py [--counts 3 10 30 100] [--scenario path.yaml]

Exit status 0 when the prompt-size and exponent targets are met and the soft run finished.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "showcase" / "board_meeting.yaml"
#: Largest prompt at the longest run over the largest at the 10-timepoint run, at most.
MAX_GROWTH = 2.0
#: Fitted exponent of total tokens in timepoints, at most.
MAX_EXPONENT = 1.15


def label(request) -> str:
    """The action, with the answer's shape for summaries (history or executive)."""
    action = request.action.value
    if action == "summarization" and request.output_schema is not None:
        return f"{action} ({request.output_schema.__name__})"
    return action


def measure(scenario: Path, count: int, home: Path, overrides: dict) -> dict:
    import timepoint as tp
    from timepoint.llm.offline import OfflineModel
    from timepoint.llm.testing import RecordingModel
    from timepoint.settings import Settings

    model = RecordingModel(OfflineModel(seed=0))
    try:
        run = tp.run(
            scenario,
            model=model,
            settings=Settings(home=home),
            overrides={"timepoints.count": count, **overrides},
        )
    except tp.RunFailed as failed:
        run = failed.run
    prompts: dict[str, list[int]] = defaultdict(list)
    for request, completion in model.exchanges:
        prompts[label(request)].append(completion.usage.prompt_tokens)
    usage = run.record.usage
    return {
        "count": count,
        "run": run,
        "prompts": dict(prompts),
        "calls": len(model.exchanges),
        "total": usage.prompt_tokens + usage.completion_tokens,
    }


def fitted_exponent(points: list[tuple[int, int]]) -> float:
    """The slope of log(total) on log(T), least squares."""
    xs = [math.log(t) for t, _ in points]
    ys = [math.log(v) for _, v in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def print_run(result: dict) -> None:
    record = result["run"].record
    print(
        f"\n{result['count']} timepoints ({record.status}): {result['calls']} calls, "
        f"{result['total']:,} tokens ({result['total'] / result['count']:,.0f} per timepoint), "
        f"{len(record.evidence.history_summaries)} history summaries"
    )
    print(f"  {'action':40} {'calls':>6} {'largest':>8} {'mean':>8}")
    for action, sizes in sorted(result["prompts"].items()):
        print(f"  {action:40} {len(sizes):6d} {max(sizes):8,d} {statistics.fmean(sizes):8,.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[3, 10, 30, 100])
    parser.add_argument("--scenario", type=Path, default=SCENARIO)
    args = parser.parse_args()
    counts = sorted(set(args.counts))
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        results = []
        for count in counts:
            home = Path(tmp) / f"t{count}"
            results.append(
                measure(args.scenario, count, home, {"fidelity.budget_mode": "max_quality"})
            )
            print_run(results[-1])
        soft = measure(args.scenario, 30, Path(tmp) / "soft", {})

    print(
        "\nPrompt tokens per call are the model's prompt_tokens (offline: ~4 characters a token)."
    )
    base = next((r for r in results if r["count"] == 10), results[0])
    longest = results[-1]
    if longest is not base:
        print(
            f"\nLargest prompt per action, {longest['count']} vs {base['count']} timepoints "
            f"(target ≤ {MAX_GROWTH:g}×):"
        )
        for action in sorted(set(base["prompts"]) & set(longest["prompts"])):
            before, after = max(base["prompts"][action]), max(longest["prompts"][action])
            ratio = after / before
            ok &= ratio <= MAX_GROWTH
            print(f"  {action:40} {before:8,d} -> {after:8,d}  ratio {ratio:.2f}")
        largest = [max(max(s) for s in r["prompts"].values()) for r in (base, longest)]
        ratio = largest[1] / largest[0]
        ok &= ratio <= MAX_GROWTH
        print(
            f"  {'largest prompt of the run':40} {largest[0]:8,d} -> {largest[1]:8,d}  "
            f"ratio {ratio:.2f}"
        )
    if len(results) > 1:
        exponent = fitted_exponent([(r["count"], r["total"]) for r in results])
        ok &= exponent <= MAX_EXPONENT
        totals = ", ".join(f"{r['total']:,} at {r['count']}" for r in results)
        first, last = results[0], results[-1]
        growth = (last["total"] / first["total"]) / (last["count"] / first["count"])
        print(
            f"\nTotal tokens: {totals}; fitted exponent k in tokens ≈ c·T^k: {exponent:.2f} "
            f"(target ≈ 1); tokens per timepoint at {last['count']} over at {first['count']}: "
            f"{growth:.2f}"
        )
    record = soft["run"].record
    budget = record.evidence.token_budget
    finished = record.status == "completed" and budget is not None
    ok &= finished
    if budget is None:
        print("\nDefault budget: the run kept no budget report")
        return 1
    downgrades = ", ".join(f"{d.level} levels before {d.before}" for d in budget.downgrades)
    print(
        f"\nDefault budget ({budget.mode} {budget.limit:,} tokens, cap "
        f"{budget.cap or 0:,}) at 30 timepoints: {record.status}, {budget.spent:,} tokens "
        f"spent, {len(record.timepoints)} timepoints, {len(record.dialogs)} dialogs; downgrades: "
        f"{downgrades or 'none'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
