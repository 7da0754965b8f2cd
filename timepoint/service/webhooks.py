"""Webhooks: signed JSON posts when runs and batches finish, with retries and a delivery log.

Events: ``run.finished``, ``run.failed`` (runs and branches), ``batch.finished`` (completed,
failed or cancelled), ``batch.budget_80`` (a batch has spent 80% of its budget cap) and
``forecast.moved`` (a forecast made through the service differs from the question's previous
forecast by at least the webhook's ``min_move``, 0.1 by default).

Bodies are JSON (``{"id", "event", "created", "data"}``) or Slack (``{"text"}``) and Discord
(``{"content"}``) messages. Every post carries ``X-Timepoint-Signature: t=<unix seconds>,
v1=<hex>``, the HMAC-SHA256 of ``"<t>.<body>"`` under the webhook's secret; receivers should
recompute it and refuse a timestamp older than :data:`REPLAY_WINDOW_S` (:func:`verify`
does both). A post that fails (no answer within the timeout, or a status other than 2xx) is
retried with doubling waits; every attempt is a row of ``webhook_deliveries``.

Webhooks come from a YAML file (``timepoint serve --webhooks FILE``; they see every key's
events) or from ``POST /webhooks`` (they see the events of the key that made them)::

    webhooks:
      - name: ops
        url: https://hooks.slack.com/services/...
        events: [run.failed, batch.finished]
        style: slack
        secret_env: OPS_WEBHOOK_SECRET   # or secret: ...
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from timepoint.errors import ServiceError, StoreError
from timepoint.problems import describe_errors
from timepoint.store import Store
from timepoint.store.base import Row

EVENTS = ("run.finished", "run.failed", "batch.finished", "batch.budget_80", "forecast.moved")
#: Seconds a signature's timestamp stays acceptable.
REPLAY_WINDOW_S = 300
HEADER = "X-Timepoint-Signature"


class Webhook(BaseModel):
    """One webhook: where, which events, body style, secret, and whose events."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    url: str = Field(pattern=r"^https?://")
    events: list[Literal[EVENTS]] = Field(min_length=1)  # type: ignore[valid-type]
    style: Literal["json", "slack", "discord"] = "json"
    min_move: float = Field(0.1, gt=0, le=1)
    secret: SecretStr
    key_id: str | None = None


def load_webhooks(path: Path, environ: Mapping[str, str]) -> list[Webhook]:
    """The webhooks of a YAML file; ``secret_env`` names a variable of ``environ``.

    Raises:
        ServiceError: the file is missing or malformed, or a secret is missing.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ServiceError(f"{path}: cannot read the webhooks file: {error}") from None
    hooks = []
    for n, item in enumerate(data.get("webhooks") or []):
        item = dict(item)
        variable = item.pop("secret_env", None)
        if variable is not None:
            if not environ.get(variable):
                raise ServiceError(f"{path}: webhooks[{n}].secret_env: {variable} is not set")
            item["secret"] = environ[variable]
        try:
            hooks.append(Webhook.model_validate(item))
        except ValidationError as error:
            lines = describe_errors(
                error, Webhook, f"{path}: webhooks[{n}]", hidden=("secret", "url")
            )
            raise ServiceError("\n".join(lines)) from None
    return hooks


class WebhookSecrets:
    """Signing secrets of API-registered webhooks, derived from one server key and never
    stored: a webhook's secret is HMAC-SHA256(server key, webhook id).

    The server key comes from ``TIMEPOINT_WEBHOOK_KEY`` (read by the commands) or from a file
    made on first use, readable only by its owner (:meth:`at`).
    """

    def __init__(self, server_key: bytes):
        if len(server_key) < 16:
            raise ServiceError("the webhook server key must have at least 16 bytes")
        self._key = server_key

    def __repr__(self) -> str:
        return "WebhookSecrets(***)"

    @classmethod
    def at(cls, path: Path) -> WebhookSecrets:
        """The secrets of the server key in ``path``, made (mode 0600) when missing."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            staged = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
            staged.touch(mode=0o600)
            staged.write_text(secrets.token_hex(32), encoding="utf-8")
            staged.replace(path)
        return cls(path.read_text(encoding="utf-8").strip().encode())

    def secret_for(self, webhook_id: str) -> str:
        """The signing secret of webhook ``webhook_id``."""
        return "whsec_" + hmac.new(self._key, webhook_id.encode(), hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Timepoint-Signature`` value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: str,
    body: bytes,
    header: str,
    *,
    now: float | None = None,
    window_s: float = REPLAY_WINDOW_S,
) -> bool:
    """Whether ``header`` signs ``body`` under ``secret`` within the replay window."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > window_s:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), header)


def event_of(row: Row) -> str | None:
    """The webhook event of finished work, or None for work no event covers."""
    kind, status = row["kind"], row["status"]
    if kind in ("run", "branch") and status in ("completed", "failed"):
        return "run.finished" if status == "completed" else "run.failed"
    if kind == "batch" and status in ("completed", "failed", "cancelled"):
        return "batch.finished"
    return None


def event_data(row: Row) -> dict[str, Any]:
    """What an event says about the work: id, kind, status, run, cost, error, run ids."""
    result = row.get("result_json") or {}
    return {
        "id": row["work_id"],
        "kind": row["kind"],
        "status": row["status"],
        "run_id": row.get("run_id"),
        "run_ids": result.get("run_ids"),
        "cost_usd": row.get("cost_usd") or 0.0,
        "error": row.get("error"),
    }


def body_for(style: str, delivery_id: str, event: str, data: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of ``event`` in a webhook's style."""
    if style == "json":
        created = datetime.now(UTC).isoformat()
        return {"id": delivery_id, "event": event, "created": created, "data": data}
    what = f"Timepoint {event}: {data['kind']} {data['id']} is {data['status']}"
    if data.get("run_id"):
        what += f" (run {data['run_id']})"
    what += f", {data.get('cost_usd') or 0:.4f} USD"
    if data.get("error"):
        what += f"; error: {data['error']}"
    return {"text": what} if style == "slack" else {"content": what}


