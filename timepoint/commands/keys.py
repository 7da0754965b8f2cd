"""``timepoint keys create|list|revoke``: API keys of the REST API and the MCP server.

A new key is printed once and never again: the store keeps only its hash.
"""

from __future__ import annotations

import argparse

from timepoint.service.keys import create_key
from timepoint.settings import Settings
from timepoint.store import open_store


def register(parser: argparse.ArgumentParser) -> None:
    """Add the sub-commands of ``timepoint keys``."""
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = sub.add_parser("create", help="make a key and print it once")
    create.add_argument("--name", required=True, help="who or what the key is for")
    create.add_argument("--rate", type=int, metavar="N", help="requests per minute (default 600)")
    create.add_argument("--monthly-runs", type=int, metavar="N", help="runs per month")
    create.add_argument("--monthly-usd", type=float, metavar="USD", help="USD per month")
    sub.add_parser("list", help="list keys (ids, names, limits; never the keys)")
    revoke = sub.add_parser("revoke", help="revoke a key by id or name")
    revoke.add_argument("key", help="the key id (tp_<id>_…) or its name")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with open_store(settings.db_url, home=settings.home) as store:
        if args.action == "create":
            key = create_key(
                store,
                args.name,
                rate_per_minute=args.rate,
                monthly_runs=args.monthly_runs,
                monthly_usd=args.monthly_usd,
            )
            print(key)
            print("(shown once: the store keeps only its hash)", flush=True)
            return 0
        if args.action == "revoke":
            row = store.revoke_api_key(args.key)
            print(f"revoked {row['key_id']} ({row['name']})")
            return 0
        for row in store.api_keys():
            state = f"revoked {row['revoked']:%Y-%m-%d}" if row["revoked"] else "active"
            limits = ", ".join(
                f"{label} {row[column]}"
                for label, column in (
                    ("rate/min", "rate_per_minute"),
                    ("runs/month", "monthly_runs"),
                    ("USD/month", "monthly_usd"),
                )
                if row[column] is not None
            )
            print(f"{row['key_id']}  {row['name']}  {state}  {limits}".rstrip())
    return 0
