"""A loopback HTTP server that answers GET requests from recorded payloads.

Each test starts its own :class:`RecordedServer` on 127.0.0.1 (ephemeral port), maps paths to
answers (a payload, or a queue of :class:`Answer` objects consumed in order, the last one
repeating) and inspects the requests it received.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

RECORDINGS = Path(__file__).resolve().parent / "fixtures" / "connectors"


def recording(name: str) -> Any:
    """A recorded payload from ``tests/fixtures/connectors/<name>.json``."""
    return json.loads((RECORDINGS / f"{name}.json").read_text(encoding="utf-8"))


@dataclass
class Answer:
    """One answer: a body (JSON unless a string), a status and headers."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    """One request as the server saw it."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]


Route = Callable[[dict[str, str]], Answer]


class RecordedServer:
    """Serves ``routes``: path -> list of answers (consumed in order) or a function of the
    query parameters."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Answer] | Route] = {}
        self.seen: list[Seen] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                owner.seen.append(Seen(parts.path, query, dict(self.headers)))
                answer = owner.answer(parts.path, query)
                body = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
                data = body.encode()
                self.send_response(answer.status)
                self.send_header("Content-Length", str(len(data)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def answer(self, path: str, query: dict[str, str]) -> Answer:
        route = self.routes.get(path)
        if route is None:
            return Answer({"detail": f"no recording for {path}"}, status=404)
        if callable(route):
            return route(query)
        return route.pop(0) if len(route) > 1 else route[0]

    def __enter__(self) -> RecordedServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
