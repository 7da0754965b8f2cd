"""``run.ask``: answer a question about a stored run and store what it added (M5, M9).

The question is parsed by :mod:`timepoint.knowledge.question` and answered by
:mod:`timepoint.engine.answering`; this verb builds the run's context, spends under what is
left of its budgets, and writes the updated record back under the run's writer lock.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from timepoint.engine.answering import answer_question
from timepoint.engine.locks import run_lock
from timepoint.engine.persist import store_update
from timepoint.engine.restore import restore_state, scenario_of
from timepoint.engine.session import environment, open_session
from timepoint.errors import RestoreError
from timepoint.fidelity.training import TrainingPolicy
from timepoint.knowledge.provenance import KnowledgeQueryError
from timepoint.knowledge.question import parse_question
from timepoint.knowledge.training_data import training_jsonl
from timepoint.llm.base import LanguageModel
from timepoint.llm.usage import summarize_calls
from timepoint.scenario.schema import Scenario
from timepoint.settings import Settings
from timepoint.world.ledger import Ledger
from timepoint.world.record import ActionUsage, Answer, LedgerEntry, UsageSummary, timeline_order

if TYPE_CHECKING:
    from timepoint.engine.run import Run


def ask(
    run: Run, question: str, *, model: LanguageModel | None = None, request_id: str | None = None
) -> Answer:
    """Answer ``question`` about ``run``; update its record (``run.record``), folder and store.

    Questions asked of one run at the same time (threads or processes) take turns: each holds
    the run's writer lock and starts from the latest stored record, so no update is lost.

    Args:
        run: a run from :func:`timepoint.run` or :func:`timepoint.load_run`.
        question: free text, e.g. "What did attendee_47 see at the second timepoint?".
        model: the provider for the on-demand calls (default: what the settings imply).
        request_id: an id for this asking (e.g. a service work id): when the run already holds
            an answer with it (a worker died after storing it), that answer is returned and
            nothing is asked or stored again.

    Raises:
        KnowledgeQueryError: the question names no entity the kind of question needs.
    """
    settings = environment(run.settings)
    with run_lock(Path(settings.home), run.record.run_id):
        _refresh(run)
        if request_id is not None:
            given = [a for a in run.record.answers if a.request_id == request_id]
            if given:
                return given[-1]
        return _answer(run, question, model, settings, request_id)


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


def _scenario(run: Run) -> Scenario:
    """The run's scenario; a bare one from the record when it is neither in memory nor stored."""
    record = run.record
    try:
        return scenario_of(run)
    except RestoreError:
        return Scenario(
            id=record.scenario_id, title=record.title, description=record.description or "-"
        )


def _answer(
    run: Run,
    question: str,
    model: LanguageModel | None,
    settings: Settings,
    request_id: str | None,
) -> Answer:
    record = run.record
    scenario = _scenario(run)
    state = restore_state(record, scenario)
    parsed = parse_question(question, state.entities, timeline_order(record))
    if not parsed.entity_ids and not parsed.new_entities and parsed.kind != "who_knew":
        known = ", ".join(sorted(state.entities))
        raise KnowledgeQueryError(
            f"the question {question!r} names no entity of run {record.run_id}; name one of "
            f"{known} (or a crowd member such as attendee_47)"
        )
    session = open_session(
        scenario,
        settings=settings,
        store=run.store,
        model=model,
        seed=record.seed,
        spent=record.usage,
    )
    tensors = copy.deepcopy(record.evidence.tensors)
    policy = TrainingPolicy.from_settings(scenario.mechanisms.settings.get("m2", {}))
    result = answer_question(session.ctx, state, parsed, policy=policy, tensors=tensors)
    # everything a question spends is on-demand work, kept apart from the run's generation
    calls = [c.model_copy(update={"on_demand": True}) for c in session.stack.accounts.calls()]
    if result.answer is None:
        raise KnowledgeQueryError(f"the question {question!r} produced no answer")
    answer = result.answer.model_copy(update={"request_id": request_id})
    evidence = record.evidence.model_copy(
        update={
            "tensors": tensors,
            "training": [*record.evidence.training, *result.elevations],
        }
    )
    order = {t.id: n for n, t in enumerate(record.timepoints)}
    updated = record.model_copy(
        update={
            "entities": list(state.entities.values()),
            "timepoints": sorted(state.timepoints.values(), key=lambda t: order.get(t.id, 0)),
            "exposures": state.exposures.events,
            "fidelity": list(state.fidelity.values()),
            "scenes": list(state.scenes),
            "answers": [*record.answers, answer],
            "usage": add_usage(record.usage, summarize_calls(calls)),
            "mechanisms": merge_ledger(record.mechanisms, state.ledger),
            "evidence": evidence,
        }
    )
    files = {"training.jsonl": training_jsonl(updated)} if _exports_training(run) else {}
    texts = session.stack.accounts.texts()
    store_update(run.record.run_id, run.folder, run.store, updated, calls, files, texts)
    run.record = updated
    run.__dict__.pop("_provenance", None)
    return answer


def _exports_training(run: Run) -> bool:
    """Whether the run keeps ``training.jsonl`` (its scenario asks for it, or a run loaded
    without its scenario already has the file)."""
    if run.scenario is not None:
        return run.scenario.outputs.training_export
    return run.folder is not None and (Path(run.folder) / "training.jsonl").is_file()


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
            "on_demand_calls",
        )
    }
    return total.model_copy(
        update={
            **sums,
            "cost_usd": round(total.cost_usd + more.cost_usd, 8),
            "on_demand_cost_usd": round(total.on_demand_cost_usd + more.on_demand_cost_usd, 8),
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
