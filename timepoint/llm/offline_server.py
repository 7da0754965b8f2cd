"""The offline model served as an OpenAI-compatible HTTP endpoint.

``POST /v1/chat/completions`` and ``GET /v1/models``, with ``usage`` in every answer. It is a
free endpoint for demos and other tools, and the test double of the whole HTTP path: a run
pointed at it through :class:`~timepoint.llm.openai_compat.OpenAICompatibleModel` gets the same
answers as a run with the embedded offline model, because both see only the messages.

The answer's shape is found by name: the prompt's data block names it (``answer``), and so does
a ``json_schema`` response format. ``schemas`` maps those names to the pydantic classes whose
offline answers the server composes; names it does not know are answered from the task alone.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import BaseModel, ValidationError

from timepoint.errors import TimepointError
from timepoint.llm.base import Message, Request
from timepoint.llm.offline import OFFLINE_MODEL_ID, OfflineModel
from timepoint.llm.task_data import read_task_data

#: the context window the endpoint advertises (the offline model has no real limit)
ADVERTISED_CONTEXT = 131_072


class OfflineEndpoint:
    """What the endpoint answers, without the HTTP around it.

    Args:
        model: the offline model that composes every answer.
        schemas: answer-shape names (pydantic class names) to classes.
        served: the model id the endpoint lists and answers as (any requested id is answered).
    """

    def __init__(
        self,
        model: OfflineModel,
        schemas: Mapping[str, type[BaseModel]],
        served: str = OFFLINE_MODEL_ID,
    ):
        self.model = model
        self.schemas = dict(schemas)
        self.served = served
        self.requests = 0
        self._lock = threading.Lock()

    def answer(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The ``chat.completion`` object for a request ``body``.

        Raises:
            ValueError: the body is not a chat-completion request.
        """
        messages = tuple(Message.model_validate(m) for m in _messages(body))
        schema = self._schema(body, messages)
        seed = body.get("seed")
        request = Request(
            messages=messages,
            output_schema=schema,
            seed=seed if isinstance(seed, int) else None,
            max_tokens=int(body.get("max_tokens") or 1024),
        )
        with self._lock:
            self.requests += 1
        completion = self.model.complete(request)
        return {
            "id": f"chatcmpl-offline-{self.requests}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.served,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": completion.text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": completion.usage.prompt_tokens,
                "completion_tokens": completion.usage.completion_tokens,
                "total_tokens": completion.usage.total_tokens,
            },
        }

    def models(self) -> dict[str, Any]:
        """The ``/v1/models`` listing: the one model this endpoint serves."""
        return {
            "object": "list",
            "data": [
                {
                    "id": self.served,
                    "object": "model",
                    "owned_by": "timepoint",
                    "context_length": ADVERTISED_CONTEXT,
                }
            ],
        }

    def _schema(self, body: Mapping[str, Any], messages: tuple[Message, ...]) -> Any:
        task = read_task_data(messages)
        names = [task.answer if task else None, _response_format_name(body)]
        return next((self.schemas[n] for n in names if n in self.schemas), None)


class OfflineServer:
    """An HTTP server in front of an :class:`OfflineEndpoint`; start with :meth:`start` or
    ``with``.

    Args:
        endpoint: what answers.
        host: interface to bind (loopback by default).
        port: port to bind; 0 picks a free one (see :attr:`url`).
    """

    def __init__(self, endpoint: OfflineEndpoint, host: str = "127.0.0.1", port: int = 0):
        self.endpoint = endpoint
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(endpoint))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL to give a client, e.g. ``http://127.0.0.1:8099/v1``."""
        host, port = self._httpd.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}/v1"

    def start(self) -> OfflineServer:
        """Serve on a background thread and return at once."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on this thread until interrupted."""
        self._httpd.serve_forever()

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> OfflineServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _messages(body: Mapping[str, Any]) -> list[Any]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' must be a non-empty list of {role, content} objects")
    return [
        {"role": m.get("role", "user"), "content": _text(m.get("content"))}
        if isinstance(m, dict)
        else m
        for m in messages
    ]


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content or "")


def _response_format_name(body: Mapping[str, Any]) -> str | None:
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and isinstance(fmt.get("json_schema"), dict):
        name = fmt["json_schema"].get("name")
        return name if isinstance(name, str) else None
    return None


def _handler_for(server: OfflineEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                self._send(HTTPStatus.OK, server.models())
            elif self.path.rstrip("/") in ("/health", "/v1/health"):
                self._send(HTTPStatus.OK, {"status": "ok"})
            else:
                self._error(HTTPStatus.NOT_FOUND, f"no route {self.path}")

        def do_POST(self) -> None:
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._error(HTTPStatus.NOT_FOUND, f"no route {self.path}")
                return
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"null")
                if not isinstance(body, dict):
                    raise ValueError("the body must be a JSON object")
                payload = server.answer(body)
            except (ValueError, ValidationError) as error:
                self._error(HTTPStatus.BAD_REQUEST, str(error).splitlines()[0])
                return
            except TimepointError as error:
                self._error(HTTPStatus.UNPROCESSABLE_ENTITY, str(error))
                return
            self._send(HTTPStatus.OK, payload)

        def _error(self, status: HTTPStatus, message: str) -> None:
            self._send(status, {"error": {"message": message, "code": int(status)}})

        def _send(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
