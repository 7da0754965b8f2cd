"""Polymarket and Metaculus connectors against recorded payloads served on 127.0.0.1:
decoding, pagination, rate limits, malformed payloads, missing fields and the CLI import."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from timepoint.calibrate.connectors.metaculus import (
    METACULUS_TERMS,
    MetaculusClient,
    post_question,
)
from timepoint.calibrate.connectors.polymarket import (
    PolymarketClient,
    market_question,
    parse_market,
)
from timepoint.calibrate.questions import load_questions
from timepoint.calibrate.resolve import from_sources
from timepoint.errors import ConnectorError
from timepoint.store import open_store

from .conftest import JEFFERSON
from .recorded_server import Answer, RecordedServer, recording

NO_WAIT = {"sleep": lambda _seconds: None}


@pytest.fixture
def server():
    with RecordedServer() as running:
        yield running


def polymarket(server: RecordedServer) -> PolymarketClient:
    return PolymarketClient(server.url, server.url, **NO_WAIT)


def test_markets_decode_their_json_string_fields(server):
    server.routes["/markets"] = [Answer(recording("polymarket_markets"))]
    with polymarket(server) as client:
        fed, artemis, cup = client.markets(limit=10)
    assert (fed.outcomes, fed.prices, fed.token_ids) == (
        ["Yes", "No"],
        [0.62, 0.38],
        ["1111", "2222"],
    )
    assert (fed.probability, fed.resolution, str(fed.end_date)) == (0.62, None, "2026-12-17")
    assert (artemis.closed, artemis.resolution) == (True, True)
    assert cup.probability is None
    assert server.seen[0].query == {"limit": "10", "offset": "0"}


def test_market_pages_follow_offsets_until_a_short_page(server):
    markets = recording("polymarket_markets")
    pages = {"0": markets[:2] * 50, "100": markets[:1]}
    server.routes["/markets"] = lambda query: Answer(pages.get(query["offset"], []))
    with polymarket(server) as client:
        found = list(client.markets(limit=250, closed=False))
    assert len(found) == 101
    assert [s.query["offset"] for s in server.seen] == ["0", "100"]
    assert server.seen[0].query["closed"] == "false"


def test_events_and_price_history(server):
    server.routes["/events"] = [Answer(recording("polymarket_events"))]
    server.routes["/prices-history"] = [Answer(recording("polymarket_history"))]
    server.routes["/markets/502311"] = [Answer(recording("polymarket_markets")[1])]
    with polymarket(server) as client:
        ((title, (market,)),) = list(client.events(limit=5))
        history = client.price_history(market)
        resolved = client.market("502311")
        client.price_history(resolved)
    assert title == "Fed decisions 2026" and market.id == "516706"
    assert history == [(1764547200, 0.41), (1764590400, 0.47), (1764633600, 0.62)]
    open_query, closed_query = (s.query for s in server.seen if s.path == "/prices-history")
    assert open_query == {"market": "1111", "interval": "max"}
    assert closed_query["fidelity"] == "720" and closed_query["market"] == "3333"


def _histories(query: dict[str, str]) -> Answer:
    """The resolved Artemis market (token 3333) has its own history; others the open one's."""
    name = "polymarket_history_resolved" if query["market"] == "3333" else "polymarket_history"
    return Answer(recording(name))


def test_an_open_market_is_a_question_with_its_current_price(server):
    server.routes["/markets"] = [Answer(recording("polymarket_markets"))]
    with polymarket(server) as client:
        fed, _artemis, cup = client.markets()
    now = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    question = market_question(fed, "x.yaml", now=now)
    assert (question.market_probability, question.market_probability_at) == (0.62, now)
    assert question.resolution is None and question.outcome.kind == "judge"
    assert "open market's Yes price at 2026-05-01 09:30 UTC" in question.market_note
    with pytest.raises(ConnectorError, match="no Yes outcome"):
        market_question(cup, "x.yaml")


