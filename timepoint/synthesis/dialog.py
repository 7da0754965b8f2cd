"""Dialog synthesis (M11) with information-conservation repair (M4) and ``told`` exposures (M3).

Participants are the present entities at dialog resolution or above, ranked by resolution and
relevance (role and centrality), never drawn at random.
"""

from __future__ import annotations

from itertools import islice

from timepoint.kernel.context import RunContext
from timepoint.kernel.grounded import record_dropped
from timepoint.kernel.relevance import select_known
from timepoint.kernel.state import WorldState
from timepoint.knowledge.conservation import Violation, check_dialog
from timepoint.llm.base import ActionType, Message, Request
from timepoint.llm.drafts import DialogDraft
from timepoint.llm.grounded_schema import grounded
from timepoint.llm.grounding import Settled, settle
from timepoint.llm.structured import expect_answer
from timepoint.llm.task_data import task_request, with_task_data
from timepoint.synthesis.animism import SPEAKING_KINDS, narrators
from timepoint.synthesis.prospection import prospect_view
from timepoint.synthesis.relationships import relation_views
from timepoint.world import Dialog, DialogTurn, EntityRole, ExposureKind, ResolutionLevel, Timepoint
from timepoint.world.record import ValidationResult

MAX_PARTICIPANTS = 4
#: Strain above which a speaker is told to sound strained.
STRAINED = 0.5
MAX_FACTS_IN_PROMPT = 12
#: How many known facts a speaker's context carries at each speaking level (M1: detail costs).
FACTS_BY_LEVEL = {ResolutionLevel.DIALOG: 6, ResolutionLevel.TRAINED: MAX_FACTS_IN_PROMPT}
_ROLE_WEIGHT = {
    EntityRole.PRIMARY: 1.0,
    EntityRole.SECONDARY: 0.6,
    EntityRole.BACKGROUND: 0.2,
    EntityRole.ENVIRONMENT: 0.0,
}


def choose_participants(state: WorldState, tp: Timepoint) -> list[str]:
    """Present entities that may speak, best first: resolution rank, then role and centrality."""
    speakers = [
        e
        for e in tp.entities_present
        if state.resolution(e, tp.id) >= ResolutionLevel.DIALOG
        and state.entities[e].kind in SPEAKING_KINDS  # M16: other kinds act through narration
    ]

    def relevance(entity_id: str) -> tuple[int, float, str]:
        entity = state.entities[entity_id]
        weight = _ROLE_WEIGHT[entity.role] + state.centrality.get(entity_id, 0.0)
        return (-state.resolution(entity_id, tp.id).rank, -weight, entity_id)

    return sorted(speakers, key=relevance)[:MAX_PARTICIPANTS]


def _participant_context(state: WorldState, tp: Timepoint, entity_id: str) -> dict:
    """What the prompt says of one speaker; bounded however long the run has been.

    ``known``: the speaker's facts, the latest first and the rest by relevance to the moment
    (see :mod:`timepoint.kernel.relevance`), as many as its resolution affords. ``unknown``:
    the first facts of the run it does not hold (M4), at most :data:`MAX_FACTS_IN_PROMPT`.
    """
    entity = state.entities[entity_id]
    known = state.knowledge_at(entity_id, tp.id)
    budget = FACTS_BY_LEVEL.get(state.resolution(entity_id, tp.id), MAX_FACTS_IN_PROMPT)
    facts = [_fact_view(state, e.fact_id) for e in select_known(state, known.values(), tp, budget)]
    unheld = (f.id for f in state.facts.values() if f.id not in known)
    unknown = [_fact_view(state, f) for f in islice(unheld, MAX_FACTS_IN_PROMPT)]
    strain = max(entity.physical.pain, entity.physical.fever, 1 - entity.cognitive.energy / 100)
    prospect = prospect_view(state, tp.id, entity_id)  # M15: expectations shape the prompt
    return {
        "id": entity_id,
        "name": entity.name,
        "voice": entity.voice,
        "strain": round(strain, 3),
        "tone_bias": prospect.get("tone_bias", ""),
        "known": facts,
        "unknown": unknown,
        "expectations": prospect.get("expectations", []),
    }


def _fact_view(state: WorldState, fact_id: str) -> dict[str, str]:
    fact = state.facts[fact_id]
    kind = "event" if fact.origin.startswith("event:") else "fact"
    holder = fact.origin.removeprefix("initial:") if fact.origin.startswith("initial:") else None
    holder_name = state.entities[holder].name if holder in state.entities else ""
    return {"id": fact.id, "text": fact.text, "kind": kind, "holder": holder_name}


