"""Polymarket: public market data, no key needed.

- Gamma API (``https://gamma-api.polymarket.com``): ``GET /markets`` and ``GET /events``
  (``limit``/``offset`` pagination; a list in answer). A market's ``outcomes``,
  ``outcomePrices`` and ``clobTokenIds`` arrive as JSON-encoded *strings*
  (``"[\\"Yes\\", \\"No\\"]"``) and are decoded here.
- CLOB API (``https://clob.polymarket.com``): ``GET /prices-history?market=TOKEN_ID`` answers
  ``{"history": [{"t": unix seconds, "p": price}]}``. For resolved markets it comes back
  empty unless ``fidelity`` is at least 720 minutes, so closed markets are asked at 720.

A binary market becomes a :class:`~timepoint.calibrate.questions.Question` with, once closed
at a price of 0 or 1, its resolution, and a reference ("market") probability:

- an open market: its current *Yes* price;
- a closed market: the last *Yes* price of its history at or before ``lead`` (default 24 h)
  before the market stopped trading (its ``closedTime``, or its end date when that is
  earlier or the only one known). The settled price of 1 or 0 is never used: it is the
  outcome, not a forecast. Without a history point that early the reference stays empty.

The question's ``market_probability_at`` and ``market_note`` say which moment the price is
from, or why there is none.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from timepoint.calibrate.connectors.http import Sleep, get_json
from timepoint.calibrate.questions import Question
from timepoint.errors import ConnectorError

GAMMA_URL = "https://gamma-api.polymarket.com"
CLOB_URL = "https://clob.polymarket.com"
SOURCE = "polymarket"
#: most markets the Gamma API returns per page
PAGE = 100
#: the coarsest history step (minutes) at which resolved markets still have a history
RESOLVED_FIDELITY = 720
#: how long before a closed market stopped trading its reference price is read
DEFAULT_LEAD = timedelta(hours=24)


class Market(BaseModel):
    """A Polymarket market, with its JSON-string fields decoded."""

    model_config = ConfigDict(frozen=True)

    id: str
    question: str
    slug: str = ""
    outcomes: list[str]
    prices: list[float]
    token_ids: list[str] = Field(default_factory=list)
    closed: bool = False
    #: when the market is scheduled to end (Gamma ``endDate``)
    end_time: datetime | None = None
    #: when it stopped trading, once closed (Gamma ``closedTime``)
    closed_time: datetime | None = None

    @property
    def end_date(self) -> date | None:
        """The day the market is scheduled to end."""
        return self.end_time.date() if self.end_time else None

    @property
    def last_trading(self) -> datetime | None:
        """When a closed market stopped trading: the earlier of its close and its end."""
        known = [t for t in (self.closed_time, self.end_time) if t is not None]
        return min(known) if known else None

    @property
    def yes_index(self) -> int | None:
        lowered = [o.strip().lower() for o in self.outcomes]
        return lowered.index("yes") if "yes" in lowered else None

    @property
    def yes_token(self) -> str | None:
        """The CLOB token id of *Yes*, whose price history the CLOB keeps (``None``: none)."""
        index = self.yes_index
        return self.token_ids[index] if index is not None and index < len(self.token_ids) else None

    @property
    def probability(self) -> float | None:
        """The price of *Yes* (``None`` for a market without a Yes outcome)."""
        index = self.yes_index
        return self.prices[index] if index is not None and index < len(self.prices) else None

    @property
    def resolution(self) -> bool | None:
        """Yes or no once the market closed at a price of (about) 1 or 0, else ``None``."""
        price = self.probability
        if not self.closed or price is None:
            return None
        if price >= 0.99:
            return True
        if price <= 0.01:
            return False
        return None


def _decoded(raw: dict[str, Any], name: str, market_id: str) -> list[Any]:
    value = raw.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ConnectorError(
                f"{SOURCE}: market {market_id}: field {name!r} is not a JSON-encoded list: "
                f"{value[:60]!r}"
            ) from None
    if not isinstance(value, list):
        raise ConnectorError(f"{SOURCE}: market {market_id}: field {name!r} is not a list")
    return value


def parse_market(raw: Any) -> Market:
    """A market from one Gamma API object.

    Raises:
        ConnectorError: the object is not a mapping, lacks ``id``, ``question`` or
            ``outcomes``, or has prices that are not numbers.
    """
    if not isinstance(raw, dict):
        raise ConnectorError(f"{SOURCE}: a market is a JSON object, got {type(raw).__name__}")
    market_id = str(raw.get("id", ""))
    missing = [f for f in ("id", "question", "outcomes") if raw.get(f) in (None, "")]
    if missing:
        raise ConnectorError(
            f"{SOURCE}: market {market_id or '(no id)'} lacks {', '.join(missing)}; "
            "the Gamma API's /markets objects carry them"
        )
    try:
        prices = [float(p) for p in _decoded(raw, "outcomePrices", market_id)]
    except (TypeError, ValueError):
        raise ConnectorError(
            f"{SOURCE}: market {market_id}: outcomePrices are not numbers"
        ) from None
    end = _moment(raw.get("endDate") or raw.get("endDateIso"), "endDate", market_id)
    return Market(
        id=market_id,
        question=str(raw["question"]),
        slug=str(raw.get("slug") or ""),
        outcomes=[str(o) for o in _decoded(raw, "outcomes", market_id)],
        prices=prices,
        token_ids=[str(t) for t in _decoded(raw, "clobTokenIds", market_id)],
        closed=bool(raw.get("closed", False)),
        end_time=end,
        closed_time=_moment(raw.get("closedTime"), "closedTime", market_id),
    )


def _moment(value: Any, name: str, market_id: str) -> datetime | None:
    """A Gamma time (``2026-12-17T00:00:00Z``, ``2025-01-07 17:44:40+00`` or a day) in UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ConnectorError(
            f"{SOURCE}: market {market_id}: field {name!r} is not an ISO time: {str(value)[:40]!r}"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class PolymarketClient:
    """Reads markets, events and price histories.

    Args:
        gamma_url: base URL of the Gamma API.
        clob_url: base URL of the CLOB API.
        timeout: seconds per request.
        sleep: how to wait out a rate limit (tests pass a no-op).
    """

    def __init__(
        self,
        gamma_url: str = GAMMA_URL,
        clob_url: str = CLOB_URL,
        *,
        timeout: float = 30.0,
        sleep: Sleep | None = None,
    ):
        self._gamma = httpx.Client(base_url=gamma_url, timeout=timeout)
        self._clob = httpx.Client(base_url=clob_url, timeout=timeout)
        self._sleep: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}

    def __enter__(self) -> PolymarketClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._gamma.close()
        self._clob.close()

    def _list(self, path: str, params: dict[str, Any]) -> list[Any]:
        found = get_json(self._gamma, path, source=SOURCE, params=params, **self._sleep)
        if not isinstance(found, list):
            raise ConnectorError(
                f"{SOURCE}: GET {path} answered a {type(found).__name__}, expected a list"
            )
        return found

    def markets(self, *, limit: int = 100, **filters: Any) -> Iterator[Market]:
        """Up to ``limit`` markets, page by page (``filters``: Gamma query parameters such as
        ``closed=True`` or ``tag_id``)."""
        yield from (parse_market(m) for m in self._paged("/markets", limit, filters))

    def market(self, market_id: str) -> Market:
        """One market by id."""
        return parse_market(
            get_json(self._gamma, f"/markets/{market_id}", source=SOURCE, **self._sleep)
        )

    def events(self, *, limit: int = 100, **filters: Any) -> Iterator[tuple[str, list[Market]]]:
        """Up to ``limit`` events as ``(title, markets)``."""
        for event in self._paged("/events", limit, filters):
            if not isinstance(event, dict) or "markets" not in event:
                raise ConnectorError(f"{SOURCE}: an event lacks its 'markets' list")
            yield str(event.get("title", "")), [parse_market(m) for m in event["markets"]]

    def _paged(self, path: str, limit: int, filters: dict[str, Any]) -> Iterator[Any]:
        offset = 0
        while offset < limit:
            size = min(PAGE, limit - offset)
            params = {**_query(filters), "limit": size, "offset": offset}
            page = self._list(path, params)
            yield from page
            if len(page) < size:
                return
            offset += size

    def price_history(self, market: Market, interval: str = "max") -> list[tuple[int, float]]:
        """``(unix seconds, Yes price)`` points of a market; closed markets are read at the
        720-minute fidelity their history is kept at.

        Raises:
            ConnectorError: the market has no Yes token, or the answer is not a history.
        """
        token = market.yes_token
        if token is None:
            raise ConnectorError(f"{SOURCE}: market {market.id} has no Yes token id")
        params: dict[str, Any] = {"market": token, "interval": interval}
        if market.closed:
            params["fidelity"] = RESOLVED_FIDELITY
        found = get_json(self._clob, "/prices-history", source=SOURCE, params=params, **self._sleep)
        history = found.get("history") if isinstance(found, dict) else None
        if not isinstance(history, list):
            raise ConnectorError(
                f"{SOURCE}: /prices-history for market {market.id} has no 'history' list"
            )
        try:
            return [(int(point["t"]), float(point["p"])) for point in history]
        except (KeyError, TypeError, ValueError):
            raise ConnectorError(
                f"{SOURCE}: /prices-history for market {market.id}: points need 't' and 'p'"
            ) from None


