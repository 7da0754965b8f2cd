"""A fault-injecting OpenAI-compatible endpoint on 127.0.0.1 for the hardening tests.

Every ``POST /v1/chat/completions`` is answered by ``script(n, body)`` (``n`` counts requests
from 1) with a :class:`Fault`: a status code, a delay, a body trickled a byte at a time, a
malformed 200 body, usage and cost over-reported against what the request could cost, or a body
of any size streamed without holding it in memory. The server counts what it received and how
many body bytes it managed to send.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHUNK = 64 * 1024


@dataclass
class Fault:
    """One answer. ``body``: a dict (sent as JSON), str or bytes; ``size``: instead of a body,
    send this many bytes of filler; ``trickle``: seconds between single bytes of the body;
    ``length``: whether to send ``Content-Length`` (else the body ends when the connection
    closes)."""

    status: int = 200
    body: Any = None
    delay: float = 0.0
    trickle: float = 0.0
    size: int = 0
    length: bool = True
    headers: dict[str, str] = field(default_factory=dict)


def prompt_bytes(body: dict[str, Any]) -> int:
    """UTF-8 bytes of the request's messages."""
    return sum(len(m["content"].encode()) for m in body.get("messages", []))


def answer(
    content: str,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    cost: float | None = None,
    finish_reason: str = "stop",
) -> Fault:
    """A well-formed chat completion."""
    usage: dict[str, Any] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
    if cost is not None:
        usage["cost"] = cost
    return Fault(
        body={
            "id": "cmpl-fault",
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": finish_reason,
                }
            ],
            "usage": usage,
        }
    )


def overreported(
    content: str,
    body: dict[str, Any],
    usage_factor: float = 1.0,
    price_per_m: float | None = None,
    cost_factor: float = 1.0,
) -> Fault:
    """An answer whose usage is the most the request could use (one token per prompt byte and
    the whole ``max_tokens``), times ``usage_factor``; with ``price_per_m`` the reported cost is
    that usage at the price, times ``cost_factor``."""
    prompt = int(prompt_bytes(body) * usage_factor)
    completion = int(int(body.get("max_tokens") or 0) * usage_factor)
    cost = None
    if price_per_m is not None:
        cost = (prompt + completion) * price_per_m / 1_000_000 * cost_factor
    return answer(content, prompt, completion, cost)


def error(status: int, message: str) -> Fault:
    return Fault(status=status, body={"error": {"message": message, "code": status}})


#: 200 bodies an endpoint should never send, by name
MALFORMED: dict[str, Any] = {
    "usage_not_object": {
        "choices": [{"message": {"role": "assistant", "content": "{}"}, "finish_reason": "stop"}],
        "usage": "lots",
    },
    "message_not_object": {"choices": [{"message": "str", "finish_reason": "stop"}]},
    "no_choices": {"id": "x", "usage": {"prompt_tokens": 1, "completion_tokens": 1}},
    "content_not_string": {
        "choices": [{"message": {"role": "assistant", "content": 42}, "finish_reason": "stop"}]
    },
    "choices_not_list": {"choices": "many"},
    "negative_usage": {
        "choices": [{"message": {"role": "assistant", "content": "{}"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": -5, "completion_tokens": 3},
    },
    "not_json": "<html>502 bad gateway</html>",
    "json_list": [1, 2, 3],
    "empty": "",
}


class FaultServer:
    """Answers every chat request with ``script(n, body)``; ``GET /v1/models`` lists
    ``models``. Use as a context manager; ``url`` is the ``/v1`` base URL (``host`` may be
    changed to embed userinfo in tests)."""

    def __init__(
        self,
        script: Callable[[int, dict[str, Any]], Fault],
        models: list[dict[str, Any]] | None = None,
    ):
        self.script = script
        self.models = models if models is not None else [{"id": "fault-model"}]
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.sent_bytes = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if self.path.split("?")[0].rstrip("/") != "/v1/models":
                    self._send(error(404, f"no route {self.path}"))
                    return
                self._send(Fault(body={"object": "list", "data": server.models}))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append(body)
                    server.headers.append(dict(self.headers))
                    n = len(server.requests)
                self._send(server.script(n, body))

            def _send(self, fault: Fault) -> None:
                if fault.delay:
                    time.sleep(fault.delay)
                if isinstance(fault.body, bytes):
                    payload = fault.body
                elif isinstance(fault.body, str):
                    payload = fault.body.encode()
                elif fault.body is None:
                    payload = b""
                else:
                    payload = json.dumps(fault.body).encode()
                total = fault.size or len(payload)
                try:
                    self.send_response(fault.status)
                    self.send_header("Content-Type", "application/json")
                    if fault.length:
                        self.send_header("Content-Length", str(total))
                    else:
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    for name, value in fault.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    if fault.size:
                        self._filler(fault.size)
                    elif fault.trickle:
                        for index in range(len(payload)):
                            self.wfile.write(payload[index : index + 1])
                            self.wfile.flush()
                            self._count(1)
                            time.sleep(fault.trickle)
                    else:
                        self.wfile.write(payload)
                        self._count(len(payload))
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _filler(self, size: int) -> None:
                block = b'{"choices": [' + b" " * (CHUNK - 13)
                left = size
                while left > 0:
                    part = block[: min(CHUNK, left)]
                    self.wfile.write(part)
                    self._count(len(part))
                    left -= len(part)
                    block = b" " * CHUNK

            def _count(self, sent: int) -> None:
                with server._lock:
                    server.sent_bytes += sent

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
