"""Lazy resolution (M5): answer a question about a stored run, raising detail only where needed.

``run.ask("What did Madison know before the dinner, and from whom?")``:

1. :func:`parse_question` finds the entities (and numbered crowd members the run lacks, M9),
   the timepoint (``None`` = before the first one) and the kind of question.
2. Entities referenced are queried (M2 query counts; a crossed threshold elevates them) and the
   target's (entity, timepoint) cell is raised to the resolution the kind needs, with an
   enrichment pass that records what it learned (``learned`` exposures, source ``elevation``).
3. The answer is composed from the knowledge valid at that time, each cited fact with its
   provenance, and stored in ``RunRecord.answers`` with the elevations and tokens it cost. All
   calls are marked on-demand, so ``usage.on_demand_tokens`` separates them from generation.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from timepoint.synthesis.on_demand import unknown_references
from timepoint.world import Entity, Timepoint
from timepoint.world.ledger import Ledger
from timepoint.world.record import ActionUsage, Answer, LedgerEntry, RunRecord, UsageSummary

if TYPE_CHECKING:
    from timepoint.engine.run import Run
    from timepoint.llm.base import CallRecord, LanguageModel

_KIND_PATTERNS: tuple[tuple[str, str], ...] = (
    ("who_knew", r"^\s*who\s+(knew|knows|had heard|was aware|learned)"),
    ("provenance", r"from whom|who told|how did .*(learn|know|find out|hear)|\bsources?\b"),
    ("relationship", r"relationship|\btrust|get along|\bbetween\b"),
    ("feeling", r"\b(feel|felt|feeling|mood|emotion|afraid|angry|anxious|happy)\b"),
    ("said", r"\b(say|said|speak|spoke|argue|argued|propose|proposed)\b"),
    ("witnessed", r"\b(see|saw|seen|witness|witnessed|notice|noticed|observe|observed)\b"),
    ("knowledge", r"\b(know|knew|aware|believe|believed|learn|learned|understand)\b"),
)
_ORDINALS = {
    "first": 0,
    "second": 1,
    "third": 2,
    "fourth": 3,
    "fifth": 4,
    "sixth": 5,
    "seventh": 6,
    "eighth": 7,
    "ninth": 8,
    "tenth": 9,
}
_WORDS = re.compile(r"[a-z0-9']+")
_COMMON_TEXT = (
    "what who whom did does do was were the a an and or of to in at on by from with "
    "before after know knew how when why that this there their they his her it is be "
    "been about"
)
_COMMON = frozenset(_COMMON_TEXT.split())


@dataclass
class Question:
    """A parsed question. ``timepoint_id`` None means before the first timepoint."""

    text: str
    kind: str
    entity_ids: list[str]
    new_entities: list[str]
    timepoint_id: str | None
    explicit_time: bool
    words: set[str] = field(default_factory=set)


_TITLES = frozenset({"the", "mr", "mrs", "ms", "dr", "sir", "jr", "sr", "von", "van", "de", "of"})


def _names(entity: Entity) -> list[str]:
    """Handles a question may use for ``entity``: id, full name, and each name word."""
    words = _WORDS.findall(entity.name.lower().replace(".", ""))
    tokens = [t for t in words if len(t) > 2 and not t.isdigit() and t not in _TITLES]
    return [entity.id, entity.id.replace("_", " "), entity.name.lower(), *tokens]


def find_entities(text: str, entities: Mapping[str, Entity]) -> list[str]:
    """Entities named in ``text`` (id, full name, or a name word no other entity shares).

    Returned in order of first mention.
    """
    lowered = text.lower()
    owners: dict[str, set[str]] = {}
    for entity in entities.values():
        for handle in _names(entity):
            owners.setdefault(handle, set()).add(entity.id)
    positions: dict[str, int] = {}
    for handle, ids in owners.items():
        if len(ids) != 1:
            continue
        match = re.search(rf"(?<![a-z0-9_]){re.escape(handle)}(?![a-z0-9_])", lowered)
        if match:
            (entity_id,) = ids
            positions[entity_id] = min(positions.get(entity_id, match.start()), match.start())
    return sorted(positions, key=lambda e: positions[e])


def find_timepoint(text: str, order: Sequence[Timepoint]) -> tuple[str | None, bool]:
    """The timepoint a question is about and whether it was named; None = before the start."""
    lowered = text.lower()
    main = [t for t in order if t.parent_timepoint is None]
    if not main:
        return None, False
    target: Timepoint | None = None
    for tp in order:
        if re.search(rf"(?<![a-z0-9_]){re.escape(tp.id)}(?![a-z0-9_])", lowered):
            target = tp
    if target is None:
        phased = [t for t in order if t.phase and re.search(rf"\b{t.phase}\b", lowered)]
        number = re.search(r"\b(?:timepoint|moment|step|scene)\s*#?(\d+)\b", lowered)
        ordinal = re.search(r"\b(" + "|".join(_ORDINALS) + r"|last|final)\b", lowered)
        if phased:
            target = phased[0]
        elif number and 1 <= int(number.group(1)) <= len(main):
            target = main[int(number.group(1)) - 1]
        elif ordinal:
            word = ordinal.group(1)
            index = len(main) - 1 if word in ("last", "final") else _ORDINALS[word]
            target = main[min(index, len(main) - 1)]
    if re.search(r"\bbefore\b", lowered):
        if target is None:
            return None, True
        path = [t for t in order if t.parent_timepoint is None or t is target]
        index = path.index(target)
        return (path[index - 1].id if index else None), True
    if target is not None:
        if re.search(r"\bafter\b", lowered) and target in main and target is not main[-1]:
            return main[main.index(target) + 1].id, True
        return target.id, True
    if re.search(r"\b(start|beginning|outset|opening)\b", lowered):
        return main[0].id, True
    return main[-1].id, bool(re.search(r"\b(end|after|finally|last)\b", lowered))


def question_kind(text: str) -> str:
    """One of the keys of :data:`NEEDED`."""
    lowered = text.lower()
    for kind, pattern in _KIND_PATTERNS:
        if re.search(pattern, lowered):
            return kind
    return "general"


def parse_question(
    text: str, entities: Mapping[str, Entity], order: Sequence[Timepoint]
) -> Question:
    """Target entities, unknown crowd members, timepoint and kind of ``text``."""
    known = find_entities(text, entities)
    timepoint_id, explicit = find_timepoint(text, order)
    skip = set(entities) | {t.id for t in order}
    return Question(
        text=text,
        kind=question_kind(text),
        entity_ids=known,
        new_entities=unknown_references(text, skip),
        timepoint_id=timepoint_id,
        explicit_time=explicit,
        words={w for w in _WORDS.findall(text.lower()) if w not in _COMMON and len(w) > 2},
    )


def ask(run: Run, question: str, *, model: LanguageModel | None = None) -> Answer:
    """Answer ``question`` about ``run``; update its record (``run.record``), folder and store.

    Questions asked of one run at the same time (threads or processes) take turns: each holds
    the run's writer lock and starts from the latest stored record, so no update is lost.

    Args:
        run: a run from :func:`timepoint.run` or :func:`timepoint.load_run`.
        question: free text, e.g. "What did attendee_47 see at the second timepoint?".
        model: the provider for the on-demand calls (default: what the settings imply).

    Raises:
        KnowledgeQueryError: the question names no entity the kind of question needs.
    """
    from timepoint.engine.locks import run_lock
    from timepoint.settings import Settings

    settings = run.settings or Settings.from_env()
    with run_lock(Path(settings.home), run.record.run_id):
        _refresh(run)
        return _answer(run, question, model)


def _refresh(run: Run) -> None:
    """Replace ``run.record`` with the stored one when another writer has updated it."""
    latest = None
    if run.store is not None:
        latest = run.store.load_run(run.record.run_id)
    elif run.folder is not None and (Path(run.folder) / "run.json").is_file():
        latest = type(run.record).model_validate_json((Path(run.folder) / "run.json").read_text())
    if latest is not None and latest != run.record:
        run.record = latest
        run.__dict__.pop("_provenance", None)


def _answer(run: Run, question: str, model: LanguageModel | None) -> Answer:
    import copy

    from timepoint.engine.restore import RestoreError, restore_state, scenario_of, timeline_order
    from timepoint.engine.runner import scenario_gateway
    from timepoint.fidelity.token_budget import BudgetedGateway, TokenBudget
    from timepoint.fidelity.training import TrainingPolicy
    from timepoint.kernel.context import RunContext
    from timepoint.knowledge.answering import answer_question
    from timepoint.knowledge.provenance import KnowledgeQueryError
    from timepoint.llm.usage import summarize_calls
    from timepoint.settings import Settings

    record = run.record
    try:
        scenario = scenario_of(run)
    except RestoreError:
        from timepoint.scenario.schema import Scenario

        scenario = Scenario(
            id=record.scenario_id, title=record.title, description=record.description or "-"
        )
    state = restore_state(record, scenario)
    parsed = parse_question(question, state.entities, timeline_order(record))
    if not parsed.entity_ids and not parsed.new_entities and parsed.kind != "who_knew":
        known = ", ".join(sorted(state.entities))
        raise KnowledgeQueryError(
            f"the question {question!r} names no entity of run {record.run_id}; name one of "
            f"{known} (or a crowd member such as attendee_47)"
        )
    settings = run.settings or Settings.from_env()
    gateway = scenario_gateway(settings, scenario, model, seed=record.seed, spent=record.usage)
    spent = record.usage.prompt_tokens + record.usage.completion_tokens
    token_budget = TokenBudget.from_scenario(scenario, spent=spent)
    asking = BudgetedGateway(gateway, token_budget) if token_budget is not None else gateway
    ctx = RunContext(gateway=asking, seed=record.seed, home=Path(settings.home), store=run.store)
    tensors = copy.deepcopy(record.extras.get("tensors")) or None
    policy = TrainingPolicy.from_settings(scenario.mechanisms.settings.get("m2", {}))
    result = answer_question(ctx, state, parsed, policy=policy, tensors=tensors)
    calls = gateway.calls()
    assert result.answer is not None
    extras = dict(record.extras)
    if tensors:
        extras["tensors"] = tensors
    if result.elevations:
        extras["training"] = [
            *extras.get("training", []),
            *(e.model_dump(mode="json") for e in result.elevations),
        ]
    order = {t.id: n for n, t in enumerate(record.timepoints)}
    updated = record.model_copy(
        update={
            "entities": list(state.entities.values()),
            "timepoints": sorted(state.timepoints.values(), key=lambda t: order.get(t.id, 0)),
            "exposures": state.exposures.events,
            "fidelity": list(state.fidelity.values()),
            "scenes": list(state.scenes),
            "answers": [*record.answers, result.answer],
            "usage": add_usage(record.usage, summarize_calls(calls)),
            "mechanisms": merge_ledger(record.mechanisms, state.ledger),
            "extras": extras,
        }
    )
    save_updated(run, updated, calls)
    run.record = updated
    run.__dict__.pop("_provenance", None)
    return result.answer


def add_usage(total: UsageSummary, more: UsageSummary) -> UsageSummary:
    """Usage of the run so far plus ``more`` (e.g. the on-demand calls of one answer)."""

    def merged(a: dict[str, ActionUsage], b: dict[str, ActionUsage]) -> dict[str, ActionUsage]:
        out = dict(a)
        for key, usage in b.items():
            old = out.get(key, ActionUsage())
            out[key] = ActionUsage(
                calls=old.calls + usage.calls,
                prompt_tokens=old.prompt_tokens + usage.prompt_tokens,
                completion_tokens=old.completion_tokens + usage.completion_tokens,
                cost_usd=round(old.cost_usd + usage.cost_usd, 8),
            )
        return out

    sums = {
        name: getattr(total, name) + getattr(more, name)
        for name in (
            "calls",
            "cache_hits",
            "prompt_tokens",
            "completion_tokens",
            "generation_tokens",
            "on_demand_tokens",
        )
    }
    return total.model_copy(
        update={
            **sums,
            "cost_usd": round(total.cost_usd + more.cost_usd, 8),
            "by_action": merged(total.by_action, more.by_action),
            "by_model": merged(total.by_model, more.by_model),
        }
    )


def _notes(entry: LedgerEntry) -> list[str]:
    _, _, rest = entry.summary.partition(": ")
    return rest.split("; ")[1:]


def merge_ledger(entries: Sequence[LedgerEntry], delta: Ledger) -> list[LedgerEntry]:
    """The run's ledger with ``delta``'s counts added; untouched entries are kept verbatim."""
    fresh = {e.mechanism: e for e in delta.entries()}
    combined = Ledger()
    for entry in entries:
        if entry.mechanism in fresh:
            for what, value in entry.counts.items():
                combined.set(entry.mechanism, what, value)
            for note in _notes(entry):
                combined.note(entry.mechanism, note)
    for mechanism, entry in fresh.items():
        for what, value in entry.counts.items():
            combined.count(mechanism, what, value)
        for note in _notes(entry):
            combined.note(mechanism, note)
    rebuilt = {e.mechanism: e for e in combined.entries()}
    result = [rebuilt.get(e.mechanism, e) for e in entries]
    result += [e for m, e in rebuilt.items() if m not in {x.mechanism for x in entries}]
    return sorted(result, key=lambda e: int(e.mechanism[1:]))


def save_updated(run: Run, record: RunRecord, new_calls: Sequence[CallRecord]) -> None:
    """Rewrite ``run.json`` and ``llm_calls.jsonl`` atomically and save the record to the store."""
    from timepoint.llm.base import CallRecord

    old: list[CallRecord] = []
    folder = Path(run.folder) if run.folder is not None else None
    if run.store is not None:
        old = run.store.calls(record.run_id)
    elif folder is not None and (folder / "llm_calls.jsonl").is_file():
        lines = (folder / "llm_calls.jsonl").read_text().splitlines()
        old = [CallRecord.model_validate(json.loads(line)) for line in lines if line.strip()]
    start = max((c.seq for c in old), default=0) + 1
    calls = [*old, *(c.model_copy(update={"seq": start + n}) for n, c in enumerate(new_calls))]
    if folder is not None and folder.is_dir():
        _replace(folder / "run.json", record.model_dump_json(indent=1))
        _replace(folder / "llm_calls.jsonl", "".join(c.model_dump_json() + "\n" for c in calls))
    if run.store is not None:
        run.store.save_run(record, calls)


def _replace(path: Path, text: str) -> None:
    descriptor, staging = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".partial"
    )
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
