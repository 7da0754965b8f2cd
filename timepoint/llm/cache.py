"""A content-addressed completion cache in SQLite.

The key is the sha256 of the canonical JSON of what determines an answer: model, endpoint
identity, action, messages, temperature, max tokens, output schema, seed and the cache
namespace. Keys and timeouts are never part of it. Only answers that
validated (when a schema was asked for) are stored, so a rerun of the same requests replays
with zero inner calls and zero new tokens; change the namespace to invalidate deliberately.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path

from timepoint.llm.base import Completion, LanguageModel, Request, Usage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key TEXT PRIMARY KEY,
    namespace TEXT NOT NULL,
    model TEXT NOT NULL,
    action TEXT NOT NULL,
    text TEXT NOT NULL,
    parsed TEXT,
    provider TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    created REAL NOT NULL
)
"""


def cache_key(request: Request, endpoint: str, namespace: str = "default") -> str:
    """The sha256 hex digest identifying ``request`` at ``endpoint`` in ``namespace``."""
    schema = request.output_schema
    canonical = {
        "v": 1,
        "namespace": namespace,
        "endpoint": endpoint,
        "model": request.model,
        "action": request.action.value,
        "messages": [[m.role, m.content] for m in request.messages],
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        "schema": schema.model_json_schema() if schema is not None else None,
        "seed": request.seed,
    }
    payload = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class CachedModel:
    """Wraps a model; answers repeated requests from an SQLite file (WAL mode).

    Thread-safe (one connection behind a lock); several processes may share the file.

    Args:
        inner: the wrapped model.
        path: the SQLite file (parent folders are created).
        namespace: part of every key; a new namespace starts an empty cache.
        endpoint: identity of what answers (base URL, or ``offline:seed=3``); defaults to the
            inner provider label.
    """

    def __init__(
        self,
        inner: LanguageModel,
        path: Path | str,
        namespace: str = "default",
        endpoint: str | None = None,
    ):
        self.inner = inner
        self.path = Path(path)
        self.namespace = namespace
        self.endpoint = endpoint or inner.provider
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            self._db.commit()
        self.hits = 0
        self.misses = 0

    @property
    def provider(self) -> str:
        return self.inner.provider

    def complete(self, request: Request) -> Completion:
        """A stored answer (``cache_hit=True``, zero usage and cost) or a fresh, stored one."""
        key = cache_key(request, self.endpoint, self.namespace)
        started = time.perf_counter()
        hit = self._lookup(key, request)
        if hit is not None:
            return hit.model_copy(update={"latency_ms": (time.perf_counter() - started) * 1000})
        completion = self.inner.complete(request)
        schema = request.output_schema
        if schema is None or isinstance(completion.parsed, schema):
            self._store(key, request, completion)
        return completion

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]

    def clear(self, namespace: str | None = None) -> int:
        """Delete the stored answers of ``namespace`` (default: this one); returns how many."""
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM completions WHERE namespace = ?", (namespace or self.namespace,)
            )
            self._db.commit()
            return cursor.rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> CachedModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CachedModel({self.inner!r}, {str(self.path)!r}, namespace={self.namespace!r})"

    def _lookup(self, key: str, request: Request) -> Completion | None:
        with self._lock:
            row = self._db.execute(
                "SELECT text, parsed, provider, model FROM completions WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                self.misses += 1
                return None
        text, parsed_json, provider, model = row
        parsed = None
        schema = request.output_schema
        if schema is not None:
            if parsed_json is None:
                return None
            try:
                parsed = schema.model_validate_json(parsed_json)
            except ValueError:
                return None
        with self._lock:
            self.hits += 1
        return Completion(
            text=text,
            parsed=parsed,
            model=model,
            provider=provider,
            usage=Usage(),
            cost_usd=0.0,
            cache_hit=True,
            attempts=0,
        )

    def _store(self, key: str, request: Request, completion: Completion) -> None:
        parsed = completion.parsed.model_dump_json() if completion.parsed is not None else None
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO completions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    self.namespace,
                    completion.model,
                    request.action.value,
                    completion.text,
                    parsed,
                    completion.provider,
                    completion.usage.prompt_tokens,
                    completion.usage.completion_tokens,
                    completion.cost_usd,
                    time.time(),
                ),
            )
            self._db.commit()
