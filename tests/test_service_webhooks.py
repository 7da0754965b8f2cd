"""Webhook deliveries against receivers on 127.0.0.1: signed, retried, logged."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.service_support import Receiver
from timepoint.errors import ServiceError
from timepoint.service.webhooks import (
    HEADER,
    Dispatcher,
    Webhook,
    WebhookSecrets,
    load_webhooks,
    sign,
    verify,
)
from timepoint.service.worker import Worker
from timepoint.settings import Settings
from timepoint.store import open_store

SECRET = "whsec_test_only_0123456789abcdef"
DATA = {"id": "w-run-1", "kind": "run", "status": "completed", "run_id": "r1", "cost_usd": 0.0}


def hook(url: str, style: str = "json") -> Webhook:
    return Webhook.model_validate(
        {"name": "ops", "url": url, "events": ["run.finished"], "style": style, "secret": SECRET}
    )


def test_a_receiver_failing_twice_gets_the_event_on_the_third_attempt(tmp_path: Path) -> None:
    with open_store(home=tmp_path) as store, Receiver(statuses=(500, 503)) as receiver:
        dispatcher = Dispatcher(store, [hook(receiver.url)], backoff_s=0.05, attempts=4)
        (future,) = dispatcher.emit("run.finished", "k1", DATA)
        assert future.result(timeout=10) is True
        dispatcher.close()
        log = store.deliveries("ops")
    assert [(d["attempt"], d["status"], d["http_status"]) for d in log] == [
        (1, "failed", 500),
        (2, "failed", 503),
        (3, "delivered", 200),
    ]
    assert len({d["delivery_id"] for d in log}) == 1
    for headers, body in receiver.posts:
        assert verify(SECRET, body, headers[HEADER.lower()])
        assert headers["x-timepoint-event"] == "run.finished"
    event = json.loads(receiver.posts[-1][1])
    assert event["event"] == "run.finished" and event["data"] == DATA
    assert event["id"] == log[0]["delivery_id"]


def test_a_receiver_that_never_answers_is_given_up_after_the_attempts(tmp_path: Path) -> None:
    with open_store(home=tmp_path) as store, Receiver(hang_s=30) as receiver:
        dispatcher = Dispatcher(
            store, [hook(receiver.url)], attempts=2, backoff_s=0.05, timeout_s=0.3
        )
        started = time.monotonic()
        assert dispatcher.deliver(hook(receiver.url), "run.finished", DATA) is False
        elapsed = time.monotonic() - started
        receiver.released.set()
        dispatcher.close()
        log = store.deliveries("ops")
    assert [(d["status"], d["http_status"]) for d in log] == [("failed", None), ("gave_up", None)]
    assert all("Timeout" in d["error"] for d in log)
    assert elapsed < 5


def test_slack_and_discord_bodies_from_a_yaml_configuration(tmp_path: Path) -> None:
    config = tmp_path / "webhooks.yaml"
    config.write_text(
        "webhooks:\n"
        "  - {name: slack, url: URL, events: [run.failed], style: slack, secret_env: S}\n"
        "  - {name: discord, url: URL, events: [run.failed, batch.finished], style: discord,"
        " secret_env: S}\n"
    )
    with Receiver() as receiver:
        config.write_text(config.read_text().replace("URL", receiver.url))
        hooks = load_webhooks(config, {"S": SECRET})
        with open_store(home=tmp_path) as store:
            dispatcher = Dispatcher(store, hooks, backoff_s=0.05)
            failed = {**DATA, "status": "failed", "error": "BudgetExceeded: run budget"}
            for future in dispatcher.emit("run.failed", "any-key", failed):
                assert future.result(timeout=10)
            dispatcher.close()
    bodies = sorted((json.loads(body) for _, body in receiver.posts), key=lambda b: list(b))
    assert [list(b) for b in bodies] == [["content"], ["text"]]
    assert bodies[0]["content"] == bodies[1]["text"]
    assert "run.failed" in bodies[1]["text"] and "BudgetExceeded" in bodies[1]["text"]
    assert SECRET not in repr(hooks)
    with pytest.raises(ServiceError, match=r"webhooks\[0\].secret_env: S is not set"):
        load_webhooks(config, {})


def test_signatures_refuse_tampering_and_replays() -> None:
    body = b'{"event": "run.finished"}'
    now = int(time.time())
    header = sign(SECRET, body, now)
    assert verify(SECRET, body, header)
    assert not verify(SECRET, body + b" ", header)
    assert not verify("another secret", body, header)
    old = sign(SECRET, body, now - 301)
    assert not verify(SECRET, body, old)
    assert verify(SECRET, body, old, window_s=600)
    derived = WebhookSecrets(b"k" * 32)
    assert derived.secret_for("wh-1") == derived.secret_for("wh-1") != derived.secret_for("wh-2")


def test_a_batch_past_80_percent_of_its_budget_is_announced_once(tmp_path: Path) -> None:
    with open_store(home=tmp_path) as store, Receiver() as receiver:
        dispatcher = Dispatcher(store, [], backoff_s=0.05)
        worker = Worker(store, Settings(home=tmp_path), notify=dispatcher.notify)
        budget_hook = hook(receiver.url).model_copy(update={"events": ["batch.budget_80"]})
        dispatcher.configured.append(budget_hook)
        row = {"work_id": "b1", "key_id": "k1", "kind": "batch", "status": "running"}
        check = worker.budget_check({**row, "request_json": {"budget_usd": 1.0}})
        assert check is not None
        check()  # no batch yet
        store.create_batch("b1", {})
        store.upsert_job("b1", "j1", status="completed", cost_usd=0.5)
        check()
        store.upsert_job("b1", "j2", status="completed", cost_usd=0.35)
        check()
        check()
        dispatcher.close()
    (post,) = receiver.posts
    event = json.loads(post[1])
    assert event["event"] == "batch.budget_80" and event["data"]["cost_usd"] == 0.85


def test_forecast_moved_reaches_the_webhooks_whose_threshold_it_passes(tmp_path: Path) -> None:
    with open_store(home=tmp_path) as store, Receiver() as receiver:
        events = {"events": ["forecast.moved"]}
        small = hook(receiver.url).model_copy(update={**events, "name": "small", "min_move": 0.05})
        large = hook(receiver.url).model_copy(update={**events, "name": "large", "min_move": 0.5})
        dispatcher = Dispatcher(store, [small, large], backoff_s=0.05)
        row = {"work_id": "w-forecast-1", "key_id": "k1", "kind": "forecast"}
        row |= {"status": "completed", "moved": 0.2, "previous": 0.3, "forecast": {"p": 0.5}}
        dispatcher.notify("forecast.moved", row)
        dispatcher.close()
        told = {d["webhook_id"] for d in store.deliveries()}
    assert told == {"small"}
    (post,) = receiver.posts
    data = json.loads(post[1])["data"]
    assert (data["moved"], data["previous"], data["forecast"]) == (0.2, 0.3, {"p": 0.5})


def test_a_bad_webhooks_file_names_each_field_and_never_echoes_a_secret(tmp_path: Path) -> None:
    config = tmp_path / "webhooks.yaml"
    token_url = "ftp://hooks.example/services/T0/B0/tok3n-in-the-url"
    config.write_text(
        f"webhooks:\n  - {{name: a, url: {token_url}, evnts: [run.failed], secret_env: S}}\n"
    )
    with pytest.raises(ServiceError) as caught:
        load_webhooks(config, {"S": SECRET})
    message = str(caught.value)
    assert f"{config}: webhooks[0]: evnts: unknown key; did you mean 'events'?" in message
    assert f"{config}: webhooks[0]: events: required field is missing" in message
    assert f"{config}: webhooks[0]: url: a value not shown does not match" in message
    assert "tok3n" not in message and SECRET not in message
    config.write_text(
        "webhooks:\n  - {name: b, url: https://h.example, events: [x], secret: [1]}\n"
    )
    with pytest.raises(ServiceError) as caught:
        load_webhooks(config, {})
    assert "webhooks[0]: secret: got a value not shown" in str(caught.value)
    assert "'run.finished'" in str(caught.value)  # the allowed events are listed
