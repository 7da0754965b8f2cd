"""Model-judged outcomes: a model reads a finished run and answers a question yes or no.

The call is an ``outcome_judgement`` action sent through the run's own gateway (so it is
metered under what is left of the run's budget, and under a forecast's budget cap when one is
given, cached against endpoints, and written to the run's ``llm_calls.jsonl``, usage and store
like a question asked with ``run.ask``). The prompt carries the run's moments (events and key
facts) and dialog turns, numbered, and the answer names the moment or turn that decided it,
which becomes the extraction's evidence.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from timepoint.calibrate.extractors import Evidence, Extraction, extract_rule
from timepoint.calibrate.questions import JudgeOutcome, Question
from timepoint.engine.ask import add_usage
from timepoint.engine.locks import run_lock
from timepoint.engine.persist import store_update
from timepoint.engine.restore import scenario_of
from timepoint.engine.run import Run
from timepoint.engine.session import environment, open_session
from timepoint.llm.base import ActionType, LanguageModel
from timepoint.llm.budget import Budget
from timepoint.llm.task_data import task_request
from timepoint.llm.usage import summarize_calls
from timepoint.settings import Settings
from timepoint.world.record import RunRecord, timeline_order

#: most dialog turns quoted to the judge (the latest ones)
MAX_TURNS = 40
_WORD = re.compile(r"[a-z]{5,}")


class OutcomeJudgement(BaseModel):
    """The judge's answer: yes or no, the number the question asks about (if it asks for
    one), where in the run it saw that, and why."""

    model_config = ConfigDict(extra="forbid")

    answer: Literal["yes", "no"]
    value: float | None = Field(None, description="The number asked about, if any.")
    moment: str | None = Field(None, description="Id of the moment or turn that decided it.")
    reason: str = Field("", max_length=1000)

    @classmethod
    def offline_answer(cls, data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """Yes when one moment or turn holds at least half the question's longer words."""
        words = set(_WORD.findall(str(data.get("question", "")).lower()))
        best, share = None, 0.0
        for item in [*data.get("moments", []), *data.get("turns", [])]:
            found = set(_WORD.findall(str(item.get("text", "")).lower()))
            overlap = len(words & found) / len(words) if words else 0.0
            if overlap > share:
                best, share = item.get("id"), overlap
        yes = share >= 0.5
        return {
            "answer": "yes" if yes else "no",
            "moment": best if yes else None,
            "reason": f"{share:.0%} of the question's words appear together in one moment",
        }


def judge_context(record: RunRecord, question: str) -> dict[str, Any]:
    """What the judge is shown: the question, the moments in order and the latest turns."""
    moments = [
        {"id": t.id, "time": t.timestamp.isoformat(), "text": " ".join([t.event, *t.key_facts])}
        for t in timeline_order(record)
    ]
    turns = [
        {"id": f"{d.timepoint_id}#{n}", "speaker": turn.speaker, "text": turn.text}
        for d in record.dialogs
        for n, turn in enumerate(d.turns)
    ][-MAX_TURNS:]
    return {"question": question, "title": record.title, "moments": moments, "turns": turns}


def _prompt(context: dict[str, Any]) -> str:
    lines = [
        f"Simulation: {context['title']}.",
        "What happened, moment by moment:",
        *(f"- {m['id']} ({m['time']}): {m['text']}" for m in context["moments"]),
        "What was said (latest turns):",
        *(f"- {t['id']} {t['speaker']}: {t['text']}" for t in context["turns"]),
        f"Question: {context['question']}",
        "Answer from this simulation only: yes or no, the number the question asks about "
        "(null if it asks for none), the id of the moment or turn that decided it, and one "
        'sentence why, as JSON {"answer": "yes", "value": null, "moment": "tp_001", '
        '"reason": "..."}.',
    ]
    return "\n".join(lines)


def _evidence(record: RunRecord, judgement: OutcomeJudgement) -> Evidence:
    moment = judgement.moment or ""
    tp_id, _, turn = moment.partition("#")
    known = {t.id for t in record.timepoints}
    return Evidence(
        timepoint_id=tp_id if tp_id in known else None,
        turn=int(turn) if turn.isdigit() else None,
        text=judgement.reason,
    )


def judge(
    run: Run,
    question: Question,
    *,
    model: LanguageModel | None = None,
    settings: Settings | None = None,
    budget: Budget | None = None,
) -> Extraction:
    """Ask a model whether ``run`` answers ``question`` yes; record the call with the run.

    Args:
        run: a stored run (from :func:`timepoint.load_run` or a batch).
        question: a question whose outcome is ``kind: judge``.
        model: the provider (default: what the settings select; the offline model offline).
        settings: environment settings (default: the run's, else from the environment).
        budget: a budget the call is also charged to (a forecast's, under its cap).

    Raises:
        BudgetExceeded: the run's budget or ``budget`` cannot pay for the call; it was not
            made and nothing was recorded.
    """
    settings = environment(settings or run.settings)
    rule = question.outcome
    prompt_text = rule.prompt if isinstance(rule, JudgeOutcome) and rule.prompt else None
    with run_lock(Path(settings.home), run.record.run_id):
        record = run.store.load_run(run.record.run_id) if run.store is not None else run.record
        session = open_session(
            scenario_of(run),
            settings=settings,
            store=run.store,
            model=model,
            seed=record.seed,
            spent=record.usage,
            parent_budget=budget,
        )
        context = judge_context(record, prompt_text or question.question)
        request = task_request(
            ActionType.OUTCOME_JUDGEMENT,
            OutcomeJudgement,
            system="You judge what happened in a finished simulation, citing where.",
            prose=_prompt(context),
            data=context,
            seed=record.seed,
            max_tokens=300,
            on_demand=True,
            subject=f"question:{question.id}",
        )
        completion = session.stack.gateway.complete(request)
        accounts = session.stack.accounts
        calls = accounts.calls()
        usage = add_usage(record.usage, summarize_calls(calls))
        updated = record.model_copy(update={"usage": usage})
        store_update(record.run_id, run.folder, run.store, updated, calls, None, accounts.texts())
        run.record = updated
    parsed = completion.parsed
    judgement = (
        parsed
        if isinstance(parsed, OutcomeJudgement)
        else OutcomeJudgement.model_validate_json(completion.text)
    )
    return Extraction(
        run_id=record.run_id,
        kind="judge",
        outcome=judgement.answer == "yes",
        value=judgement.value,
        evidence=_evidence(record, judgement),
    )


def extract(
    run: Run,
    question: Question,
    *,
    model: LanguageModel | None = None,
    settings: Settings | None = None,
    budget: Budget | None = None,
) -> Extraction:
    """The outcome of ``question`` in ``run``, by its rule or by a model's judgement (charged
    to ``budget`` too, when given)."""
    if isinstance(question.outcome, JudgeOutcome):
        return judge(run, question, model=model, settings=settings, budget=budget)
    return extract_rule(run.record, question)
