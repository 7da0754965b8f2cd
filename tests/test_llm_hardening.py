"""The LLM layer against a fault-injecting endpoint on 127.0.0.1 (see ``fault_server.py``):
hard budgets hold against over-reported usage and cost, a trickled answer meets its deadline,
malformed and huge answers fail clearly and are recorded, every HTTP attempt has a call record,
and the key never leaks."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import tracemalloc
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, SecretStr

import timepoint as tp
from timepoint.commands.offline_server import answer_schemas
from timepoint.engine.runner import RunFailed
from timepoint.errors import BudgetExceeded, ConfigurationError, ProviderError, TimepointError
from timepoint.llm.base import Message, Request, request_token_bound
from timepoint.llm.config import BudgetConfig, ModelsConfig
from timepoint.llm.dialects import StructuredMode
from timepoint.llm.http_errors import DeadlineExceeded, MalformedResponse, ResponseTooLarge
from timepoint.llm.meter import Budget, BudgetOverspent, CallLog, MeteredModel
from timepoint.llm.offline import OfflineModel
from timepoint.llm.offline_server import OfflineEndpoint
from timepoint.llm.openai_compat import OpenAICompatibleModel
from timepoint.llm.registry import Registry
from timepoint.llm.retry import RetryingModel
from timepoint.llm.stack import build_gateway
from timepoint.settings import Settings

from .conftest import JEFFERSON
from .fault_server import MALFORMED, Fault, FaultServer, answer, error
from .test_batch_specs import PRICED_REGISTRY, write_scenario

#: USD per million tokens of the fault endpoint's model (both directions)
PRICE = 1.0
MODEL = "fault-model"


class Verdict(BaseModel):
    verdict: str
    score: int


def ask(max_tokens: int = 200, schema: type[BaseModel] | None = None) -> Request:
    return Request(
        messages=(Message(role="user", content="Judge the bargain of 1790. " * 20),),
        model=MODEL,
        max_tokens=max_tokens,
        output_schema=schema,
    )


def priced(tmp_path: Path, **env: Any) -> Settings:
    """Settings whose registry prices the fault endpoint's model at :data:`PRICE`."""
    entry = {
        **PRICED_REGISTRY["models"][0],
        "id": MODEL,
        "openrouter_id": "test/fault-model",
        "input_usd_per_m": PRICE,
        "output_usd_per_m": PRICE,
    }
    tmp_path.mkdir(parents=True, exist_ok=True)
    registry = tmp_path / "fault-registry.yaml"
    registry.write_text(yaml.safe_dump({"models": [entry]}))
    return Settings(home=tmp_path / "runs", registry_path=registry, **env)


def offline_answers(seed: int = 1):
    """Valid answers for whatever a run asks, composed by the offline model."""
    endpoint = OfflineEndpoint(OfflineModel(seed=seed), answer_schemas(), served=MODEL)
    lock = threading.Lock()

    def body_for(body: dict[str, Any]) -> dict[str, Any]:
        with lock:
            return endpoint.answer(body)

    return body_for


def content_of(data: dict[str, Any]) -> str:
    return data["choices"][0]["message"]["content"]


def calls_on_disk(home: Path) -> list[dict[str, Any]]:
    records = []
    for path in home.rglob("llm_calls.jsonl"):
        records += [json.loads(line) for line in path.read_text().splitlines() if line]
    return records


_OPENED: list[OpenAICompatibleModel] = []


@pytest.fixture(autouse=True)
def _close_clients():
    yield
    while _OPENED:
        _OPENED.pop().close()


def client(*args: Any, **kwargs: Any) -> OpenAICompatibleModel:
    """An HTTP provider closed after the test."""
    provider = OpenAICompatibleModel(*args, **kwargs)
    _OPENED.append(provider)
    return provider


def metered(server: FaultServer, budget: Budget, **kwargs: Any) -> MeteredModel:
    provider = client(server.url, "k", **kwargs)
    return MeteredModel(provider, budget, prices=lambda model: (PRICE, PRICE), on_record=CallLog())


# -- item 2: hard budgets hold ----------------------------------------------------------------