def test_a_closed_market_is_priced_before_it_stopped_trading_never_at_its_settlement(server):
    server.routes["/markets"] = [Answer(recording("polymarket_markets"))]
    server.routes["/prices-history"] = _histories
    with polymarket(server) as client:
        _fed, artemis, _cup = client.markets()
        history = client.price_history(artemis)
    assert artemis.prices[0] == 1.0 and history[-1][1] == 1.0  # settled at yes

    question = market_question(artemis, "dinner.yaml", history=history)
    assert question.id == "polymarket-502311" and question.resolved_yes() is True
    # ends 2026-11-30 00:00; 24 h earlier the last price was the one of 11-28 12:00
    assert question.market_probability == 0.71
    assert question.market_probability_at == datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert "24 h before the market stopped trading at 2026-11-30 00:00 UTC" in (
        question.market_note
    )
    earlier = market_question(artemis, "x.yaml", history=history, lead=timedelta(hours=48))
    assert earlier.market_probability == 0.55

    # a market that closed before its scheduled end is read before it closed
    closed_early = artemis.model_copy(update={"closed_time": datetime(2026, 11, 28, 6, tzinfo=UTC)})
    assert market_question(closed_early, "x.yaml", history=history).market_probability == 0.55

    for missing in ([], history[-2:]):
        empty = market_question(artemis, "x.yaml", history=missing)
        assert empty.market_probability is None and empty.market_probability_at is None
        assert "no price history at or before 2026-11-29 00:00 UTC" in empty.market_note
        assert "not a forecast" in empty.market_note and empty.resolved_yes() is True


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"markets": []}, "answered a dict, expected a list"),
        ([{"id": "1", "outcomes": '["Yes", "No"]'}], "market 1 lacks question"),
        ([{"id": "2", "question": "q", "outcomes": "[Yes"}], "'outcomes' is not a JSON-encoded"),
        (
            [{"id": "3", "question": "q", "outcomes": "[]", "outcomePrices": '["x"]'}],
            "outcomePrices are not numbers",
        ),
        ("<html>maintenance</html>", "not JSON"),
    ],
)
def test_malformed_market_payloads_are_clear_errors(server, payload, message):
    server.routes["/markets"] = [Answer(payload)]
    with polymarket(server) as client, pytest.raises(ConnectorError, match=message):
        list(client.markets())


def test_rate_limits_are_waited_out_then_reported(server):
    waits: list[float] = []
    server.routes["/markets"] = [
        Answer({"error": "slow down"}, 429, {"Retry-After": "2"}),
        Answer(recording("polymarket_markets")),
    ]
    with PolymarketClient(server.url, server.url, sleep=waits.append) as client:
        assert len(list(client.markets())) == 3
    assert waits == [2.0]
    server.routes["/markets"] = [Answer({"error": "slow down"}, 429)]
    with polymarket(server) as client, pytest.raises(ConnectorError) as caught:
        list(client.markets())
    assert caught.value.status == 429 and "rate limited 4 times" in str(caught.value)


def test_metaculus_needs_a_token_and_sends_it(server):
    with pytest.raises(ConnectorError, match="needs a token"):
        MetaculusClient("", server.url)
    server.routes["/api/posts/28002/"] = [Answer(recording("metaculus_posts_1")["results"][1])]
    with MetaculusClient("secret-token", server.url, **NO_WAIT) as client:
        post = client.post(28002)
    assert server.seen[0].headers["Authorization"] == "Token secret-token"
    assert (post.resolution, post.community_probability, str(post.closes)) == (
        True,
        0.58,
        "2026-06-01",
    )
    question = post_question(post, "s.yaml")
    assert question.id == "metaculus-28002" and question.market_probability == 0.58
    assert "evaluate AI models" in METACULUS_TERMS


