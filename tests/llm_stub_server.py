"""A scriptable OpenAI-compatible server on 127.0.0.1 for the LLM-layer tests.

Each test starts its own :class:`StubServer` (ephemeral port), queues :class:`Reply` objects,
and inspects the requests the server received.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted HTTP answer: a dict body is sent as JSON, a string as is."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def response_format(self) -> str | None:
        fmt = self.body.get("response_format")
        return fmt["type"] if fmt else None

    @property
    def system(self) -> str:
        return "\n".join(m["content"] for m in self.body["messages"] if m["role"] == "system")


def chat(
    content: str,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    cost: float | None = None,
    finish_reason: str = "stop",
) -> Reply:
    """A successful chat completion carrying ``content`` and usage."""
    usage: dict[str, Any] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
    if cost is not None:
        usage["cost"] = cost
    return Reply(
        body={
            "id": "cmpl-1",
            "object": "chat.completion",
            "model": "stub",
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


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    """An OpenAI-style error body with ``status``."""
    return Reply(
        status=status, body={"error": {"message": message, "code": status}}, headers=headers or {}
    )


#: what ``GET /v1/models`` lists unless a test says otherwise
STUB_MODELS: list[dict[str, Any]] = [{"id": "stub-model"}]


class StubServer:
    """Serves queued replies in order; when the queue is empty, ``default(body)`` answers.

    ``models`` are the entries ``GET /v1/models`` lists (default :data:`STUB_MODELS`;
    ``None``: that path answers 404);
    ``serial`` makes the server generate one answer at a time, the way a single-slot local
    server queues requests. Use as a context manager; ``url`` is the ``/v1`` base URL.
    """

    def __init__(
        self,
        default: Callable[[dict[str, Any]], Reply] | None = None,
        models: list[dict[str, Any]] | None = STUB_MODELS,
        serial: bool = False,
    ):
        self._queue: deque[Reply] = deque()
        self._default = default
        self._lock = threading.Lock()
        self._generating = threading.Lock() if serial else None
        self.requests: list[Received] = []
        self.model_listings = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.rstrip("/") != "/v1/models" or models is None:
                    self._send(error(404, f"no route {self.path}"))
                    return
                with stub._lock:
                    stub.model_listings += 1
                self._send(Reply(body={"object": "list", "data": models}))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with stub._lock:
                    stub.requests.append(Received(self.path, dict(self.headers), body))
                    reply = stub._queue.popleft() if stub._queue else None
                if reply is None:
                    if stub._default is None:
                        reply = error(500, "the stub server has no scripted reply left")
                    else:
                        reply = stub._default(body)
                if stub._generating is not None:
                    with stub._generating:
                        time.sleep(reply.delay)
                elif reply.delay:
                    time.sleep(reply.delay)
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                payload = (
                    reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                ).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def push(self, *replies: Reply) -> StubServer:
        with self._lock:
            self._queue.extend(replies)
        return self

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
