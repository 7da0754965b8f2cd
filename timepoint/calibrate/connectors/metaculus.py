"""Metaculus: questions, community predictions and resolutions (a token is required).

``GET /api/posts/`` (``limit``/``offset`` pagination, at most 100 a page; answers
``{"count", "next", "previous", "results"}``) and ``GET /api/posts/{id}/``, each with
``Authorization: Token …``. Rate limits (429) are waited out a few times.

**Terms.** Metaculus's terms of use forbid using its data to train or evaluate AI models
without its written permission, and require an agreement for commercial use. Scoring
simulations against Metaculus questions is evaluating an AI system: get that permission
first. Nothing in Timepoint imports Metaculus data unless asked to, and ``timepoint
import-questions metaculus`` prints these terms (once per invocation) before it does.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from timepoint.calibrate.connectors.http import Sleep, get_json
from timepoint.calibrate.questions import Question
from timepoint.errors import ConnectorError

BASE_URL = "https://www.metaculus.com"
SOURCE = "metaculus"
PAGE = 100
METACULUS_TERMS = (
    "Metaculus terms: its data may not be used to train or evaluate AI models without "
    "Metaculus's written permission, and commercial use needs an agreement with Metaculus "
    "(https://www.metaculus.com/terms-of-use/). Import its questions only if you have that "
    "permission."
)


class Post(BaseModel):
    """A binary Metaculus question."""

    model_config = ConfigDict(frozen=True)

    id: int
    title: str
    status: str = ""
    resolution: bool | None = None
    community_probability: float | None = None
    closes: date | None = None
    resolves: date | None = None


def _day(value: Any) -> date | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()


def parse_post(raw: Any) -> Post:
    """A post from one API object.

    Raises:
        ConnectorError: not an object, no ``id``/``title``, or no ``question`` (a group or
            conditional post), or a question that is not binary.
    """
    if not isinstance(raw, dict):
        raise ConnectorError(f"{SOURCE}: a post is a JSON object, got {type(raw).__name__}")
    post_id = raw.get("id")
    question = raw.get("question")
    if post_id is None or not raw.get("title"):
        raise ConnectorError(f"{SOURCE}: post {post_id or '(no id)'} lacks id or title")
    if not isinstance(question, dict):
        raise ConnectorError(
            f"{SOURCE}: post {post_id} has no single 'question' (a group or conditional post); "
            "only binary questions can be imported"
        )
    if question.get("type", "binary") != "binary":
        raise ConnectorError(
            f"{SOURCE}: post {post_id} is a {question.get('type')!r} question; only binary "
            "questions can be imported"
        )
    resolution = question.get("resolution")
    latest = ((question.get("aggregations") or {}).get("recency_weighted") or {}).get("latest")
    centers = (latest or {}).get("centers") or []
    return Post(
        id=int(post_id),
        title=str(raw["title"]),
        status=str(question.get("status") or raw.get("status") or ""),
        resolution={"yes": True, "no": False}.get(str(resolution).lower()),
        community_probability=float(centers[0]) if centers else None,
        closes=_day(question.get("scheduled_close_time")),
        resolves=_day(question.get("scheduled_resolve_time")),
    )


class MetaculusClient:
    """Reads Metaculus posts with a token.

    Args:
        token: an API token (from your Metaculus account settings).
        base_url: the site.
        timeout: seconds per request.
        sleep: how to wait out a rate limit (tests pass a no-op).

    Raises:
        ConnectorError: no token.
    """

    def __init__(
        self,
        token: str,
        base_url: str = BASE_URL,
        *,
        timeout: float = 30.0,
        sleep: Sleep | None = None,
    ):
        if not token or not token.strip():
            raise ConnectorError(
                f"{SOURCE}: every request needs a token; set TIMEPOINT_METACULUS_TOKEN (and "
                f"read the terms: {METACULUS_TERMS})"
            )
        self._client = httpx.Client(
            base_url=base_url, timeout=timeout, headers={"Authorization": f"Token {token}"}
        )
        self._sleep: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}

    def __enter__(self) -> MetaculusClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connection."""
        self._client.close()

    def posts(self, *, limit: int = 100, **filters: Any) -> Iterator[Post]:
        """Up to ``limit`` binary posts, following ``offset`` pages of at most 100
        (``filters``: API query parameters such as ``statuses="resolved"``)."""
        offset = 0
        while offset < limit:
            size = min(PAGE, limit - offset)
            params = {**filters, "limit": size, "offset": offset}
            page = get_json(
                self._client, "/api/posts/", source=SOURCE, params=params, **self._sleep
            )
            results = page.get("results") if isinstance(page, dict) else None
            if not isinstance(results, list):
                raise ConnectorError(f"{SOURCE}: /api/posts/ answered without a 'results' list")
            yield from (parse_post(r) for r in results)
            if not page.get("next") or not results:
                return  # the server may send smaller pages than asked: follow 'next'

            offset += len(results)

    def post(self, post_id: int) -> Post:
        """One post by id."""
        return parse_post(
            get_json(self._client, f"/api/posts/{post_id}/", source=SOURCE, **self._sleep)
        )


def post_question(post: Post, scenario: str, outcome: dict[str, Any] | None = None) -> Question:
    """``post`` as a question simulated by ``scenario`` (outcome: a model's judgement by
    default), with the community prediction as the reference probability."""
    return Question.model_validate(
        {
            "id": f"metaculus-{post.id}",
            "question": post.title,
            "scenario": scenario,
            "outcome": outcome or {"kind": "judge"},
            "closes": post.closes,
            "resolves": post.resolves,
            "resolution": post.resolution,
            "market_probability": post.community_probability,
            "source": SOURCE,
            "source_ref": str(post.id),
        }
    )
