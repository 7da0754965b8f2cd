"""``timepoint db``: the run store's schema. ``upgrade`` brings a store to the newest schema
(opening a store does the same), ``current`` shows where it stands without changing it.

The store is the one ``TIMEPOINT_DB_URL`` names, else ``$TIMEPOINT_HOME/timepoint.db``; ``--url``
names another.
"""

from __future__ import annotations

import argparse

from timepoint.settings import Settings
from timepoint.store.location import store_state, upgrade_store
from timepoint.store.migrations import HEAD
from timepoint.store.schema import SCHEMA_VERSION

ACTIONS = {
    "upgrade": "upgrade the store to the newest schema",
    "current": "show the store's schema version and Alembic revision",
}


def register(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``timepoint db``."""
    parser.add_argument(
        "action",
        choices=list(ACTIONS),
        help="; ".join(f"{name}: {text}" for name, text in ACTIONS.items()),
    )
    parser.add_argument(
        "--url", help="store URL or SQLite path (default: TIMEPOINT_DB_URL, else TIMEPOINT_HOME)"
    )
    parser.set_defaults(handler=handle)


def _describe(version: int, revision: str | None) -> str:
    return f"schema version {version} (revision {revision or 'none'})"


def handle(args: argparse.Namespace) -> int:
    """Upgrade the store, or print where its schema stands."""

    settings = Settings.from_env()
    url = args.url if args.url else settings.db_url
    if args.action == "current":
        location, found = store_state(url, home=settings.home)
        note = "up to date" if found.current else f"newest is {_describe(SCHEMA_VERSION, HEAD)}"
        print(f"{location}: {_describe(found.version, found.revision)}; {note}")
        return 0
    location, before, after = upgrade_store(url, home=settings.home)
    if before == after:
        print(f"{location}: already at {_describe(after.version, after.revision)}")
    else:
        print(
            f"{location}: upgraded from {_describe(before.version, before.revision)} "
            f"to {_describe(after.version, after.revision)}"
        )
    return 0
