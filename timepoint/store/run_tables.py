"""The tables of a run: ``runs``, one row per run, and its child tables, down to every LLM call.

Child tables of a run are keyed by ``(run_id, seq)``, ``seq`` being the row's position in the
run record, so the store never refuses a record whose natural ids repeat.
"""

from __future__ import annotations

from timepoint.store.table_spec import Column, Table


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
