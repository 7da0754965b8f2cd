"""``timepoint run FILE``: simulate a scenario with a progress bar; print the run id and folder."""

from __future__ import annotations

import argparse
import sys


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
    import yaml

    from timepoint.errors import ConfigurationError

    overrides: dict[str, object] = {}
    for pair in pairs:
        path, sep, value = pair.partition("=")
        if not sep or not path:
            raise ConfigurationError(
                f"--set {pair!r}: expected PATH=VALUE, e.g. timepoints.count=2"
            )
        overrides[path.strip()] = yaml.safe_load(value)
    return overrides


def handle(args: argparse.Namespace) -> int:
    from timepoint.engine.progress import BarProgress, NullProgress
    from timepoint.engine.runner import RunFailed, run
    from timepoint.settings import Settings

    settings = Settings.from_env()
    print(settings.describe(), file=sys.stderr)
    progress = NullProgress() if args.quiet else BarProgress(description="timepoint run")
    try:
        result = run(
            args.scenario,
            seed=args.seed,
            overrides=parse_overrides(args.set),
            settings=settings,
            progress=progress,
        )
    except RunFailed as failure:
        print(
            f"run {failure.run.run_id} failed at step {failure.step!r}: {failure.cause}",
            file=sys.stderr,
        )
        print(f"partial record: {failure.run.folder}", file=sys.stderr)
        return 1
    finally:
        if isinstance(progress, BarProgress):
            progress.close()
    record = result.record
    usage = record.usage
    print(
        f"run {record.run_id} {record.status}: {len(record.entities)} entities, "
        f"{len(record.timepoints)} timepoints, {usage.calls} LLM calls, "
        f"{usage.prompt_tokens + usage.completion_tokens:,} tokens, ${usage.cost_usd:.4f} "
        f"({record.provider})"
    )
    print(f"folder: {result.folder}")
    if args.report:
        from timepoint.report.site import build_site

        site = build_site(settings=settings, run_ids=[record.run_id])
        print(f"report: {site / 'index.html'}  (serve with: timepoint site serve)")
    return 0
