"""``timepoint import-questions polymarket|metaculus``: write a question set from a prediction
market or forecasting site, each question simulated by the scenario given.

Polymarket needs no key. Metaculus needs ``TIMEPOINT_METACULUS_TOKEN`` (or ``--token``), and
its terms forbid using its data to evaluate AI models without written permission; the command
prints them (once) before it reads anything.

A closed Polymarket market's reference probability is its price ``--lead-hours`` (default 24)
before it stopped trading, read from its price history; an open market's is its current
price.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from timepoint.calibrate.connectors import metaculus, polymarket
from timepoint.calibrate.questions import Question, load_questions
from timepoint.errors import ConnectorError


def add_lead_hours(parser: argparse.ArgumentParser) -> None:
    """``--lead-hours``: how long before a closed market stopped trading its price is read."""
    parser.add_argument(
        "--lead-hours",
        type=float,
        default=polymarket.DEFAULT_LEAD.total_seconds() / 3600,
        help="Polymarket: a closed market's reference price is read this many hours before it "
        "stopped trading (default 24)",
    )


def register(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``timepoint import-questions``."""
    parser.add_argument("source", choices=["polymarket", "metaculus"])
    parser.add_argument("--scenario", required=True, help="scenario file that simulates them")
    parser.add_argument("-o", "--out", type=Path, required=True, help="question set to write")
    parser.add_argument("--limit", type=int, default=20, help="most questions (default 20)")
    parser.add_argument("--id", action="append", default=None, help="only these market/post ids")
    parser.add_argument(
        "--event",
        action="append",
        default=None,
        help="Polymarket: every market of this event (its id or slug; repeatable)",
    )
    parser.add_argument("--closed", action="store_true", help="resolved markets/questions only")
    parser.add_argument("--history", action="store_true", help="Polymarket: add price histories")
    add_lead_hours(parser)
    parser.add_argument("--token", default=None, help="Metaculus token (default from env)")
    parser.add_argument("--base-url", default=None, help="API base URL (tests, mirrors)")
    parser.add_argument("--clob-url", default=None, help="Polymarket CLOB base URL")
    parser.set_defaults(handler=handle)


def _event_markets(client: polymarket.PolymarketClient, event: str) -> list[polymarket.Market]:
    """The markets of one Polymarket event, named by its id or its slug."""
    key = "id" if event.isdigit() else "slug"
    found = [markets for _, markets in client.events(limit=1, **{key: event})]
    if not found:
        raise ConnectorError(f"{polymarket.SOURCE}: no event with {key} {event!r}; check --event")
    return found[0]


def handle(args: argparse.Namespace) -> int:
    """Read the questions and write them as a question-set file."""
    out: Path = args.out
    scenario = os.path.relpath(Path(args.scenario).resolve(), out.resolve().parent)
    questions: list[Question] = []
    if args.source == "polymarket":
        gamma = args.base_url or polymarket.GAMMA_URL
        clob = args.clob_url or polymarket.CLOB_URL
        with polymarket.PolymarketClient(gamma, clob) as client:
            if args.id:
                markets = [client.market(i) for i in args.id]
            elif args.event:
                markets = [m for event in args.event for m in _event_markets(client, event)]
            else:
                markets = list(client.markets(limit=args.limit, closed=args.closed))
            for market in markets:
                if market.probability is None:
                    print(f"skipped market {market.id}: not a Yes/No market", file=sys.stderr)
                    continue
                wanted = (args.history or market.closed) and market.yes_token is not None
                history = client.price_history(market) if wanted else []
                question = polymarket.market_question(
                    market,
                    scenario,
                    history=history,
                    lead=timedelta(hours=args.lead_hours),
                    now=datetime.now(UTC),
                )
                if question.market_probability is None:
                    print(f"market {market.id}: {question.market_note}", file=sys.stderr)
                if args.history:
                    question = question.model_copy(update={"market_history": history})
                questions.append(question)
    else:
        print(metaculus.METACULUS_TERMS, file=sys.stderr)
        token = args.token or os.environ.get("TIMEPOINT_METACULUS_TOKEN", "")
        if not token.strip():
            raise ConnectorError(
                f"{metaculus.SOURCE}: every request needs a token; set "
                "TIMEPOINT_METACULUS_TOKEN or pass --token (after reading the terms above)"
            )
        base = args.base_url or metaculus.BASE_URL
        with metaculus.MetaculusClient(token, base) as client:
            if args.id:
                posts = [client.post(int(i)) for i in args.id]
            else:
                filters = {"statuses": "resolved"} if args.closed else {}
                posts = list(client.posts(limit=args.limit, forecast_type="binary", **filters))
            questions = [metaculus.post_question(p, scenario) for p in posts]
    body = {
        "id": out.stem,
        "title": f"Questions imported from {args.source}",
        "questions": [
            q.model_dump(mode="json", exclude_none=True, exclude_defaults=False) for q in questions
        ],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(body, sort_keys=False, allow_unicode=True), encoding="utf-8")
    load_questions(out)
    print(f"wrote {len(questions)} questions to {out}")
    return 0