class Dispatcher:
    """Posts events to the webhooks that want them, on background threads.

    Args:
        store: where API-registered webhooks are read and every attempt is logged.
        configured: webhooks of the YAML file.
        secrets: the signing secrets of API-registered webhooks (without it, only the
            configured webhooks are served).
        attempts: tries per delivery; waits between them start at ``backoff_s`` and double.
        timeout_s: seconds to wait for each answer.
        client: the HTTP client (tests may pass one with a transport).
    """

    def __init__(
        self,
        store: Store,
        configured: list[Webhook] = (),  # type: ignore[assignment]
        *,
        secrets: WebhookSecrets | None = None,
        attempts: int = 4,
        backoff_s: float = 1.0,
        timeout_s: float = 5.0,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.store = store
        self.configured = list(configured)
        self.secrets = secrets
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.client = client or httpx.Client(timeout=timeout_s, follow_redirects=False)
        self.sleep = sleep
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook")

    def hooks_for(self, event: str, key_id: str) -> list[Webhook]:
        """The webhooks that want ``event`` of ``key_id``'s work."""
        stored = []
        if self.secrets is not None:
            for row in self.store.webhooks(key_id):
                secret = SecretStr(self.secrets.secret_for(row["webhook_id"]))
                stored.append(
                    Webhook(
                        name=row["webhook_id"],
                        url=row["url"],
                        events=row["events_json"],
                        style=row["style"],
                        min_move=row["min_move"] or 0.1,
                        secret=secret,
                        key_id=row["key_id"],
                    )
                )
        return [
            hook
            for hook in (*self.configured, *stored)
            if event in hook.events and hook.key_id in (None, key_id)
        ]

    def notify(self, what: str, row: Row) -> None:
        """Send the event of work ``row``: ``batch.budget_80``, ``forecast.moved`` (``row``
        then carries ``moved``, ``previous`` and ``forecast``), or that of finished work (the
        worker's ``notify``)."""
        if what == "forecast.moved":
            data = {**event_data(row), **{k: row[k] for k in ("moved", "previous", "forecast")}}
            self.emit(what, row["key_id"], data, moved=row["moved"])
            return
        event = what if what == "batch.budget_80" else event_of(row)
        if event is not None:
            self.emit(event, row["key_id"], event_data(row))

    def emit(
        self, event: str, key_id: str, data: dict[str, Any], *, moved: float | None = None
    ) -> list[Any]:
        """Queue ``event`` for every webhook that wants it (for ``forecast.moved``, those whose
        ``min_move`` the change ``moved`` reaches); returns the futures."""
        try:
            hooks = self.hooks_for(event, key_id)
        except StoreError:
            return []
        if moved is not None:
            hooks = [hook for hook in hooks if moved >= hook.min_move]
        return [self._pool.submit(self.deliver, hook, event, data) for hook in hooks]

    def deliver(self, hook: Webhook, event: str, data: dict[str, Any]) -> bool:
        """Post one event to one webhook, retrying; True when it was delivered."""
        delivery_id = f"dl-{secrets.token_hex(8)}"
        body = json.dumps(body_for(hook.style, delivery_id, event, data)).encode()
        wait = self.backoff_s
        for attempt in range(1, self.attempts + 1):
            headers = {
                "Content-Type": "application/json",
                HEADER: sign(hook.secret.get_secret_value(), body, int(time.time())),
                "X-Timepoint-Event": event,
                "X-Timepoint-Delivery": delivery_id,
            }
            started = time.perf_counter()
            status: int | None = None
            error: str | None = None
            try:
                status = self.client.post(hook.url, content=body, headers=headers).status_code
                if not 200 <= status < 300:
                    error = f"answered {status}"
            except httpx.HTTPError as failure:
                error = f"{type(failure).__name__}: {failure}"
            last = attempt == self.attempts
            outcome = "delivered" if error is None else ("gave_up" if last else "failed")
            self._log(delivery_id, attempt, hook, event, outcome, status, error, started)
            if error is None:
                return True
            if not last:
                self.sleep(wait)
                wait *= 2
        return False

    def _log(
        self,
        delivery_id: str,
        attempt: int,
        hook: Webhook,
        event: str,
        outcome: str,
        status: int | None,
        error: str | None,
        started: float,
    ) -> None:
        with contextlib.suppress(StoreError):
            self.store.log_delivery(
                delivery_id=delivery_id,
                attempt=attempt,
                webhook_id=hook.name,
                event=event,
                url=hook.url,
                status=outcome,
                http_status=status,
                error=error,
                duration_s=time.perf_counter() - started,
            )

    def close(self) -> None:
        """Wait for deliveries in flight, then close the client."""
        self._pool.shutdown(wait=True)
        self.client.close()
