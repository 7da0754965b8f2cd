"""``timepoint models``: the model registry and the model chosen for each action."""

from __future__ import annotations

import argparse
import json

from timepoint.llm.base import ActionType
from timepoint.llm.registry import Registry
from timepoint.llm.selection import select
from timepoint.scenario.schema import Preference
from timepoint.settings import Settings


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``models`` arguments and handler."""
    parser.add_argument(
        "--preference",
        choices=[p.value for p in Preference],
        default=Preference.BALANCED.value,
        help="what selection optimizes (default: balanced)",
    )
    parser.add_argument(
        "--registry",
        metavar="FILE",
        help="extra registry YAML to add (default: TIMEPOINT_LLM_REGISTRY)",
    )
    parser.add_argument(
        "--allow-license",
        action="append",
        default=[],
        metavar="LICENSE",
        help="also auto-select models under this license (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the registry and, per action, the chosen model and its fallbacks."""
    settings = Settings.from_env()
    registry = Registry.load(args.registry or settings.registry_path)
    choices = [
        select(action, args.preference, registry, args.allow_license) for action in ActionType
    ]
    if args.json:
        payload = {
            "llm": settings.describe(),
            "preference": args.preference,
            "models": [spec.model_dump(mode="json") for spec in registry],
            "selection": [choice.to_record().model_dump(mode="json") for choice in choices],
        }
        for entry in payload["models"]:
            entry["capabilities"] = sorted(entry["capabilities"])
        print(json.dumps(payload, indent=2))
        return 0
    print(settings.describe())
    print()
    rows = [
        [
            spec.id,
            spec.license + ("" if spec.commercial_synthetic_data_ok else " (explicit only)"),
            f"{spec.context_window:,}",
            f"{spec.input_usd_per_m:g}",
            f"{spec.output_usd_per_m:g}",
            f"{spec.speed:.2f}",
            f"{spec.quality:.2f}",
            ", ".join(sorted(spec.capabilities)),
        ]
        for spec in registry
    ]
    _table(
        ["model", "license", "context", "in $/M", "out $/M", "speed", "quality", "capabilities"],
        rows,
    )
    print()
    print(f"selection ({args.preference}):")
    _table(
        ["action", "model", "fallbacks"],
        [[c.action.value, c.model, ", ".join(c.fallbacks) or "-"] for c in choices],
    )
    return 0


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    for line in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
