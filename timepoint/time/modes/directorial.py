"""DIRECTORIAL: a narrative plan (acts, beats, character arcs, point of view) drives generation.

Steps are assigned to the five acts; each step gets a target tension *(ref: setup .2→.4, rising
.4→.7, climax .8→1.0, falling .5→.3, resolution .1→.2)* scaled by ``dramatic_tension`` (×(0.3 +
dramatic_tension), so the default 0.7 keeps the reference curve). The model writes the plan's
beats, arcs and point of view in one call; each beat is then the prescribed event of its step.
The fidelity schedule follows the tension curve. After the run three scores are computed from
what was generated: tension fit, arc completion and POV coherence.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from timepoint.kernel.context import ask_model
from timepoint.llm.base import ActionType
from timepoint.llm.grounded_schema import EntityId, grounded
from timepoint.llm.structured import expect_answer
from timepoint.time.expansion import expand_after, expand_before
from timepoint.time.modes.common import (
    entity_views,
    planned_event,
    scenario_brief,
    scored_check,
    step_time,
)
from timepoint.time.wording import clamp, content_words
from timepoint.world import ResolutionLevel
from timepoint.world.causal import integrity_problems
from timepoint.world.phrasing import topic_of

if TYPE_CHECKING:
    from timepoint.time.simulator import Simulator

ACTS = ("setup", "rising", "climax", "falling", "resolution")
TENSION_CURVE: dict[str, tuple[float, float]] = {
    "setup": (0.2, 0.4),
    "rising": (0.4, 0.7),
    "climax": (0.8, 1.0),
    "falling": (0.5, 0.3),
    "resolution": (0.1, 0.2),
}
ACT_SHARE = {"setup": 0.2, "rising": 0.3, "climax": 0.2, "falling": 0.15, "resolution": 0.15}
SHORT_ACTS: dict[int, tuple[str, ...]] = {
    1: ("climax",),
    2: ("rising", "climax"),
    3: ("setup", "climax", "resolution"),
    4: ("setup", "rising", "climax", "resolution"),
}
TONE_TENSION = {
    "strained": 0.9,
    "insistent": 0.8,
    "guarded": 0.6,
    "earnest": 0.5,
    "wry": 0.4,
    "neutral": 0.4,
    "measured": 0.35,
    "conciliatory": 0.2,
}
_CONFLICT_WORDS = """clash press presse demand refuse threat threaten crisi confront argue insist
anger fail loss warn ultimatum accuse reject test resolve break stake fight oppose push"""
_CALM_WORDS = """agree settle rest part concede reconcile accept celebrate bargain term
understanding leave peace calm toast ebb"""
CONFLICT = frozenset(_CONFLICT_WORDS.split())
CALM = frozenset(_CALM_WORDS.split())
TENSION_FIT_THRESHOLD = 0.7
ARC_THRESHOLD = 0.75
POV_THRESHOLD = 0.8


class CharacterArc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: EntityId
    start: str
    end: str
    turn: str = "climax"


class NarrativePlan(BaseModel):
    """The model's narrative plan: one beat per step, character arcs, a POV entity per act."""

    model_config = ConfigDict(extra="forbid")

    beats: list[str] = Field(min_length=1)
    arcs: list[CharacterArc] = Field(default_factory=list)
    pov: dict[str, EntityId] = Field(default_factory=dict)

    @classmethod
    def offline_answer(cls, context: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """Beats, arcs and POV built from the scenario's entities, goals and prescribed events."""
        scenario = context.get("scenario", {})
        people = context.get("entities", [])
        leads = [p for p in people if p.get("role") == "primary"] or people
        names = [p["name"] for p in leads] or ["the company"]
        place = scenario.get("location") or "the appointed place"
        stake = topic_of(scenario.get("description", "") or scenario.get("title", ""), 8)
        prescribed_events = context.get("prescribed") or []
        beats = []
        for i, act in enumerate(context.get("acts", [])):
            prescribed = prescribed_events[i] if i < len(prescribed_events) else None
            if prescribed:
                beats.append(str(prescribed).rstrip("."))
                continue
            a, b = names[i % len(names)], names[(i + 1) % len(names)]
            c = names[(i + 2) % len(names)] if len(names) > 2 else "the others"
            aim = _aim(leads[i % len(leads)] if leads else {}, stake)
            options = {
                "setup": (
                    f"{a} and {b} take their places at {place}; the matter: {stake}",
                    f"{a} arrives at {place} and sizes up {b} before anything is said",
                ),
                "rising": (
                    f"{a} pushes to {aim}, and {b} will not yet give ground",
                    f"{b} tests {a}'s resolve while {a} pushes to {aim}; {c} watches",
                ),
                "climax": (
                    f"{a} and {b} clash openly: {a} means to {aim}, and {c} must choose a side",
                    f"{a} confronts {b} with an ultimatum, determined to {aim}",
                ),
                "falling": (
                    f"{b} gives ground, and {a} weighs the cost of the fight to {aim}",
                    f"the anger ebbs as {a} and {b} count what each has given up",
                ),
                "resolution": (
                    f"{a}, {b} and {c} settle on terms and part, each changed",
                    f"{a} and {b} accept a bargain and take their leave",
                ),
            }[act]
            beats.append(rng.choice(options))
        arcs = []
        for n, lead in enumerate(leads[:4]):
            aim = _aim(lead, stake)
            other = names[(n + 1) % len(names)]
            ending = rng.choice(
                (
                    f"manages to {aim}, at a price",
                    f"gives up trying to {aim} for a larger bargain",
                    f"is moved by {other}'s argument",
                )
            )
            arcs.append({"entity": lead["id"], "start": f"set to {aim}", "end": ending})
        requested = context.get("pov") or []
        pov_ids = requested or [p["id"] for p in leads] or [p["id"] for p in people]
        acts = list(dict.fromkeys(context.get("acts", [])))
        pov = {act: pov_ids[n % len(pov_ids)] for n, act in enumerate(acts)} if pov_ids else {}
        return {"beats": beats, "arcs": arcs, "pov": pov}


def _aim(entity: dict[str, Any], stake: str) -> str:
    """An entity's first goal as a verb phrase ("close the round"), or a stand-in from the stake."""
    goals = entity.get("goals") or []
    if not goals:
        return f"carry the day on {stake}"
    goal = str(goals[0]).strip().rstrip(".")
    return goal[:1].lower() + goal[1:]


def assign_acts(steps: int) -> list[str]:
    """The act of each step: every act at least once from five steps on, shares per ACT_SHARE."""
    if steps < 5:
        return list(SHORT_ACTS.get(steps, ()))
    extra = steps - len(ACTS)
    raw = {act: ACT_SHARE[act] * extra for act in ACTS}
    counts = {act: 1 + int(raw[act]) for act in ACTS}
    left = steps - sum(counts.values())
    for act in sorted(ACTS, key=lambda a: (-(raw[a] - int(raw[a])), ACTS.index(a)))[:left]:
        counts[act] += 1
    return [act for act in ACTS for _ in range(counts[act])]


def tension_targets(acts: list[str], dramatic_tension: float) -> list[float]:
    """Target tension per step: each act's range walked across its steps, then scaled."""
    scale = 0.3 + dramatic_tension
    targets = []
    for i, act in enumerate(acts):
        run = [j for j, a in enumerate(acts) if a == act]
        where = run.index(i) / (len(run) - 1) if len(run) > 1 else 0.5
        low, high = TENSION_CURVE[act]
        targets.append(round(clamp((low + (high - low) * where) * scale), 4))
    return targets


def measured_tension(importance: float, texts: list[str], tones: list[str]) -> float:
    """Tension read off a generated step: its importance, conflict words and dialog tones."""
    words = content_words(" ".join(texts))
    stems = {w[:-1] if w.endswith("s") else w for w in words} | words
    lexical = clamp(0.5 + 0.2 * (len(stems & CONFLICT) - len(stems & CALM)))
    tone = sum(TONE_TENSION.get(t, 0.4) for t in tones) / len(tones) if tones else lexical
    return round(clamp(0.5 * importance + 0.3 * lexical + 0.2 * tone), 4)


class DirectorialMode:
    name = "directorial"

    def simulate(self, sim: Simulator) -> None:
        cfg = sim.scenario.temporal.directorial
        acts = assign_acts(sim.timepoint_count)
        targets = tension_targets(acts, cfg.dramatic_tension)
        sim.plan_schedule(len(acts), importance=targets)
        plan = self._plan(sim, acts)
        beats = (plan.beats + [""] * len(acts))[: len(acts)]
        ids: list[str] = []
        parent: str | None = None
        for index in range(len(acts)):
            parent = expand_before(sim, index, step_time(sim, index), parent)
            tp = sim.generate_timepoint(
                index=index,
                timestamp=step_time(sim, index),
                parent=parent,
                planned=planned_event(sim, index) or beats[index] or None,
            )
            sim.process_timepoint(tp)
            ids.append(tp.id)
            parent = expand_after(sim, tp, index)
        self._validate(sim, plan, acts, targets, ids)
        sim.record_integrity(integrity_problems(sim.state.timepoints, forward=True))

    def _plan(self, sim: Simulator, acts: list[str]) -> NarrativePlan:
        cfg = sim.scenario.temporal.directorial
        people = [e for e in entity_views(sim) if e["role"] != "environment"]
        context = {
            "scenario": scenario_brief(sim),
            "acts": acts,
            "arc": cfg.narrative_arc,
            "entities": people,
            "prescribed": [planned_event(sim, i) for i in range(len(acts))],
            "pov": [p for p in cfg.pov if p in sim.state.entities],
        }
        prompt = (
            f"Scenario: {sim.scenario.title}. {sim.scenario.description}\n"
            f"Plan a {cfg.narrative_arc} story in {len(acts)} steps; acts per step: "
            f"{', '.join(acts)}. Characters: "
            + ", ".join(f"{p['id']} ({p['name']}, {p['role']})" for p in people)
            + ". Give one beat per step, an arc (start, end, turning act) per main character, "
            "and the point-of-view character (id) of each act."
        )
        completion = ask_model(
            sim.ctx,
            ActionType.TEMPORAL_REASONING,
            grounded(NarrativePlan, entities={p["id"]: p["name"] for p in people}),
            system="You are a story director planning scenes.",
            prompt=prompt,
            data=context,
            max_tokens=900,
            recorded_in=(sim.state, "M17", "narrative_plan"),
            subject="plan",
        )
        plan = expect_answer(completion.parsed, NarrativePlan)
        sim.state.ledger.count("M17", "acts", len(set(acts)))
        sim.state.ledger.count("M17", "beats", len(plan.beats))
        sim.state.ledger.count("M17", "character arcs", len(plan.arcs))
        return plan

    def _validate(
        self,
        sim: Simulator,
        plan: NarrativePlan,
        acts: list[str],
        targets: list[float],
        ids: list[str],
    ) -> None:
        state = sim.state
        tps = [state.timepoints[i] for i in ids]
        dialogs = {d.timepoint_id: d for d in state.dialogs}
        measured = []
        for tp in tps:
            dialog = dialogs.get(tp.id)
            texts = [tp.event, *(t.text for t in dialog.turns)] if dialog else [tp.event]
            tones = [t.tone for t in dialog.turns] if dialog else []
            measured.append(measured_tension(tp.importance, texts, tones))
        gaps = [abs(m - t) for m, t in zip(measured, targets, strict=True)]
        fit = 1 - sum(gaps) / len(gaps)
        arcs = [self._arc_done(sim, arc, acts, ids, dialogs) for arc in plan.arcs]
        completion = sum(arcs) / len(arcs) if arcs else 0.0
        pov_ok = []
        for act, tp in zip(acts, tps, strict=True):
            who = plan.pov.get(act)
            pov_ok.append(
                who in tp.entities_present
                and state.resolution(who, tp.id) >= ResolutionLevel.DIALOG
            )
        pov = sum(pov_ok) / len(pov_ok)
        scored_check(
            sim,
            "directorial_tension_fit",
            fit,
            TENSION_FIT_THRESHOLD,
            f"measured tension {measured} against targets {targets}",
        )
        scored_check(
            sim,
            "directorial_arc_completion",
            completion,
            ARC_THRESHOLD,
            f"{sum(arcs)} of {len(arcs)} character arcs completed",
        )
        scored_check(
            sim,
            "directorial_pov_coherence",
            pov,
            POV_THRESHOLD,
            f"{sum(pov_ok)} of {len(pov_ok)} steps keep their act's point-of-view character "
            "present at dialog resolution",
        )
        ledger = state.ledger
        ledger.set("M17", "tension fit", round(fit, 4))
        ledger.set("M17", "arc completion", round(completion, 4))
        ledger.set("M17", "pov coherence", round(pov, 4))
        sim.extras["directorial"] = {
            "arc": sim.scenario.temporal.directorial.narrative_arc,
            "acts": acts,
            "beats": plan.beats,
            "target_tension": targets,
            "measured_tension": measured,
            "pov": plan.pov,
            "arcs": [
                dict(a.model_dump(), completed=done)
                for a, done in zip(plan.arcs, arcs, strict=True)
            ],
            "scores": {"tension_fit": fit, "arc_completion": completion, "pov_coherence": pov},
        }

    @staticmethod
    def _arc_done(
        sim: Simulator, arc: CharacterArc, acts: list[str], ids: list[str], dialogs: dict
    ) -> bool:
        """An arc completes when its character is there at the start, at its turn and at the end,
        and is heard (named in an event or speaking) at or after its turning act."""
        entity = sim.state.entities.get(arc.entity)
        if entity is None:
            return False
        tps = [sim.state.timepoints[i] for i in ids]
        turn = arc.turn if arc.turn in acts else "climax" if "climax" in acts else acts[-1]
        turn_at = acts.index(turn)
        present = [entity.id in tp.entities_present for tp in tps]
        if not (present[0] and present[-1] and any(present[turn_at:])):
            return False
        surname = entity.name.split()[-1].lower()
        for tp in tps[turn_at:]:
            dialog = dialogs.get(tp.id)
            if surname in tp.event.lower() or (
                dialog and any(t.speaker == entity.id for t in dialog.turns)
            ):
                return True
        return False
