"""``timepoint compare A B``: how two stored histories differ (M12).

``A`` and ``B`` are run ids (unique prefixes work), optionally with a timeline: ``RUN:path_2``
compares paths of one run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from timepoint.settings import Settings
from timepoint.store import open_store
from timepoint.time.comparison import compare


def register(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``timepoint compare``."""
    parser.add_argument("a", help="the reference run, RUN_ID or RUN_ID:TIMELINE")
    parser.add_argument("b", help="the other run, e.g. a branch of A")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Print the first divergence, differing moments, knowledge, relationships, explanation."""

    settings = Settings.from_env()
    store = open_store(settings.db_url, home=Path(settings.home))
    result = compare(args.a, args.b, store=store)
    print(json.dumps(result.model_dump(mode="json"), indent=1) if args.json else result)
    return 0