def test_reservations_bound_what_an_endpoint_reports_for_any_text() -> None:
    """The prompt count is conservative for prose, digits, markup and non-ASCII text alike."""
    for text in [
        "The bargain of 1790 " * 50,
        "0123456789" * 80,
        '{"a": [1, 2, 3], "b": {"c": null}}' * 30,
        "Déjà vu — 東京で会いましょう 🙂 " * 40,
    ]:
        request = Request(messages=(Message(role="user", content=text),), max_tokens=10)
        ascii_chars = sum(c.isascii() for c in text)
        realistic = max(ascii_chars / 2.0, sum(c.isdigit() for c in text))
        non_ascii = sum(len(c.encode()) for c in text if not c.isascii())
        assert request_token_bound(request) >= realistic + non_ascii


@pytest.mark.parametrize("usage_factor", [1.0, 3.0])
def test_eight_concurrent_calls_overshoot_by_at_most_their_reservations(usage_factor) -> None:
    """8 threads against an endpoint that reports every call at the most it could cost (the
    prompt at its conservative count, all of ``max_tokens``, 20% above list price): the cap
    holds exactly. At three times that, the first overshoot stops every further call, and the
    overshoot is no more than the calls already in flight were charged over their
    reservations."""
    request = ask()

    def script(n: int, body: dict[str, Any]) -> Fault:
        time.sleep(0.05)
        prompt = int(request_token_bound(request) * usage_factor)
        completion = int(body["max_tokens"] * usage_factor)
        cost = (prompt + completion) * PRICE / 1e6 * 1.2
        return answer("fine", prompt, completion, cost)

    probe = MeteredModel(OfflineModel(), prices=lambda model: (PRICE, PRICE))
    per_call, _ = probe.estimate(request)
    limit = per_call * 20.5
    budget = Budget("run", max_usd=limit)
    outcomes: list[str] = []
    with FaultServer(script) as server:
        model = metered(server, budget)
        start = threading.Barrier(8)

        def worker() -> None:
            start.wait()
            for _ in range(6):
                try:
                    model.complete(request)
                    outcomes.append("ok")
                except BudgetOverspent as stop:
                    outcomes.append("overspent")
                    assert "over by $" in str(stop)
                except BudgetExceeded:
                    outcomes.append("refused")

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sent = server.count
    records = model.log.snapshot()
    assert len(records) == len(outcomes) == 48
    assert sent == sum(r.outcome in ("ok", "error") for r in records)
    if usage_factor == 1.0:
        assert budget.spent_usd <= limit, "reported cost within the bound never passes the cap"
        assert outcomes.count("ok") >= 20 and budget.overspent is None
    else:
        assert budget.overspent and "over by" in budget.overspent
        overshoot = budget.spent_usd - limit
        per_call_over = per_call * (usage_factor * 1.2 / 1.25 - 1)
        assert budget.spent_usd <= limit + 8 * per_call_over + 1e-12
        assert sent <= 8 + (limit // per_call), "nothing is sent once the overshoot is known"
        assert overshoot <= 8 * per_call_over + 1e-12


def test_a_usd_capped_run_holds_against_over_reported_usage_and_cost(tmp_path) -> None:
    """``budget.max_usd`` against an endpoint that reports every call at the most the request
    could cost, 20% above list price (before: reserved at ~4 characters a token and list
    price, a $0.0005 cap spent $0.0076)."""
    compose = offline_answers()

    def script(n: int, body: dict[str, Any]) -> Fault:
        data = compose(body)
        tokens = Request(
            messages=tuple(Message(role=m["role"], content=m["content"]) for m in body["messages"])
        )
        prompt = request_token_bound(tokens)
        cost = (prompt + body["max_tokens"]) * PRICE / 1e6 * 1.2
        return answer(content_of(data), prompt, body["max_tokens"], cost)

    for cap in (0.0005, 0.02):
        with FaultServer(script, models=[{"id": MODEL}]) as server:
            settings = priced(tmp_path / str(cap), base_url=server.url, api_key=SecretStr("k"))
            try:
                record = tp.run(
                    JEFFERSON, settings=settings, overrides={"budget.max_usd": cap}
                ).record
            except RunFailed as failure:
                record = failure.run.record
                assert "budget exceeded" in record.error
            assert record.usage.cost_usd <= cap, (cap, record.usage.cost_usd)
            assert len(calls_on_disk(settings.home)) >= server.count


def test_a_cost_above_list_price_stops_the_run_and_says_by_how_much(tmp_path) -> None:
    """An endpoint charging five times list price (before: a $0.01 cap spent $0.05): the
    first call over its reservation fails the run; nothing more is sent."""
    compose = offline_answers()

    def script(n: int, body: dict[str, Any]) -> Fault:
        text = content_of(compose(body))
        cost = (200 + body["max_tokens"]) * PRICE / 1e6 * 5 * 10
        return answer(text, 200, min(50, body["max_tokens"]), cost)

    with FaultServer(script, models=[{"id": MODEL}]) as server:
        settings = priced(tmp_path, base_url=server.url, api_key=SecretStr("k"))
        with pytest.raises(RunFailed) as info:
            tp.run(JEFFERSON, settings=settings, overrides={"budget.max_usd": 0.05})
        sent = server.count
    record = info.value.run.record
    assert "BudgetOverspent" in record.error and "over by $" in record.error
    assert sent == 1, "no call is made once a call cost more than it reserved"
    calls = calls_on_disk(settings.home)
    assert len(calls) == 1 and calls[0]["cost_usd"] > 0 and "over by" in calls[0]["error"]


def test_a_hard_token_budget_reserves_every_reask(tmp_path) -> None:
    """Every first answer is invalid, so each call takes a re-ask; the endpoint reports the
    most each attempt could use (before: ``fidelity.token_budget: 5000`` hard spent 9,938)."""
    compose = offline_answers()

    def script(n: int, body: dict[str, Any]) -> Fault:
        reask = any("did not validate" in m["content"] for m in body["messages"])
        text = content_of(compose(body)) if reask or n % 2 == 0 else "not JSON at all"
        tokens = Request(
            messages=tuple(Message(role=m["role"], content=m["content"]) for m in body["messages"])
        )
        return answer(text, request_token_bound(tokens), body["max_tokens"])

    for limit in (5000, 20_000):
        with FaultServer(script, models=[{"id": MODEL}]) as server:
            settings = priced(tmp_path / str(limit), base_url=server.url, api_key=SecretStr("k"))
            overrides = {"fidelity.token_budget": limit, "fidelity.budget_mode": "hard"}
            try:
                record = tp.run(JEFFERSON, settings=settings, overrides=overrides).record
            except RunFailed as failure:
                record = failure.run.record
            spent = record.usage.prompt_tokens + record.usage.completion_tokens
            assert spent <= limit, (limit, spent)
            assert record.evidence.token_budget.spent == spent
            assert len(calls_on_disk(settings.home)) >= server.count


@pytest.mark.slow
def test_a_batch_holds_its_caps_against_an_over_reporting_endpoint(tmp_path) -> None:
    """``budget_cap`` $0.012, ``job_cap_usd`` $0.003 on 8 jobs, 4 workers (before: $0.0304
    spent). Usage reported at the bound holds both caps; five times list price stops the
    whole batch at the first overshoot."""
    compose = offline_answers()
    for factor in (1.2, 5.0):

        def script(n: int, body: dict[str, Any], factor: float = factor) -> Fault:
            time.sleep(0.02)
            tokens = Request(
                messages=tuple(
                    Message(role=m["role"], content=m["content"]) for m in body["messages"]
                )
            )
            prompt = request_token_bound(tokens)
            cost = (prompt + body["max_tokens"]) * PRICE / 1e6 * factor
            return answer(content_of(compose(body)), prompt, body["max_tokens"], cost)

        folder = tmp_path / str(factor)
        folder.mkdir()
        with FaultServer(script, models=[{"id": MODEL}]) as server:
            settings = priced(folder)
            path = write_scenario(folder, models={"model": MODEL})
            grid = tp.expand_grid(path, {"seed": range(8)})
            factory = partial(
                OpenAICompatibleModel, server.url, "k", default_model=MODEL, timeout=30
            )
            summary = tp.run_batch(
                grid,
                parallel_workers=4,
                budget_cap=0.012,
                job_cap_usd=0.003,
                model=factory,
                settings=settings,
                progress=False,
                attempts=1,
            )
            sent = server.count
        if factor < 1.25:
            assert summary.batch_cost_usd <= 0.012, summary.describe()
            assert all(cost <= 0.003 for cost in summary.jobs["cost_usd"])
        else:
            assert summary.status == "stopped" and "overspent" in (summary.stop_reason or "")
            assert sent <= 4 + 4, "the first overshoot stops every worker at its next call"


# -- item 7: a total deadline per request ------------------------------------------------------


def test_a_trickled_answer_meets_the_total_deadline() -> None:
    """One byte every 0.5 s (before: still running after 400 s with a 3 s timeout)."""
    body = answer("x" * 200).body

    def script(n: int, _: dict[str, Any]) -> Fault:
        return Fault(body=body, trickle=0.5)

    with FaultServer(script) as server, OpenAICompatibleModel(server.url, "k", timeout=3) as model:
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded, match="within the total deadline of 3s"):
            model.complete(ask())
        took = time.monotonic() - started
    assert took < 3 + 0.5 + 1.0