def _query(filters: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v).lower() if isinstance(v, bool) else v for k, v in filters.items()}


@dataclass(frozen=True)
class Reference:
    """A market's reference probability, the moment it is from and a note saying so."""

    probability: float | None
    at: datetime | None
    note: str

    def question_fields(self) -> dict[str, Any]:
        """The fields of a :class:`~timepoint.calibrate.questions.Question` it fills."""
        return {
            "market_probability": self.probability,
            "market_probability_at": self.at,
            "market_note": self.note,
        }


def _hours(lead: timedelta) -> str:
    return f"{lead.total_seconds() / 3600:g} h"


def _utc(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def reference(
    market: Market,
    history: list[tuple[int, float]] | None = None,
    *,
    lead: timedelta = DEFAULT_LEAD,
    now: datetime | None = None,
) -> Reference:
    """The reference probability of ``market``: the current *Yes* price of an open market
    (read at ``now``), or for a closed one the last point of ``history`` at or before
    ``lead`` before it stopped trading. Never the settled price of a closed market.

    Args:
        market: the market.
        history: its ``(unix seconds, Yes price)`` points (:meth:`PolymarketClient.price_history`).
        lead: how long before a closed market stopped trading its price is read.
        now: when an open market's price was read (``None``: not said).
    """
    if not market.closed:
        when = f" at {_utc(now)}" if now else ""
        return Reference(market.probability, now, f"the open market's Yes price{when}")
    stop = market.last_trading
    if stop is None:
        return Reference(
            None, None, "closed market without an end or close time; no reference probability"
        )
    moment = stop - lead
    before = [point for point in history or [] if point[0] <= moment.timestamp()]
    if not before:
        return Reference(
            None,
            None,
            f"no price history at or before {_utc(moment)} ({_hours(lead)} before the market "
            f"stopped trading at {_utc(stop)}); the settled price is the outcome, not a forecast",
        )
    seconds, price = before[-1]
    at = datetime.fromtimestamp(seconds, UTC)
    return Reference(
        price,
        at,
        f"Yes price at {_utc(at)}, the last at or before {_hours(lead)} before the market "
        f"stopped trading at {_utc(stop)}",
    )


def market_question(
    market: Market,
    scenario: str,
    outcome: dict[str, Any] | None = None,
    *,
    history: list[tuple[int, float]] | None = None,
    lead: timedelta = DEFAULT_LEAD,
    now: datetime | None = None,
) -> Question:
    """``market`` as a question simulated by ``scenario``; the outcome defaults to a model's
    judgement of the market's question over each run. The reference probability is
    :func:`reference` of ``market``, ``history``, ``lead`` and ``now``.

    Raises:
        ConnectorError: the market has no *Yes* outcome.
    """
    if market.probability is None:
        raise ConnectorError(
            f"{SOURCE}: market {market.id} has no Yes outcome ({', '.join(market.outcomes)}); "
            "only binary Yes/No markets become questions"
        )
    price = reference(market, history, lead=lead, now=now)
    return Question.model_validate(
        {
            "id": f"polymarket-{market.id}",
            "question": market.question,
            "scenario": scenario,
            "outcome": outcome or {"kind": "judge"},
            "closes": market.end_date,
            "resolution": market.resolution,
            **price.question_fields(),
            "source": SOURCE,
            "source_ref": market.id,
        }
    )