def test_metaculus_pages_by_offset_with_at_most_100(server):
    pages = {"0": recording("metaculus_posts_1"), "2": recording("metaculus_posts_2")}
    server.routes["/api/posts/"] = lambda query: Answer(pages[query["offset"]])
    with MetaculusClient("t", server.url, **NO_WAIT) as client:
        posts = list(client.posts(limit=250, statuses="resolved"))
    assert [p.id for p in posts] == [28001, 28002, 28003]
    assert [p.resolution for p in posts] == [None, True, False]
    assert posts[2].community_probability is None
    assert [s.query["limit"] for s in server.seen] == ["100", "100"]
    assert [s.query["offset"] for s in server.seen] == ["0", "2"]


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        ({"detail": "Invalid token."}, 401, "refused \\(401\\); check the token"),
        ({"count": 0}, 200, "without a 'results' list"),
        ({"results": [{"id": 5, "title": "Group"}], "next": None}, 200, "no single 'question'"),
        (
            {"results": [{"id": 6, "title": "n", "question": {"type": "numeric"}}]},
            200,
            "'numeric' question",
        ),
        ({"detail": "boom"}, 500, "answered 500"),
    ],
)
def test_metaculus_errors_name_the_problem(server, payload, status, message):
    server.routes["/api/posts/"] = [Answer(payload, status)]
    client = MetaculusClient("t", server.url, **NO_WAIT)
    with client, pytest.raises(ConnectorError, match=message):
        list(client.posts())


