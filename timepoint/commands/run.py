"""``timepoint run FILE``: simulate a scenario with a progress bar; print the run id and folder."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from timepoint.commands.next_steps import next_steps, program
from timepoint.engine.runner import RunFailed, run
from timepoint.errors import ScenarioError
from timepoint.kernel.progress import BarProgress, NullProgress
from timepoint.report.site import build_site
from timepoint.scenario.check import check_scenario_file
from timepoint.scenario.loader import parse_yaml_value
from timepoint.scenario.overrides import FORM
from timepoint.settings import Settings

if TYPE_CHECKING:
    from timepoint.world.record import UsageSummary


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario YAML file")
    parser.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a field, e.g. --set timepoints.count=2 (repeatable; values are YAML)",
    )
    parser.add_argument("--report", action="store_true", help="build the report site afterwards")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=handle)


def parse_overrides(pairs: list[str]) -> dict[str, object]:
    """``["timepoints.count=2"]`` -> ``{"timepoints.count": 2}`` (values are read as YAML).

    Raises:
        ScenarioError: one line per pair that is not ``PATH=VALUE`` or whose value is not YAML.
    """

    overrides: dict[str, object] = {}
    problems: list[str] = []
    for pair in pairs:
        path, sep, value = pair.partition("=")
        if not sep or not path.strip():
            problems.append(f"--set {pair!r}: expected {FORM}, e.g. timepoints.count=2")
            continue
        try:
            overrides[path.strip()] = parse_yaml_value(value, f"--set {path.strip()}")
        except ScenarioError as error:
            problems += error.problems
    if problems:
        raise ScenarioError(problems)
    return overrides


def usage_line(usage: UsageSummary) -> str:
    """Calls, tokens and cost, saying how many answers were replayed from the cache."""
    tokens = usage.prompt_tokens + usage.completion_tokens
    if usage.cache_hits and usage.cache_hits == usage.calls:
        calls = f"{usage.calls} LLM calls, all replayed from the cache"
    elif usage.cache_hits:
        calls = f"{usage.calls} LLM calls ({usage.cache_hits} replayed from the cache)"
    else:
        calls = f"{usage.calls} LLM calls"
    new = " new" if usage.cache_hits else ""
    return f"{calls}, {tokens:,}{new} tokens, ${usage.cost_usd:.4f}"


def handle(args: argparse.Namespace) -> int:

    settings = Settings.from_env()
    overrides = parse_overrides(args.set)
    seed = {} if args.seed is None else {"seed": args.seed}
    check_scenario_file(args.scenario, {**overrides, **seed}, settings=settings)
    print(settings.describe(), file=sys.stderr)
    progress = NullProgress() if args.quiet else BarProgress(description="timepoint run")
    try:
        result = run(
            args.scenario,
            seed=args.seed,
            overrides=overrides,
            settings=settings,
            progress=progress,
        )
    except RunFailed as failure:
        progress.close(completed=False)  # first, so the bar cannot overwrite the message
        print(
            f"run {failure.run.run_id} failed at step {failure.step!r}: {failure.cause}",
            file=sys.stderr,
        )
        print(f"partial record: {failure.run.folder}", file=sys.stderr)
        return 1
    finally:
        progress.close()
    record = result.record
    print(
        f"run {record.run_id} {record.status}: {len(record.entities)} entities, "
        f"{len(record.timepoints)} timepoints, {usage_line(record.usage)} ({record.provider})"
    )
    print(f"folder: {result.folder}")
    command = program()
    if args.report:
        site = build_site(settings=settings, run_ids=[record.run_id])
        print(f"report: {site / 'index.html'}  (serve with: {command} site serve)")
    if not args.quiet:
        print(
            "next:", *(f"  {step}" for step in next_steps(record, command, args.report)), sep="\n"
        )
    return 0
