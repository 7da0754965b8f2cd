"""``timepoint validate FILE...``: check scenario files and report every problem, one per line."""

from __future__ import annotations

import argparse
from pathlib import Path

from timepoint.errors import ScenarioError
from timepoint.scenario.check import check_scenario_file
from timepoint.scenario.loader import display_path
from timepoint.settings import Settings


def register(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``timepoint validate``."""
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="scenario YAML files; a folder stands for every .yaml file below it",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Validate each file; exit 0 when all are valid, 2 when any is not."""

    paths = expand_paths(args.files)
    if not paths:
        raise ScenarioError([f"no .yaml files in {', '.join(args.files)}"])
    settings = Settings.from_env()
    failures = 0
    for path in paths:
        label = display_path(path)
        try:
            scenario = check_scenario_file(path, settings=settings)
        except ScenarioError as error:
            failures += 1
            for problem in error.problems:
                print(problem)
            continue
        print(
            f"ok  {label}  ({scenario.id}, {scenario.temporal.mode.value}, "
            f"{scenario.entities.count} entities, {scenario.config_hash[:12]})"
        )
    return 2 if failures else 0


def expand_paths(items: list[str]) -> list[Path]:
    """Files as given; folders replaced by their ``*.yaml``/``*.yml`` files, sorted."""
    paths: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            paths.extend(sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"}))
        else:
            paths.append(path)
    return paths