def _cli(*args: str, home) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIMEPOINT_", "OPENROUTER"))}
    env["TIMEPOINT_HOME"] = str(home)
    command = [sys.executable, "-m", "timepoint.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_the_cli_writes_a_question_set_from_each_source(server, tmp_path):
    server.routes["/markets"] = [Answer(recording("polymarket_markets"))]
    server.routes["/prices-history"] = _histories
    out = tmp_path / "sets" / "markets.yaml"
    args = ["--scenario", str(JEFFERSON), "-o", str(out), "--base-url", server.url]
    done = _cli(
        "import-questions",
        "polymarket",
        *args,
        "--clob-url",
        server.url,
        "--history",
        home=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "skipped market 498000" in done.stderr and "wrote 2 questions" in done.stdout
    loaded = load_questions(out)
    assert [q.id for q in loaded.questions] == ["polymarket-516706", "polymarket-502311"]
    assert loaded.questions[0].scenario == str(JEFFERSON.resolve())
    assert loaded.questions[0].market_history[-1] == (1764633600, 0.62)
    fed, artemis = loaded.questions
    assert (fed.market_probability, artemis.market_probability) == (0.62, 0.71)
    assert artemis.market_probability_at == datetime(2026, 11, 28, 12, tzinfo=UTC)

    server.seen.clear()  # without --history, a closed market's history is still read
    done = _cli(
        "import-questions",
        "polymarket",
        *args,
        "--clob-url",
        server.url,
        "--lead-hours",
        "96",
        home=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert [s.query["market"] for s in server.seen if s.path == "/prices-history"] == ["3333"]
    fed, artemis = load_questions(out).questions
    assert fed.market_history == [] and artemis.market_probability is None
    assert "market 502311: no price history at or before 2026-11-26 00:00 UTC" in done.stderr

    pages = {"0": recording("metaculus_posts_1"), "2": recording("metaculus_posts_2")}
    server.routes["/api/posts/"] = lambda query: Answer(pages[query["offset"]])
    out = tmp_path / "metaculus.yaml"
    args = ["--scenario", str(JEFFERSON), "-o", str(out), "--base-url", server.url]
    refused = _cli("import-questions", "metaculus", *args, home=tmp_path)
    assert refused.returncode == 2 and "needs a token" in refused.stderr
    assert refused.stderr.count("evaluate AI models") == 1  # the terms, printed once
    assert refused.stderr.startswith(METACULUS_TERMS)
    done = _cli("import-questions", "metaculus", *args, "--token", "t", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(METACULUS_TERMS)
    assert [q.resolution for q in load_questions(out).questions] == [None, True, False]


def test_resolutions_are_read_again_from_the_sources(server, tmp_path):
    market = dict(recording("polymarket_markets")[0])
    server.routes["/markets/516706"] = [Answer(market)]
    server.routes["/api/posts/28002/"] = [Answer(recording("metaculus_posts_1")["results"][1])]
    base = {"question": "Will it?", "scenario": str(JEFFERSON), "outcome": {"kind": "judge"}}
    items = [
        {**base, "id": "p", "source": "polymarket", "source_ref": "516706"},
        {**base, "id": "m", "source": "metaculus", "source_ref": "28002"},
        {**base, "id": "own", "resolution": False},
    ]
    path = tmp_path / "imported.yaml"
    path.write_text(yaml.safe_dump({"questions": items}))
    loaded = load_questions(path)
    with polymarket(server) as markets, MetaculusClient("t", server.url, **NO_WAIT) as posts:
        fresh = from_sources(loaded, polymarket=markets, metaculus=posts)
    by_id = {q.id: q for q in fresh.questions}
    assert (by_id["p"].resolution, by_id["p"].market_probability) == (None, 0.62)
    assert (by_id["m"].resolution, by_id["m"].market_probability) == (True, 0.58)
    assert by_id["own"] == loaded.get("own")

    market.update(closed=True, outcomePrices='["0", "1"]')
    server.routes["/markets/516706"] = [Answer(market)]
    server.routes["/prices-history"] = [Answer(recording("polymarket_history"))]
    args = ["--polymarket-url", server.url, "--clob-url", server.url]
    args += ["--metaculus-url", server.url, "--token", "t"]
    done = _cli("resolve", str(path), "--from-source", *args, home=tmp_path / "runs")
    assert done.returncode == 0, done.stderr
    assert "p: no; no forecast yet" in done.stdout and "m: yes" in done.stdout
    assert METACULUS_TERMS in done.stderr
    store = open_store(None, home=tmp_path / "runs")
    assert {q["question_id"]: q["resolution"] for q in store.questions()} == {
        "p": 0.0,
        "m": 1.0,
        "own": 0.0,
    }
    # the closed market's reference is its last price before the end, not the settled 0
    assert {q["question_id"]: q["market_probability"] for q in store.questions()}["p"] == 0.62


def test_metaculus_rate_limits_are_waited_out_then_reported(server):
    waits: list[float] = []
    page = recording("metaculus_posts_2")
    server.routes["/api/posts/"] = [
        Answer({"detail": "Request was throttled."}, 429, {"Retry-After": "7"}),
        Answer({"detail": "Request was throttled."}, 429, {"Retry-After": "soon"}),
        Answer(page),
    ]
    with MetaculusClient("t", server.url, sleep=waits.append) as client:
        assert [p.id for p in client.posts(limit=5)] == [28003]
    assert waits == [7.0, 2.0]  # Retry-After, then 2^attempt when it is not a number
    server.routes["/api/posts/28003/"] = [Answer({"detail": "Request was throttled."}, 429)]
    client = MetaculusClient("t", server.url, **NO_WAIT)
    with client, pytest.raises(ConnectorError) as caught:
        client.post(28003)
    assert caught.value.status == 429
    assert str(caught.value).startswith("metaculus: GET /api/posts/28003/ was rate limited 4")
    assert len(server.seen) == 3 + 4


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"error": "invalid market"}, "/prices-history for market 516706 has no 'history' list"),
        ({"history": {"t": 1, "p": 0.5}}, "has no 'history' list"),
        ([{"t": 1, "p": 0.5}], "has no 'history' list"),
        ({"history": [{"t": 1, "p": 0.5}, {"p": 0.6}]}, "market 516706: points need 't' and 'p'"),
        ({"history": [{"t": 1}]}, "points need 't' and 'p'"),
        ({"history": [{"t": 1, "p": "high"}]}, "points need 't' and 'p'"),
    ],
)
def test_malformed_price_histories_are_clear_errors(server, payload, message):
    server.routes["/markets"] = [Answer(recording("polymarket_markets"))]
    server.routes["/prices-history"] = [Answer(payload)]
    with polymarket(server) as client:
        fed, *_ = client.markets()
        with pytest.raises(ConnectorError, match=message):
            client.price_history(fed)


