"""Heterogeneous fidelity with lazy elevation versus uniform maximum fidelity (M1, M2, M5).

The same scenario and the same ten questions, twice: once with every entity at ``maximum``
fidelity, once at ``balanced`` heterogeneous fidelity where questions raise detail only where
they need it. Prints the tokens each spent (generation plus on-demand), their ratio, and checks
that every question was answered in both.

Run it as a script (not part of the test suite)::

    python benchmarks/fidelity.py                      # offline model, temporary run folder
    python benchmarks/fidelity.py --scenario other.yaml --questions questions.txt

The built-in questions are about the default scenario; with another scenario pass a file of
ten questions (one per line).

Exit status 0 when every question was answered in both runs, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCENARIO = ROOT / "scenarios" / "showcase" / "constitutional_convention.yaml"

#: Questions for the default scenario (the 1787 convention: 4 primary, 6 secondary and 18
#: background delegates). Crowd members such as ``spectator_40`` do not exist until asked about.
QUESTIONS = (
    "What did Madison know before the convention, and from whom?",
    "What did Luther Martin know at the second timepoint?",
    "What did Gerry say at the first timepoint?",
    "How did Washington feel at the end?",
    "What did spectator_40 see at the second timepoint?",
    "Who knew about the Grand Committee's report at the end?",
    "What is the relationship between Sherman and Paterson?",
    "What did Rutledge know at the last timepoint?",
    "What did Dayton say at the second timepoint?",
    "How did Franklin learn about equal suffrage?",
)


def run_arm(scenario: Path, template: str, home: Path, questions: tuple[str, ...]) -> dict:
    """One arm of the benchmark: a run at ``template`` fidelity, then every question."""
    import timepoint as tp
    from timepoint.settings import Settings

    settings = Settings(home=home / template)
    started = time.perf_counter()
    run = tp.run(scenario, settings=settings, overrides={"fidelity.template": template})
    answers = [run.ask(question) for question in questions]
    usage = run.record.usage
    return {
        "template": template,
        "run_id": run.run_id,
        "generation": usage.generation_tokens,
        "on_demand": usage.on_demand_tokens,
        "total": usage.generation_tokens + usage.on_demand_tokens,
        "calls": usage.calls,
        "by_action": {
            action: u.prompt_tokens + u.completion_tokens for action, u in usage.by_action.items()
        },
        "cells": _cells(run.record),
        "answers": answers,
        "seconds": time.perf_counter() - started,
    }


def _cells(record: object) -> str:
    """How many (entity, timepoint) cells sit at each resolution level after the questions."""
    from collections import Counter

    counts = Counter(c.resolution.value for c in record.fidelity)  # type: ignore[attr-defined]
    return ", ".join(f"{level} {n}" for level, n in sorted(counts.items()))


def answered(answer: object) -> bool:
    """An answer counts when it has text that names its subject or cites the record."""
    text = getattr(answer, "text", "")
    return bool(text.strip()) and (bool(getattr(answer, "citations", [])) or "record" in text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    parser.add_argument("--questions", type=Path, help="file of questions, one per line")
    parser.add_argument("--verbose", action="store_true", help="print every answer")
    args = parser.parse_args(argv)
    questions = QUESTIONS
    if args.questions is not None:
        lines = args.questions.read_text().splitlines()
        questions = tuple(line.strip() for line in lines if line.strip())
    elif args.scenario.resolve() != DEFAULT_SCENARIO:
        parser.error("the built-in questions are about the default scenario; pass --questions")
    with tempfile.TemporaryDirectory(prefix="timepoint-bench-") as folder:
        home = Path(folder)
        arms = [run_arm(args.scenario, t, home, questions) for t in ("maximum", "balanced")]
    print(f"scenario: {args.scenario.name}; {len(questions)} questions; offline model")
    print(f"{'fidelity':<10}{'generation':>12}{'on-demand':>11}{'total':>9}{'calls':>7}{'s':>7}")
    for arm in arms:
        print(
            f"{arm['template']:<10}{arm['generation']:>12,}{arm['on_demand']:>11,}"
            f"{arm['total']:>9,}{arm['calls']:>7}{arm['seconds']:>7.2f}"
        )
    for arm in arms:
        spent = ", ".join(f"{a} {t:,}" for a, t in sorted(arm["by_action"].items()))
        print(f"  {arm['template']}: cells {arm['cells']}\n    tokens by action: {spent}")
    maximum, balanced = arms
    ratio = maximum["total"] / max(1, balanced["total"])
    print(f"ratio maximum / balanced: {ratio:.2f}x total tokens")
    failures = 0
    for n, question in enumerate(questions):
        a, b = maximum["answers"][n], balanced["answers"][n]
        ok = answered(a) and answered(b)
        failures += not ok
        lifted = "; ".join(b.elevated) or "-"
        print(f"{'ok ' if ok else 'MISSING'} Q{n + 1}: {question}")
        print(f"      tokens max {a.tokens:>5} | balanced {b.tokens:>5}; elevated: {lifted}")
        if args.verbose:
            print(f"      maximum:  {a.text}\n      balanced: {b.text}")
    print("every question answered in both runs" if not failures else f"{failures} unanswered")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
