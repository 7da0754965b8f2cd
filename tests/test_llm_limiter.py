"""Adaptive concurrency and the requests-per-minute cap."""

from __future__ import annotations

import threading
import time

import pytest

from timepoint.errors import ProviderError
from timepoint.llm.base import Message, Request
from timepoint.llm.limiter import LimitedModel
from timepoint.llm.testing import ScriptedModel

REQUEST = Request(messages=(Message(role="user", content="hi"),), model="llama-3.1-8b")


def call(model: LimitedModel) -> str:
    try:
        return model.complete(REQUEST).text
    except ProviderError as error:
        return f"error {error.status}"


def test_limit_grows_by_one_after_each_clean_round() -> None:
    model = LimitedModel(ScriptedModel(["ok"], repeat_last=True), initial=4, minimum=2, maximum=6)
    for _ in range(4):
        call(model)
    assert model.limit == 5
    for _ in range(5):
        call(model)
    assert model.limit == 6
    for _ in range(20):
        call(model)
    assert model.limit == 6, "never above maximum"


def test_429_halves_and_other_rate_limit_signs_multiply_by_0_8() -> None:
    script = [
        ProviderError("rate limited", status=429),
        ProviderError("overloaded", status=503),
        ProviderError("timeout", status=None),
        ProviderError("bad request", status=400),
    ]
    model = LimitedModel(ScriptedModel(script), initial=40, minimum=4, maximum=100)
    assert [call(model) for _ in range(4)] == ["error 429", "error 503", "error None", "error 400"]
    assert model.limit == int(int(40 * 0.5) * 0.8 * 0.8)
    floor = LimitedModel(ScriptedModel([ProviderError("x", status=429)], repeat_last=True),
                         initial=6, minimum=4)  # fmt: skip
    for _ in range(5):
        call(floor)
    assert floor.limit == 4


def test_a_burst_of_concurrent_429s_is_one_episode() -> None:
    burst = threading.Barrier(8)

    def rate_limited(request: Request) -> str:
        burst.wait()
        raise ProviderError("rate limited", status=429)

    model = LimitedModel(ScriptedModel([rate_limited], repeat_last=True), initial=16, minimum=2)
    threads = [threading.Thread(target=call, args=(model,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert model.limit == 8
    assert model.in_flight == 0


def test_in_flight_never_exceeds_the_limit() -> None:
    release = threading.Event()
    running = {"now": 0, "peak": 0}
    lock = threading.Lock()

    def slow(request: Request) -> str:
        with lock:
            running["now"] += 1
            running["peak"] = max(running["peak"], running["now"])
        release.wait(timeout=5)
        with lock:
            running["now"] -= 1
        return "ok"

    model = LimitedModel(ScriptedModel([slow], repeat_last=True), initial=4, minimum=4)
    threads = [threading.Thread(target=call, args=(model,)) for _ in range(10)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 2
    while model.in_flight < 4 and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.05)
    assert model.in_flight == 4
    release.set()
    for thread in threads:
        thread.join()
    assert running["peak"] == 4
    assert model.in_flight == 0


def test_requests_per_minute_cap_holds_calls_until_the_window_moves() -> None:
    now = [1000.0]
    model = LimitedModel(ScriptedModel(["ok"], repeat_last=True), initial=4, minimum=4,
                         requests_per_minute=2, clock=lambda: now[0])  # fmt: skip
    call(model)
    call(model)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (call(model), done.set()))
    worker.start()
    assert not done.wait(timeout=0.1), "the third call in the same minute must wait"
    now[0] += 61
    assert done.wait(timeout=2)
    worker.join()


def test_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="minimum <= initial <= maximum"):
        LimitedModel(ScriptedModel(), initial=2, minimum=4)


def run_concurrently(model: LimitedModel, calls: int, threads: int = 8) -> list[str]:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda _: call(model), range(calls)))


def test_a_serial_server_brings_a_queue_aware_limit_to_one_without_resending() -> None:
    from tests.llm_stub_server import Reply, StubServer, chat
    from timepoint.llm.openai_compat import OpenAICompatibleModel

    def slow(body: dict) -> Reply:
        reply = chat("ok", completion_tokens=20)
        reply.delay = 0.02
        return reply

    with StubServer(default=slow, serial=True) as server:
        provider = OpenAICompatibleModel(server.url, "local", timeout=5)
        model = LimitedModel(
            provider, initial=1, minimum=1, queue_aware=True, timeout=provider.timeout
        )
        answers = run_concurrently(model, 40)
        provider.close()
    assert answers == ["ok"] * 40
    assert server.count == 40, "nothing was abandoned and sent again"
    assert model.limit == 1


def test_a_parallel_server_lets_a_queue_aware_limit_grow() -> None:
    from tests.llm_stub_server import Reply, StubServer, chat
    from timepoint.llm.openai_compat import OpenAICompatibleModel

    def slow(body: dict) -> Reply:
        reply = chat("ok", completion_tokens=20)
        reply.delay = 0.05
        return reply

    with StubServer(default=slow) as server:
        provider = OpenAICompatibleModel(server.url, "local", timeout=5)
        model = LimitedModel(
            provider, initial=1, minimum=1, queue_aware=True, timeout=provider.timeout
        )
        run_concurrently(model, 40)
        provider.close()
    assert model.limit >= 4


def test_a_queue_aware_limit_does_not_grow_when_a_queued_request_could_time_out() -> None:
    clock = iter(range(0, 10_000, 3))
    model = LimitedModel(
        ScriptedModel(["ok"], repeat_last=True),
        initial=1,
        minimum=1,
        queue_aware=True,
        timeout=5.0,
        clock=lambda: float(next(clock)),
    )
    for _ in range(10):
        call(model)
    assert model.limit == 1, "each call takes 3 s: a second one queued behind it could pass 5 s"