def test_a_trickle_through_the_stack_is_recorded_and_bounded(tmp_path) -> None:
    body = answer("x" * 200).body
    with FaultServer(lambda n, _: Fault(body=body, trickle=0.5)) as server:
        settings = Settings.from_env(
            {
                "TIMEPOINT_LLM_BASE_URL": server.url,
                "TIMEPOINT_LLM_API_KEY": "k",
                "TIMEPOINT_LLM_TIMEOUT": "1",
                "TIMEPOINT_LLM_MODEL": MODEL,
            }
        )
        gateway = build_gateway(
            settings,
            models=ModelsConfig(),
            budget=BudgetConfig(),
            seed=1,
            cache_dir=None,
            sleep=lambda s: None,
        )
        started = time.monotonic()
        with pytest.raises(ProviderError, match="gave up after 4 attempts"):
            gateway.complete(ask().model_copy(update={"model": None}))
        took = time.monotonic() - started
        assert len(gateway.calls()) == server.count == 4
    assert took < 4 * (1 + 0.5) + 2


# -- item 8: malformed 200 answers --------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_a_malformed_answer_is_recorded_charged_and_retried(kind) -> None:
    good = answer('{"verdict": "fair", "score": 7}', 30, 9)

    def script(n: int, _: dict[str, Any]) -> Fault:
        return Fault(body=MALFORMED[kind]) if n == 1 else good

    budget = Budget("run", max_usd=1.0)
    with FaultServer(script) as server:
        model = RetryingModel(metered(server, budget), sleep=lambda s: None)
        completion = model.complete(ask(schema=Verdict))
        sent = server.count
    records = model.inner.log.snapshot()
    assert len(records) == sent == 2
    assert records[0].outcome == "error" and "MalformedResponse" in records[0].error
    assert records[0].cost_usd > 0, "a 200 answer may have been billed: charged its reservation"
    assert completion.text == '{"verdict": "fair", "score": 7}'