def _prompt(state: WorldState, tp: Timepoint, participants: list[dict], scene: dict) -> str:
    lines = [
        f"Scenario: {state.scenario.title}.",
        f"Moment ({tp.timestamp.isoformat()}, {tp.location or 'unspecified place'}): {tp.event}",
        f"Scene: tension {scene.get('tension', 0.2):.2f}, "
        f"formality {scene.get('formality', 0.5):.2f}.",
        "Write the conversation. Each turn: speaker id, text, tone, and knowledge_refs listing the "
        "ids of the facts the speaker uses. A speaker may only use facts from its own list.",
    ]
    description = next((s.description for s in state.scenes if s.timepoint_id == tp.id), "")
    if description:
        lines.insert(3, f"Setting: {description}")  # M10
    relations = relation_views(state, tp, [p["id"] for p in participants])  # M13
    for p in participants:
        lines.append(f"- {p['id']} ({p['name']}, voice: {p['voice'] or 'plain'}) knows:")
        lines.extend(f"    [{f['id']}] {f['text']}" for f in p["known"])
        lines.extend(f"    stands with {line}" for line in relations.get(p["id"], []))
        lines.extend(f"    expects: {e}" for e in p.get("expectations", []))
        if p["strain"] > STRAINED:  # M8/M14: the body speaks
            lines.append(
                f"    is under bodily strain ({p['strain']:.2f} of 1: pain, fever or fatigue); "
                "let it show in the words, tone 'strained'"
            )
        elif p["tone_bias"]:  # M15: expectations colour the voice
            lines.append(f"    leans {p['tone_bias']} in tone (use tone '{p['tone_bias']}')")
        if p["unknown"]:  # M4: what this speaker must not use
            lines.append(
                "    does not know (must not use): " + ", ".join(f["id"] for f in p["unknown"])
            )
    return "\n".join(lines)


def dialog_id(timepoint_id: str) -> str:
    """The id of the dialog at ``timepoint_id`` (also what its calls are recorded for)."""
    return f"dlg_{timepoint_id}"


