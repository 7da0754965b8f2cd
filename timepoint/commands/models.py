"""``timepoint models``: the model registry and the model chosen for each action.

The choices are the ones a run would make: a forced model (``TIMEPOINT_LLM_MODEL``) wins, and a
self-hosted endpoint (any base URL but OpenRouter) is asked which models it serves.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from timepoint.llm.config import ModelsConfig, Preference
from timepoint.llm.gateway import ModelGateway
from timepoint.llm.offline import OfflineModel
from timepoint.llm.openai_compat import OpenAICompatibleModel
from timepoint.llm.registry import Registry
from timepoint.settings import Settings

if TYPE_CHECKING:
    from timepoint.llm.endpoint import ServedModel
    from timepoint.world.record import ModelChoice


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
    choices, served = plan(settings, registry, Preference(args.preference), args.allow_license)
    if args.json:
        payload = {
            "llm": settings.describe(),
            "preference": args.preference,
            "models": [spec.model_dump(mode="json") for spec in registry],
            "served": None if served is None else [m.model_dump(mode="json") for m in served],
            "selection": [choice.model_dump(mode="json") for choice in choices],
        }
        for entry in payload["models"]:
            entry["capabilities"] = sorted(entry["capabilities"])
        print(json.dumps(payload, indent=2))
        return 0
    print(settings.describe())
    if served is not None:
        listed = ", ".join(
            m.id + (f" (context {m.context_window:,})" if m.context_window else "") for m in served
        )
        print(f"served by the endpoint: {listed}")
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
        [[c.action, c.model, ", ".join(c.fallbacks) or "-"] for c in choices],
    )
    return 0


def plan(
    settings: Settings, registry: Registry, preference: Preference, allow_licenses: list[str]
) -> tuple[list[ModelChoice], list[ServedModel] | None]:
    """The model per action a run with ``settings`` would use, and what a self-hosted
    endpoint serves (``None`` offline, on OpenRouter, or when its list is unavailable)."""

    endpoint = None
    if not settings.offline:
        endpoint = OpenAICompatibleModel(
            settings.base_url,
            settings.api_key,
            default_model=settings.model,
            timeout=settings.timeout,
            registry=registry,
        )
    try:
        gateway = ModelGateway(
            endpoint or OfflineModel(seed=0),
            registry=registry,
            models=ModelsConfig(preference=preference),
            forced_model=settings.model,
            allow_licenses=allow_licenses,
            endpoint=endpoint,
        )
        return gateway.plan(), endpoint.served_models() if endpoint else None
    finally:
        if endpoint is not None:
            endpoint.close()


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    for line in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