@pytest.mark.parametrize("kind", ["usage_not_object", "message_not_object", "not_json"])
def test_an_endpoint_that_only_answers_malformed_fails_clearly(kind) -> None:
    with FaultServer(lambda n, _: Fault(body=MALFORMED[kind])) as server:
        model = RetryingModel(metered(server, Budget("run")), sleep=lambda s: None)
        with pytest.raises(MalformedResponse) as info:
            model.complete(ask())
        sent = server.count
    assert isinstance(info.value, TimepointError)
    message = str(info.value)
    assert "answered HTTP 200" in message and "TIMEPOINT_LLM_BASE_URL" in message
    assert "gave up after 4 attempts" in message
    assert len(model.inner.log.snapshot()) == sent == 4


# -- item 9: every HTTP attempt is recorded -------------------------------------------------------


def test_a_transient_500_is_retried_in_the_same_format_and_recorded() -> None:
    """Before: the 500 dropped the model from json_schema for good, and the re-send in the
    simpler format had no record (12 server requests, 8 records)."""
    good = answer('{"verdict": "fair", "score": 7}', 30, 9)

    def script(n: int, body: dict[str, Any]) -> Fault:
        return error(500, "upstream hiccup") if n % 3 == 1 else good

    with FaultServer(script, models=[{"id": MODEL}]) as server:
        settings = Settings(base_url=server.url, api_key=SecretStr("k"), model=MODEL)
        gateway = build_gateway(
            settings,
            models=ModelsConfig(),
            budget=BudgetConfig(),
            seed=1,
            cache_dir=None,
            sleep=lambda s: None,
        )
        for _ in range(6):
            gateway.complete(ask(schema=Verdict).model_copy(update={"model": None}))
        endpoint = gateway.endpoint
        assert endpoint is not None
        assert endpoint.structured_mode(MODEL) is StructuredMode.JSON_SCHEMA
        formats = [r.get("response_format", {}).get("type") for r in server.requests]
        sent = server.count
    assert set(formats) == {"json_schema"}
    records = gateway.calls()
    assert len(records) == sent == 9
    assert [r.outcome for r in records].count("error") == 3