def synthesize_dialog(ctx: RunContext, state: WorldState, tp: Timepoint) -> Dialog | None:
    """Generate, validate and (if needed) repair the dialog of ``tp``; record exposures."""
    speaker_ids = choose_participants(state, tp)
    if len(speaker_ids) < 2 and not (speaker_ids and narrators(state, tp)):  # M16: a lone
        return None  # speaker may still address a kami or an animal that answers in narration
    participants = [_participant_context(state, tp, e) for e in speaker_ids]
    scene = next((s.atmosphere.model_dump() for s in state.scenes if s.timepoint_id == tp.id), {})
    context = {
        "scenario": {"title": state.scenario.title, "location": tp.location},
        "event": tp.event,
        "location": tp.location,
        "scene": scene,
        "participants": participants,
        "turns": 2 * len(participants),
    }
    # Speakers and knowledge_refs may only be the ids shown: an enum in the schema sent.
    schema = grounded(
        DialogDraft,
        entities={p["id"]: p["name"] for p in participants},
        facts={f["id"]: f["text"] for p in participants for f in (*p["known"], *p["unknown"])},
    )
    request = task_request(
        ActionType.DIALOG_SYNTHESIS,
        schema,
        system="You write period-accurate dialog for simulations.",
        prose=_prompt(state, tp, participants, scene),
        data=context,
        seed=ctx.seed,
        max_tokens=1200,
        subject=dialog_id(tp.id),
    )
    known = {p["id"]: set(state.knowledge_at(p["id"], tp.id)) for p in participants}
    answer = _ask(ctx, request)
    draft, tokens = answer.parsed, answer.tokens
    violations, checks = _check(draft, known, state)
    state.ledger.count("M4", "checks", checks)
    repaired = 0
    if violations and state.scenario.mechanisms.repair_violations:
        state.ledger.count("M4", "violations", len(violations))
        fix_note = "; ".join(f"{v.speaker} used {v.fact_id} ({v.reason})" for v in violations)
        rewrite = (
            f"Rewrite the dialog. These turns used facts their speakers do not know: {fix_note}. "
            "Use only facts from each speaker's own list."
        )
        repair = {"repair": True, "violations": [[v.speaker, v.fact_id] for v in violations]}
        retry = request.with_messages(
            (
                *request.messages,
                Message(
                    role="user",
                    content=with_task_data(rewrite, ActionType.DIALOG_SYNTHESIS, repair),
                ),
            )
        )
        repaired_answer = _ask(ctx, retry)
        repaired_draft = repaired_answer.parsed
        tokens += repaired_answer.tokens
        still, extra = _check(repaired_draft, known, state)
        state.ledger.count("M4", "checks", extra)
        if len(still) < len(violations):
            _record(state, tp, violations, repaired=True)
            repaired = len(violations) - len(still)
            state.ledger.count("M4", "repaired", repaired)
            draft, violations, answer = repaired_draft, still, repaired_answer
    elif violations:
        state.ledger.count("M4", "violations", len(violations))
    _record(state, tp, violations, repaired=False)
    record_dropped(state, "M11", f"dialog:{tp.id}", answer, timepoint_id=tp.id)
    if not violations:
        state.validation.append(
            ValidationResult(
                validator="information_conservation",
                target=f"dialog:{tp.id}",
                ok=True,
                timepoint_id=tp.id,
                message=f"{checks} knowledge references checked",
            )
        )
    flagged = {(v.turn, v.speaker) for v in violations}
    turns = [
        DialogTurn(
            speaker=t.speaker,
            text=t.text,
            tone=t.tone,
            knowledge_refs=list(t.knowledge_refs),
            physical_influence=_influence(state, t.speaker),
            flagged=(i, t.speaker) in flagged,
        )
        for i, t in enumerate(draft.turns)
    ]
    dialog = Dialog(
        id=dialog_id(tp.id),
        timepoint_id=tp.id,
        participants=speaker_ids,
        turns=turns,
        repaired=repaired,
    )
    state.dialogs.append(dialog)
    _told_exposures(state, tp, dialog)
    state.spend(speaker_ids, tp.id, tokens)
    state.ledger.count("M11", "turns", len(turns))
    if turns:
        state.ledger.count("M11", "dialogs")
    else:  # every turn named no participant: a failure, never a silent empty success
        state.ledger.count("M11", "empty dialogs")
        state.validation.append(
            ValidationResult(
                validator="dialog_turns",
                target=f"dialog:{tp.id}",
                ok=False,
                timepoint_id=tp.id,
                message=f"no turn kept: the model's turns named no participant "
                f"({', '.join(speaker_ids)}); see the grounded_ids results",
            )
        )
    return dialog


def _ask(ctx: RunContext, request: Request) -> Settled:
    """The answer with participant and fact ids only (see :func:`settle`)."""
    answer = settle(ctx.gateway.complete, request)
    expect_answer(answer.parsed, DialogDraft)
    return answer


def _check(
    draft: DialogDraft, known: dict[str, set[str]], state: WorldState
) -> tuple[list[Violation], int]:
    turns = [(t.speaker, t.knowledge_refs) for t in draft.turns]
    return check_dialog(turns, known, set(state.facts))


def _record(state: WorldState, tp: Timepoint, violations: list[Violation], repaired: bool) -> None:
    for v in violations:
        state.validation.append(
            ValidationResult(
                validator="information_conservation",
                target=f"dialog:{tp.id}#turn{v.turn}",
                ok=False,
                message=f"{v.speaker} used {v.fact_id}: {v.reason}",
                entity_id=v.speaker,
                timepoint_id=tp.id,
                fact_id=v.fact_id,
                repaired=repaired,
            )
        )


def _influence(state: WorldState, entity_id: str) -> str:
    body = state.entities[entity_id].physical
    if body.pain > 0.5:
        return "speaks through pain"
    if body.fever > 0.5:
        return "feverish and short of breath"
    if body.stamina < 0.3:
        return "exhausted"
    return ""


def _told_exposures(state: WorldState, tp: Timepoint, dialog: Dialog) -> None:
    told = 0
    for turn in dialog.turns:
        if turn.flagged:
            continue
        for ref in turn.knowledge_refs:
            fact = state.facts[ref]
            for listener in dialog.participants:
                if listener != turn.speaker:
                    told += state.exposures.expose(
                        listener, fact, ExposureKind.TOLD, turn.speaker, tp.id, tp.timestamp
                    )
    state.ledger.count("M3", "told", told)