def test_a_market_without_a_yes_token_has_no_history(server, tmp_path):
    market = {**recording("polymarket_markets")[0], "clobTokenIds": '["1111"]'}
    market["outcomes"] = '["No", "Yes"]'  # Yes is the second outcome, its token is missing
    server.routes["/markets/516706"] = [Answer(market)]
    server.routes["/prices-history"] = [Answer(recording("polymarket_history"))]
    with polymarket(server) as client:
        found = client.market("516706")
        with pytest.raises(ConnectorError, match="market 516706 has no Yes token id"):
            client.price_history(found)
        cup = parse_market(recording("polymarket_markets")[2])
        with pytest.raises(ConnectorError, match="market 498000 has no Yes token id"):
            client.price_history(cup)

    # once closed, resolving it again keeps its outcome and says why there is no reference
    server.routes["/markets/516706"] = [
        Answer({**market, "closed": True, "outcomePrices": "[0, 1]"})
    ]
    path = tmp_path / "one.yaml"
    item = {"id": "p", "question": "Will it?", "scenario": str(JEFFERSON), "source": "polymarket"}
    item |= {"outcome": {"kind": "judge"}, "source_ref": "516706", "market_probability": 0.6}
    path.write_text(yaml.safe_dump({"questions": [item]}))
    with polymarket(server) as client:
        (fresh,) = from_sources(load_questions(path), polymarket=client).questions
    assert fresh.resolved_yes() is True and fresh.market_probability is None
    assert "no price history at or before" in fresh.market_note
    assert all(s.path != "/prices-history" for s in server.seen)


def test_an_event_without_markets_is_a_clear_error(server):
    good, *_ = recording("polymarket_events")
    server.routes["/events"] = [Answer([good, {"id": "904", "title": "Empty"}])]
    with polymarket(server) as client:
        events = client.events(limit=5)
        title, markets = next(events)
        assert (title, [m.id for m in markets]) == ("Fed decisions 2026", ["516706"])
        with pytest.raises(ConnectorError, match="an event lacks its 'markets' list"):
            next(events)


@pytest.mark.parametrize(
    ("post", "message"),
    [
        ({"title": "Will it rain?", "question": {"type": "binary"}}, r"post \(no id\) lacks id"),
        ({"id": 41, "question": {"type": "binary"}}, "post 41 lacks id or title"),
        ({"id": 42, "title": "", "question": {"type": "binary"}}, "post 42 lacks id or title"),
        ("not a post", "a post is a JSON object, got str"),
    ],
)
def test_a_metaculus_post_without_id_or_title_is_a_clear_error(server, post, message):
    server.routes["/api/posts/"] = [Answer({"results": [post], "next": None})]
    client = MetaculusClient("t", server.url, **NO_WAIT)
    with client, pytest.raises(ConnectorError, match=message):
        list(client.posts())


def test_the_cli_imports_the_markets_of_an_event_by_slug_or_id(server, tmp_path):
    events = recording("polymarket_events")

    def by_key(query: dict[str, str]) -> Answer:
        return Answer(
            [e for e in events if query.get("slug") == e["slug"] or query.get("id") == e["id"]]
        )

    server.routes["/events"] = by_key
    server.routes["/prices-history"] = _histories
    out = tmp_path / "event.yaml"
    args = ["--scenario", str(JEFFERSON), "-o", str(out), "--base-url", server.url]
    for event in ("fed-decisions-2026", "903"):
        done = _cli(
            "import-questions",
            "polymarket",
            *args,
            "--clob-url",
            server.url,
            "--event",
            event,
            home=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        assert [q.id for q in load_questions(out).questions] == ["polymarket-516706"]
    missing = _cli("import-questions", "polymarket", *args, "--event", "no-such", home=tmp_path)
    assert missing.returncode == 2
    assert "no event with slug 'no-such'; check --event" in missing.stderr
