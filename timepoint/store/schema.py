"""The run store's tables, declared once as data and built as SQLAlchemy tables in one MetaData.

Every column has a neutral type (``text``, ``int``, ``float``, ``bool``, ``time``, ``json``), a
one-line meaning (``docs/schema.md`` documents the same columns; a test keeps the two in step),
the schema version that introduced it, and a ``pii`` tag that tells exports what to anonymize:

- ``id`` / ``ids`` / ``source``: an entity id, a JSON list of entity ids, an exposure source;
- ``name``: an entity's display name;
- ``text``: free text, dropped when an export drops free text.

When anonymizing, every other string (ids of facts and timelines included) is scrubbed of entity
names and ids too, so a name quoted anywhere does not survive.

Child tables of a run are keyed by ``(run_id, seq)``, ``seq`` being the row's position in the
run record, so the store never refuses a record whose natural ids repeat.

:data:`METADATA` holds the SQLAlchemy :class:`~sqlalchemy.Table` of every table (``RUNS.sql``
is that of ``runs``); :func:`metadata_at` builds the tables as they were at an earlier schema
version, which is what the Alembic migrations of versions 1 to 3 create.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from timepoint.store.types import JSONText, UTCDateTime

#: The schema version this code writes (the number of the newest Alembic revision).
SCHEMA_VERSION = 6

#: Neutral types and the SQLAlchemy types they are stored as.
COLUMN_TYPES: dict[str, Callable[[], sa.types.TypeEngine[Any]]] = {
    "text": sa.Text,
    "int": lambda: sa.BigInteger().with_variant(sqlite.INTEGER(), "sqlite"),
    "float": lambda: sa.Double().with_variant(sqlite.REAL(), "sqlite"),
    "bool": sa.Boolean,
    "time": UTCDateTime,
    "json": JSONText,
}


@dataclass(frozen=True)
class Column:
    """One column: name, neutral type, meaning, primary-key membership and anonymization tag."""

    name: str
    type: str
    doc: str
    key: bool = False
    pii: str | None = None
    since: int = 1


@dataclass(frozen=True)
class Table:
    """One table: its columns in order, a description and the version that introduced it."""

    name: str
    doc: str
    columns: tuple[Column, ...]
    indexes: tuple[tuple[str, ...], ...] = ()
    since: int = 1

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def key(self) -> list[str]:
        return [c.name for c in self.columns if c.key]

    @property
    def has_run_id(self) -> bool:
        return "run_id" in self.column_names

    @property
    def child_of_run(self) -> bool:
        """Rows belong to one run and are replaced whenever that run is saved."""
        return self.key[:2] == ["run_id", "seq"]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def sql(self) -> sa.Table:
        """The SQLAlchemy table (of :data:`METADATA`)."""
        return METADATA.tables[self.name]

    def index_name(self, columns: tuple[str, ...]) -> str:
        return f"ix_{self.name}_{'_'.join(columns)}"


def _run_child(name: str, doc: str, *columns: Column, indexes: tuple = (), since: int = 1) -> Table:
    head = (
        Column("run_id", "text", "The run this row belongs to (`runs.run_id`).", key=True),
        Column("seq", "int", "Position of the row within the run record.", key=True),
    )
    return Table(name, doc, head + columns, indexes=indexes, since=since)


C = Column

RUNS = Table(
    "runs",
    "One row per run: identity, outcome, size and cost, plus the full record as JSON.",
    (
        C("run_id", "text", "Run id (time plus a short hash), new for every execution.", key=True),
        C("scenario_id", "text", "Id of the scenario that was run."),
        C("title", "text", "Scenario title.", pii="text"),
        C("description", "text", "Scenario description.", pii="text"),
        C("mode", "text", "Temporal mode: pearl, directorial, nonlinear, branching, cyclical..."),
        C("config_hash", "text", "sha256 of the canonical resolved scenario."),
        C("seed", "int", "Seed of the run."),
        C("status", "text", "`running`, `completed` or `failed`."),
        C("failed_step", "text", "Pipeline step at which a failed run stopped."),
        C("error", "text", "Error message of a failed run.", pii="text"),
        C("started", "time", "When the run started (UTC)."),
        C("finished", "time", "When the run finished (UTC); empty while running."),
        C("duration_s", "float", "Wall-clock duration in seconds."),
        C("entities", "int", "Number of entities in the record."),
        C("timepoints", "int", "Number of timepoints in the record (all timelines)."),
        C("llm_calls", "int", "Language-model calls made (the meter's count)."),
        C("tokens_in", "int", "Prompt tokens over all calls."),
        C("tokens_out", "int", "Completion tokens over all calls."),
        C("cost_usd", "float", "Cost of all calls in USD."),
        C("provider", "text", "Provider label of the model, e.g. `offline`."),
        C("saved", "time", "When the store last wrote this run (UTC)."),
        C("record_json", "json", "The full run record; `load_run` rebuilds the run from it."),
    ),
    indexes=(("started",), ("scenario_id",)),
)

ENTITIES = _run_child(
    "entities",
    "One row per entity of a run, with its final state flattened.",
    C("entity_id", "text", "Stable entity id from the scenario, e.g. `madison`.", pii="id"),
    C("name", "text", "Display name.", pii="name"),
    C("kind", "text", "human, animal, building, object, abstract, institution, ai, kami, any."),
    C("role", "text", "primary, secondary, background or environment."),
    C("resolution", "text", "Final resolution level (tensor_only ... trained)."),
    C("description", "text", "Description of the entity.", pii="text"),
    C("voice", "text", "Voice notes used in dialog prompts.", pii="text"),
    C("profile_source", "text", "`generated` or `profile:<file>`."),
    C("on_demand", "bool", "Created on demand (M9) rather than from the scenario."),
    C("centrality", "float", "Eigenvector centrality in the relationship graph (M1)."),
    C("query_count", "int", "Questions that touched the entity (M2)."),
    C("training_iterations", "int", "Progressive-training passes (M2)."),
    C("age", "float", "Physical state: age in years."),
    C("health", "float", "Physical state: health 0..1."),
    C("pain", "float", "Physical state: pain 0..1."),
    C("fever", "float", "Physical state: fever 0..1."),
    C("stamina", "float", "Physical state: stamina 0..1."),
    C("mobility", "float", "Physical state: mobility 0..1."),
    C("valence", "float", "Cognitive state: valence -1..1."),
    C("arousal", "float", "Cognitive state: arousal 0..1."),
    C("energy", "float", "Cognitive state: energy 0..100."),
    C("confidence", "float", "Cognitive state: confidence 0..1."),
    C("risk_tolerance", "float", "Cognitive state: risk tolerance 0..1."),
    C("patience", "float", "Cognitive state: patience 0..1."),
    C("social_engagement", "float", "Cognitive state: social engagement 0..1."),
    C("traits_json", "json", "Personality traits, name -> value in [-1, 1]."),
    C("goals_json", "json", "Goals (list of text).", pii="text"),
    C("constraints_json", "json", "Constraints (list of text).", pii="text"),
)

TIMEPOINTS = _run_child(
    "timepoints",
    "One row per timepoint of any timeline of a run.",
    C("timepoint_id", "text", "Stable timepoint id, e.g. `tp_003`."),
    C("timeline_id", "text", "Timeline the timepoint was generated on."),
    C("timestamp", "time", "Moment of the timepoint (UTC)."),
    C("event", "text", "Event description.", pii="text"),
    C("causal_parent", "text", "Timepoint that caused this one; empty for a root."),
    C("parent_timepoint", "text", "Timepoint this one expands (vertical expansion, M8)."),
    C("phase", "text", "Phase of a sub-moment: arrival, opening, debate, decision..."),
    C("importance", "float", "Importance 0..1."),
    C("resolution", "text", "Resolution level of the timepoint."),
    C("location", "text", "Where it happens.", pii="text"),
    C("presentation_position", "int", "Position in presentation order (nonlinear mode)."),
    C("entities_present", "json", "Ids of the entities present.", pii="ids"),
    C("key_facts", "json", "Fact ids central to the timepoint."),
)

TIMELINES = _run_child(
    "timelines",
    "One row per timeline (main, branches, portal paths) with its path score when ranked.",
    C("timeline_id", "text", "Timeline id; `main` for the main timeline."),
    C("parent_timeline", "text", "Timeline this one branches from."),
    C("branch_point", "text", "Timepoint at which it branches."),
    C("intervention", "text", "Counterfactual intervention of a branch.", pii="text"),
    C("mode", "text", "Temporal mode that produced it."),
    C("label", "text", "Short label."),
    C("score", "float", "Timeline score, when the mode scores timelines."),
    C("timepoint_ids", "json", "Ordered timepoint ids, in causal order."),
    C("length", "int", "Number of timepoints on the timeline."),
    C("path_rank", "int", "Rank among scored paths (1 = best), when ranked."),
    C("path_score", "float", "Path score from the run's path table."),
    C("pivots", "json", "Pivot timepoint ids of the path."),
    C("path_warning", "text", "Warning attached to a kept low-coherence path.", pii="text"),
)

EXPOSURES = _run_child(
    "exposures",
    "Exposure events (M3): who came to know which fact, when, how and from whom.",
    C("entity_id", "text", "Entity that learned the fact.", pii="id"),
    C("kind", "text", "initial, witnessed, experienced, told, learned or inferred."),
    C("fact_id", "text", "Stable fact id."),
    C("fact_text", "text", "The fact.", pii="text"),
    C("source", "text", "Entity id, `scenario`, `timepoint:<id>` or `elevation`.", pii="source"),
    C("timepoint_id", "text", "Timepoint of the exposure."),
    C("timestamp", "time", "Moment of the exposure (UTC)."),
    C("confidence", "float", "Confidence 0..1."),
    indexes=(("fact_id",),),
)

DIALOGS = _run_child(
    "dialogs",
    "Dialogs (M11), one row per turn; a dialog without turns has one row with an empty turn.",
    C("dialog_id", "text", "Dialog id."),
    C("timepoint_id", "text", "Timepoint of the dialog."),
    C("participants", "json", "Ids of the participants.", pii="ids"),
    C("turn", "int", "Turn number within the dialog, from 0."),
    C("speaker", "text", "Entity id of the speaker.", pii="id"),
    C("text", "text", "What was said.", pii="text"),
    C("tone", "text", "Emotional tone."),
    C("knowledge_refs", "json", "Fact ids the speaker used."),
    C("physical_influence", "text", "How physical state shaped the turn.", pii="text"),
    C("flagged", "bool", "A validator flagged the turn."),
    C("repaired", "int", "Turns of the dialog repaired after validation."),
)

RELATIONSHIPS = _run_child(
    "relationships",
    "Relationship metrics (M13) per entity pair per timepoint.",
    C("a", "text", "First entity id of the pair (a < b).", pii="id"),
    C("b", "text", "Second entity id of the pair.", pii="id"),
    C("timepoint_id", "text", "Timepoint of the measurement."),
    C("trust", "float", "Trust -1..1."),
    C("affinity", "float", "Affinity -1..1."),
    C("alignment", "float", "Belief alignment -1..1."),
    C("power_balance", "float", "Power balance -1..1."),
    C("interactions", "int", "Interaction count."),
    C("shared_facts", "json", "Fact ids both know."),
)

VALIDATIONS = _run_child(
    "validations",
    "Validator results (M4), one row per check that reported.",
    C("validator", "text", "Validator name."),
    C("target", "text", "What was checked (a dialog, state change...)."),
    C("ok", "bool", "The check passed."),
    C("message", "text", "Finding of the validator.", pii="text"),
    C("entity_id", "text", "Entity concerned.", pii="id"),
    C("timepoint_id", "text", "Timepoint concerned."),
    C("fact_id", "text", "Fact concerned."),
    C("repaired", "bool", "The violation was repaired."),
)

MECHANISM_LEDGER = _run_child(
    "mechanism_ledger",
    "Evidence that a mechanism had an effect: one row per ledger entry.",
    C("mechanism", "text", "Mechanism id, e.g. `M3`."),
    C("summary", "text", "What it did.", pii="text"),
    C("counts_json", "json", 'Named counts, e.g. {"exposures": 142}.'),
)

LLM_CALLS = _run_child(
    "llm_calls",
    "Every provider attempt of a run as the meter saw it (retries and re-asks included).",
    C("call_seq", "int", "Sequence number assigned by the meter."),
    C("action", "text", "Action type of the call."),
    C("model", "text", "Model id."),
    C("provider", "text", "Provider label."),
    C("prompt_tokens", "int", "Prompt tokens."),
    C("completion_tokens", "int", "Completion tokens."),
    C("cost_usd", "float", "Cost in USD."),
    C("latency_ms", "float", "Latency in milliseconds."),
    C("outcome", "text", "ok, cache_hit, invalid, error or refused."),
    C("error", "text", "Error message of a failed attempt.", pii="text"),
    C("started_at", "float", "Start of the call, seconds since the epoch."),
    C("on_demand", "bool", "Made to answer a question after generation (M5)."),
    C("subject", "text", "What the call was for: a timepoint, dialog or question.", since=5),
)

LLM_CALL_TEXTS = _run_child(
    "llm_call_texts",
    "The prompt and answer of each call, redacted and capped at 64 KB each; none before v5.",
    C("call_seq", "int", "The call (`llm_calls.call_seq`)."),
    C("prompt", "text", "The messages sent, a `[role]` line before each.", pii="text"),
    C("response", "text", "The text answered (JSON when asked for); empty if none.", pii="text"),
    since=5,
)

BATCHES = Table(
    "batches",
    "One row per batch.",
    (
        C("batch_id", "text", "Batch id.", key=True),
        C("spec_json", "json", "The batch definition (grid, backend, budget...)."),
        C("status", "text", "running, completed, failed or cancelled."),
        C("created", "time", "When the batch was created (UTC)."),
        C("updated", "time", "Last change (UTC)."),
        C("lease_owner", "text", "Token of the driver running the batch; empty if none.", since=2),
        C("lease_host", "text", "Host name of that driver.", since=2),
        C("lease_pid", "int", "Process id of that driver.", since=2),
        C("lease_expires", "time", "When the driver's lease runs out unless renewed.", since=2),
    ),
)

BATCH_JOBS = Table(
    "batch_jobs",
    "One row per job of a batch; job ids are deterministic so a batch can resume.",
    (
        C("batch_id", "text", "Batch the job belongs to.", key=True),
        C("job_id", "text", "Deterministic job id (config hash, seed, replicate).", key=True),
        C("spec_json", "json", "The job's spec (scenario, overrides, seed, replicate)."),
        C(
            "status",
            "text",
            "pending, running, completed, failed, skipped, cancelled or abandoned.",
        ),
        C("run_id", "text", "Run produced by the job."),
        C("cost_usd", "float", "Cost of the job in USD."),
        C("tokens", "int", "Tokens used by the job."),
        C("duration_s", "float", "Duration of the job in seconds."),
        C("error_class", "text", "Class of the error of a failed job."),
        C("step", "text", "Step at which a failed job stopped."),
        C("message", "text", "Error message of a failed job.", pii="text"),
        C("retries", "int", "Retries made."),
        C("updated", "time", "Last change (UTC)."),
        C("attempt", "int", "Number of the attempt that holds or last held the job.", since=2),
        C("lease_owner", "text", "Driver token of the attempt holding the job.", since=2),
        C("lease_expires", "time", "When that attempt's lease runs out unless renewed.", since=2),
    ),
    indexes=(("run_id",),),
)

BATCH_ATTEMPTS = Table(
    "batch_attempts",
    "Every attempt to run a batch job, with what it spent; batch totals add these up.",
    (
        C("batch_id", "text", "Batch of the job.", key=True),
        C("job_id", "text", "The job (`batch_jobs.job_id`).", key=True),
        C("attempt", "int", "Attempt number of the job, from 1, over every invocation.", key=True),
        C("lease_owner", "text", "Token of the driver the attempt ran for."),
        C("host", "text", "Host name of the worker process."),
        C("pid", "int", "Process id of the worker process."),
        C("status", "text", "running, completed, failed, lost or abandoned."),
        C("run_id", "text", "Run produced by the attempt's last simulation."),
        C(
            "cost_usd",
            "float",
            "USD spent: so far, calls in flight at worst case, while running; then in all.",
        ),
        C("tokens", "int", "Tokens used so far, then in all."),
        C("started", "time", "When the attempt started (UTC)."),
        C("updated", "time", "Last change (UTC)."),
    ),
    since=2,
)

QUESTIONS = Table(
    "questions",
    "Forecasting questions (calibration), from YAML question sets or market connectors.",
    (
        C("question_id", "text", "Question id.", key=True),
        C("question_set", "text", "Question set the question belongs to."),
        C("text", "text", "The question.", pii="text"),
        C("scenario", "text", "Scenario used to forecast it."),
        C("extractor_json", "json", "Outcome extractor: what counts as `yes` in a run."),
        C("close_date", "time", "When forecasting closes (UTC)."),
        C("open_date", "time", "When forecasting opens (UTC).", since=3),
        C("resolution_date", "time", "When the question resolves (UTC)."),
        C("resolution", "float", "1 yes, 0 no, empty while unresolved."),
        C(
            "resolution_value",
            "float",
            "The number a numeric (threshold) question resolved to; empty otherwise.",
            since=6,
        ),
        C("source", "text", "yaml, polymarket or metaculus."),
        C("source_ref", "text", "Id of the question at its source."),
        C("market_probability", "float", "Latest market probability, when a market has one."),
        C("updated", "time", "Last change (UTC)."),
    ),
)

FORECASTS = Table(
    "forecasts",
    "Probabilities made from ensembles of runs, with the runs behind them.",
    (
        C("forecast_id", "text", "Forecast id.", key=True),
        C("question_id", "text", "Question forecast (`questions.question_id`)."),
        C("made", "time", "When the forecast was made (UTC)."),
        C("probability", "float", "Forecast probability."),
        C("lower", "float", "Lower bound of the Wilson interval."),
        C("upper", "float", "Upper bound of the Wilson interval."),
        C("runs", "int", "Runs in the ensemble."),
        C("yes_runs", "int", "Runs whose outcome was `yes`."),
        C("batch_id", "text", "Batch that produced the ensemble."),
        C("run_ids_json", "json", "Ids of the runs in the ensemble."),
        C("method", "text", "Smoothing / aggregation method."),
        C("smoothed", "float", "Jeffreys-smoothed probability `(k + 0.5) / (N + 1)`.", since=3),
        C("level", "float", "Coverage of the Wilson interval (e.g. 0.9).", since=3),
        C(
            "outcomes_json",
            "json",
            "Outcome of each run: run id, yes/no, extractor, value and evidence.",
            since=3,
        ),
        C("updated", "time", "Last change (UTC)."),
    ),
    indexes=(("question_id",),),
)

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

#: Every table, parents before children.
TABLES: tuple[Table, ...] = (
    RUNS,
    ENTITIES,
    TIMEPOINTS,
    TIMELINES,
    EXPOSURES,
    DIALOGS,
    RELATIONSHIPS,
    VALIDATIONS,
    MECHANISM_LEDGER,
    LLM_CALLS,
    LLM_CALL_TEXTS,
    BATCHES,
    BATCH_JOBS,
    BATCH_ATTEMPTS,
    QUESTIONS,
    FORECASTS,
    API_KEYS,
    SERVICE_WORK,
    SERVICE_RUNS,
    WEBHOOKS,
    WEBHOOK_DELIVERIES,
    RATE_BUCKETS,
)

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}

#: One row per schema version applied, kept so that Timepoint releases from before Alembic see
#: the version of a store (and refuse a newer one) instead of migrating it again.
VERSIONS = Table(
    "schema_version",
    "One row per schema version applied.",
    (
        C("version", "int", "Schema version.", key=True),
        C("applied", "time", "When it was applied (UTC)."),
        C("description", "text", "What the migration did."),
    ),
)

#: Tables whose rows are replaced when a run is saved, children first.
RUN_CHILDREN: tuple[Table, ...] = tuple(t for t in TABLES if t.child_of_run)


def _references(table: Table, column: Column) -> tuple[sa.ForeignKey, ...]:
    if column.name == "run_id" and table.child_of_run:
        return (sa.ForeignKey("runs.run_id", ondelete="CASCADE"),)
    if column.name == "batch_id" and table.name in ("batch_jobs", "batch_attempts"):
        return (sa.ForeignKey("batches.batch_id", ondelete="CASCADE"),)
    return ()


def sql_column(table: Table, column: Column) -> sa.Column[Any]:
    """A new SQLAlchemy column for ``column`` of ``table`` (keys, references, type, doc)."""
    return sa.Column(
        column.name,
        COLUMN_TYPES[column.type](),
        *_references(table, column),
        primary_key=column.key,
        autoincrement=False,
        doc=column.doc,
        info={"pii": column.pii, "since": column.since},
    )


def metadata_at(version: int) -> sa.MetaData:
    """The tables, columns and indexes of schema version ``version``."""
    metadata = sa.MetaData()
    for table in (*TABLES, VERSIONS):
        if table.since <= version:
            built = sa.Table(
                table.name,
                metadata,
                *(sql_column(table, c) for c in table.columns if c.since <= version),
                info={"doc": table.doc, "since": table.since},
            )
            for index in table.indexes:
                sa.Index(table.index_name(index), *(built.c[n] for n in index))
    return metadata


#: Every table of the current schema as SQLAlchemy tables.
METADATA = metadata_at(SCHEMA_VERSION)