def test_every_request_a_run_sends_has_a_call_record(tmp_path) -> None:
    compose = offline_answers()

    def script(n: int, body: dict[str, Any]) -> Fault:
        if n % 4 == 1:
            return error(500, "upstream hiccup")
        if n % 7 == 0:
            return Fault(body=MALFORMED["message_not_object"])
        if n % 5 == 0 and "response_format" in body:
            return error(400, "response_format json_schema is not supported")
        return answer(content_of(compose(body)), 100, 40)

    with FaultServer(script, models=[{"id": MODEL}]) as server:
        settings = priced(tmp_path, base_url=server.url, api_key=SecretStr("k"))
        with contextlib.suppress(RunFailed):
            tp.run(JEFFERSON, settings=settings)
        sent = server.count
    assert len(calls_on_disk(settings.home)) == sent


# -- item 14: the key never leaks, and bad keys are explained -----------------------------------


def test_a_short_key_does_not_mangle_the_endpoint_s_message() -> None:
    text = "the maximum context length is 8192 tokens"
    with FaultServer(lambda n, _: error(400, text)) as server:
        model = client(server.url, "x")
        with pytest.raises(ProviderError) as info:
            model.complete(ask())
    assert "maximum" in str(info.value) and "[redacted]" not in str(info.value)
    with FaultServer(lambda n, _: error(401, "key x is not valid")) as server:
        model = client(server.url, "x")
        with pytest.raises(ProviderError, match=r"key \[redacted\] is not valid"):
            model.complete(ask())


@pytest.mark.parametrize(
    "echo",
    [
        "invalid key {key}",
        "invalid key {prefix}…",
        "invalid key …{suffix}",
        "key={key}&retry=no",
    ],
)
def test_a_key_or_a_part_of_it_echoed_by_the_endpoint_is_never_stored(echo, tmp_path) -> None:
    key = "sk-or-v1-0123456789abcdef0123456789"
    message = echo.format(key=key, prefix=key[:14], suffix=key[-8:])
    with FaultServer(lambda n, _: error(401, message)) as server:
        settings = Settings(home=tmp_path / "runs", base_url=server.url, api_key=SecretStr(key))
        with pytest.raises(RunFailed) as info:
            tp.run(JEFFERSON, settings=settings)
    shown = str(info.value)
    assert key[:14] not in shown and key[-8:] not in shown and "[redacted]" in shown
    for path in (tmp_path / "runs").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert key[:14].encode() not in data and key[-8:].encode() not in data


