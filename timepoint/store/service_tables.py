"""The tables of the REST API and the MCP server: keys, queued work, owned runs, webhooks and
their deliveries, and request buckets."""

from __future__ import annotations

from timepoint.store.table_spec import Column, Table

C = Column

API_KEYS = Table(
    "api_keys",
    "Keys of the REST API and the MCP server; only a hash of each secret is kept.",
    (
        C("key_id", "text", "Public part of the key (`tp_<key_id>_...`).", key=True),
        C("name", "text", "Name given at creation."),
        C("secret_hash", "text", "SHA-256 of the whole key, hex; the key itself is never stored."),
        C("created", "time", "When the key was created (UTC)."),
        C("revoked", "time", "When the key was revoked (UTC); empty while it is valid."),
        C("rate_per_minute", "int", "Requests allowed per minute; empty for the default."),
        C("monthly_runs", "int", "Runs allowed per calendar month (UTC); empty for no limit."),
        C("monthly_usd", "float", "USD allowed per calendar month (UTC); empty for no limit."),
    ),
    since=4,
)

SERVICE_WORK = Table(
    "service_work",
    "Work asked of the REST API or the MCP server: queued here, done by a service worker.",
    (
        C(
            "work_id",
            "text",
            "Work id; also the id of the batch that executes a run or batch.",
            key=True,
        ),
        C("key_id", "text", "Key that asked for it (`api_keys.key_id`)."),
        C("kind", "text", "run, batch, ask or branch."),
        C("request_json", "json", "The request as received (scenario, overrides, seed...)."),
        C("status", "text", "queued, running, completed, failed or cancelled."),
        C("cancel", "bool", "Cancellation was asked for."),
        C("run_id", "text", "Run asked of (ask, branch) or produced (run, branch)."),
        C("jobs", "int", "Simulations the work runs (1 for a run, the grid size for a batch)."),
        C("result_json", "json", "What the work produced (answer, run ids, batch summary)."),
        C("error", "text", "Why the work failed.", pii="text"),
        C("cost_usd", "float", "USD the work spent."),
        C("created", "time", "When the work was asked for (UTC)."),
        C("updated", "time", "Last change (UTC)."),
        C("worker", "text", "Token of the worker holding the work; empty if none."),
        C("lease_expires", "time", "When that worker's hold runs out unless renewed."),
    ),
    indexes=(("key_id",), ("status",)),
    since=4,
)

SERVICE_RUNS = Table(
    "service_runs",
    "Which key owns which run: a key sees only its own runs.",
    (
        C("run_id", "text", "The run (`runs.run_id`).", key=True),
        C("key_id", "text", "Key that owns it."),
        C("work_id", "text", "Work that produced it."),
        C("created", "time", "When it was recorded (UTC)."),
    ),
    indexes=(("key_id",),),
    since=4,
)

WEBHOOKS = Table(
    "webhooks",
    "Webhooks registered through the API; their signing secrets are derived, never stored.",
    (
        C("webhook_id", "text", "Webhook id.", key=True),
        C("key_id", "text", "Key that registered it; its events only."),
        C("url", "text", "Where events are posted."),
        C("events_json", "json", "Events that trigger it."),
        C("style", "text", "Body style: json, slack or discord."),
        C("min_move", "float", "forecast.moved: the least change of probability told."),
        C("created", "time", "When it was registered (UTC)."),
        C("disabled", "time", "When it was deleted (UTC); empty while active."),
    ),
    since=4,
)

WEBHOOK_DELIVERIES = Table(
    "webhook_deliveries",
    "Every attempt to deliver a webhook event.",
    (
        C(
            "delivery_id",
            "text",
            "Id of the event delivery (the same over its attempts).",
            key=True,
        ),
        C("attempt", "int", "Attempt number, from 1.", key=True),
        C("webhook_id", "text", "Webhook (or YAML webhook name) delivered to."),
        C("event", "text", "Event type, e.g. run.finished."),
        C("url", "text", "Where it was posted."),
        C("status", "text", "delivered, failed (will retry) or gave_up."),
        C("http_status", "int", "HTTP status of the answer; empty when none came."),
        C("error", "text", "Why the attempt failed."),
        C("duration_s", "float", "Seconds the attempt took."),
        C("created", "time", "When the attempt was made (UTC)."),
    ),
    indexes=(("webhook_id",),),
    since=4,
)

RATE_BUCKETS = Table(
    "rate_buckets",
    "Per-key request buckets of the REST API, shared by every server on the store.",
    (
        C("key_id", "text", "Key the bucket belongs to.", key=True),
        C("tokens", "float", "Requests the key may still make at once."),
        C("updated", "float", "When the bucket was last refilled, seconds since the epoch."),
    ),
    since=5,
)