def test_a_key_inside_the_base_url_is_never_printed(tmp_path, capsys) -> None:
    key = "sk-secret-in-url-0123456789"
    with FaultServer(lambda n, _: error(500, "down")) as server:
        port = server.port
        for url in (
            f"http://user:{key}@127.0.0.1:{port}/v1",
            f"http://127.0.0.1:{port}/v1?api_key={key}",
        ):
            settings = Settings.from_env(
                {
                    "TIMEPOINT_LLM_BASE_URL": url,
                    "TIMEPOINT_LLM_API_KEY": "k-0123456789",
                    "TIMEPOINT_LLM_MODEL": MODEL,
                    "TIMEPOINT_HOME": str(tmp_path / "runs"),
                }
            )
            assert key not in settings.describe() and key not in repr(settings)
            model = client(settings.base_url, "k-0123456789", timeout=2)
            assert key not in repr(model) and key not in model.base_url
            with pytest.raises(ProviderError) as info:
                model.complete(ask())
            assert key not in str(info.value)
    closed = client(f"http://u:{key}@127.0.0.1:{port}/v1", "k", timeout=2)
    with pytest.raises(ProviderError, match="could not reach") as info:
        closed.complete(ask())
    assert key not in str(info.value)
    assert key not in capsys.readouterr().err


@pytest.mark.parametrize("key", ["sk-abc…def", "sk-\u00a0abc", "ключ-0123456789", "sk-abc\n"])
def test_a_key_that_cannot_travel_in_a_header_is_explained(key) -> None:
    with pytest.raises(ConfigurationError, match="API keys are printable ASCII") as info:
        Settings.from_env({"TIMEPOINT_LLM_API_KEY": f"{key}x"})
    assert "position" in str(info.value) and key.strip() not in str(info.value)
    with pytest.raises(ConfigurationError, match="TIMEPOINT_LLM_API_KEY"):
        OpenAICompatibleModel("http://127.0.0.1:9/v1", f"{key}x")


# -- item 15: response bodies are capped ---------------------------------------------------------


@pytest.mark.parametrize("declared", [True, False])
def test_a_huge_answer_is_cut_off_at_the_cap(declared) -> None:
    """200 MB answered (before: the client grew to 1.5 GB); the cap here is 1 MiB."""
    size = 200 * 1024 * 1024
    with FaultServer(lambda n, _: Fault(size=size, length=declared)) as server:
        model = MeteredModel(
            client(server.url, "k", max_response_bytes=1024 * 1024),
            Budget("run", max_usd=1.0),
            prices=lambda model: (PRICE, PRICE),
        )
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLarge, match="cap of 1,048,576 bytes") as info:
                RetryingModel(model, sleep=lambda s: None).complete(ask())
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        sent = server.sent_bytes
        requests = server.count
    assert "TIMEPOINT_LLM_MAX_RESPONSE_BYTES" in str(info.value)
    assert requests == 1, "a body over the cap is not asked for again"
    assert peak < 16 * 1024 * 1024
    assert sent < size // 4
    (record,) = model.log.snapshot()
    assert record.outcome == "error" and record.cost_usd > 0


def test_the_response_cap_and_price_margin_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {"TIMEPOINT_LLM_MAX_RESPONSE_BYTES": "65536", "TIMEPOINT_LLM_PRICE_MARGIN": "1.5"}
    )
    assert (settings.max_response_bytes, settings.price_margin) == (65536, 1.5)
    with pytest.raises(ConfigurationError, match="PRICE_MARGIN"):
        Settings.from_env({"TIMEPOINT_LLM_PRICE_MARGIN": "0.5"})


def test_openrouter_requests_carry_a_price_ceiling() -> None:
    registry = Registry.load()
    model_id = next(spec.id for spec in registry if spec.input_usd_per_m > 0)
    spec = registry.find(model_id)
    assert spec is not None
    provider = client("https://openrouter.ai/api/v1", "k", price_margin=1.25)
    body = provider._body(ask().model_copy(update={"model": model_id}), spec.openrouter_id, None)
    ceiling = body["provider"]["max_price"]
    assert ceiling["prompt"] == pytest.approx(spec.input_usd_per_m * 1.25)
    assert ceiling["completion"] == pytest.approx(spec.output_usd_per_m * 1.25)
    local = client("http://127.0.0.1:9/v1", "k")
    assert "provider" not in local._body(ask(), MODEL, None)
