"""CYCLICAL: the same pattern comes round again, varied; prophecies made at cycle boundaries.

Steps form cycles of ``cycle_length``. The first cycle is written freely (or as prescribed); at
each later step the event of the same position in the first cycle (its *motif*) is prescribed
again with a variation, taken in turn from ``variation``: ``repetition``, ``mutation`` (another
entity takes a part), ``amplification`` (the stakes rise), ``inversion`` (two parts swap), or any
other word, passed on as an instruction. At the end of each cycle that has a successor, one
present entity makes a prophecy about the next cycle (a model call); the prophecy becomes
knowledge of those present (M3) and is checked against the events of its cycle once that
cycle is over. Validation computes cycle-length consistency (from the timestamps), pattern
consistency (each recurrence is closest to its own motif) and the prophecy fulfilment rate.
"""

from __future__ import annotations

import random
from collections import Counter
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
from timepoint.time.wording import content_words, overlap
from timepoint.world import ExposureKind, Timepoint
from timepoint.world.causal import integrity_problems
from timepoint.world.exposure import make_fact

if TYPE_CHECKING:
    from timepoint.time.simulator import Simulator

PATTERN_THRESHOLD = 0.5
#: Words of the variation instructions themselves, never prophesied.
_FRAME_WORDS = frozenset(
    ["pattern", "return", "returns", "changed", "stronger", "reversed", "again", "stake", "place"]
)
#: Speakers of prophecies: spirits, minds and animals first, then people by role.
_SPEAKER_ORDER = ("kami", "ai", "abstract", "any", "animal", "institution", "building", "object")


class Prophecy(BaseModel):
    """A prophecy about the next cycle: who speaks, what is said, the elements it predicts."""

    model_config = ConfigDict(extra="forbid")

    speaker: EntityId
    text: str
    elements: list[str] = Field(min_length=1, max_length=4)

    @classmethod
    def offline_answer(cls, context: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """Predict recurring words of the finished cycle (true with ``accuracy``) or new ones."""
        speakers = context.get("speakers") or [{"id": "unknown", "name": "A voice"}]
        speaker = speakers[0]
        motifs = context.get("motifs", [])
        scenario = context.get("scenario", {})
        setting = content_words(scenario.get("description", "") + " " + scenario.get("title", ""))
        counts = Counter(w for m in motifs for w in content_words(m) - _FRAME_WORDS)
        recurring = [
            w
            for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], -len(kv[0]), kv[0]))
            if w not in setting
        ]
        outside = sorted(setting - set(counts) - _FRAME_WORDS)
        true_prophecy = rng.random() < float(context.get("accuracy", 0.5))
        pool = recurring[:6] if true_prophecy or not outside else outside
        elements = rng.sample(pool, k=min(2, len(pool))) if pool else ["return"]
        cycle = int(context.get("next_cycle", 2))
        twist = {
            "amplification": ", and stronger than before",
            "inversion": ", turned about",
            "mutation": ", in another guise",
        }.get(str(context.get("variation", "")), "")
        said = " and ".join(f"the {e}" for e in elements)
        return {
            "speaker": speaker["id"],
            "text": f"{speaker['name']} foretells that in cycle {cycle} {said} will come again"
            f"{twist}.",
            "elements": elements,
        }


def vary(motif: str, variation: str, names: list[str], cycle: int) -> str:
    """The prescribed event for a recurrence of ``motif`` under ``variation``."""
    core = motif.split(". ")[0].strip().rstrip(".")
    found = [n for n in names if n in core]
    if variation == "amplification":
        return f"The pattern returns, stronger than before: {core}, and more is at stake"
    if variation == "mutation":
        others = [n for n in names if n not in found]
        if found and others:
            swapped = core.replace(found[0], others[(cycle - 1) % len(others)], 1)
            return f"The pattern returns, changed: {swapped}"
        return f"The pattern returns, changed: {core}, but in another place"
    if variation == "inversion":
        if len(found) >= 2:
            a, b = found[0], found[1]
            swapped = core.replace(a, "\0").replace(b, a).replace("\0", b)
            return f"The pattern returns, reversed: {swapped}"
        return f"The pattern returns, reversed: {core}, with the outcome turned about"
    if variation == "repetition":
        return f"Once again, as before: {core}"
    return f"The pattern returns ({variation}): {core}"


class CyclicalMode:
    name = "cyclical"

    def simulate(self, sim: Simulator) -> None:
        cfg = sim.scenario.temporal.cyclical
        count, length = sim.timepoint_count, cfg.cycle_length
        curve = [0.4 + 0.5 * (i % length) / max(1, length - 1) for i in range(count)]
        sim.plan_schedule(count, importance=curve)
        names = [e.name for e in sim.state.entities.values()]
        ids: list[str] = []
        prophecies: list[dict[str, Any]] = []
        parent: str | None = None
        for index in range(count):
            cycle, position = divmod(index, length)
            if cycle == 0:
                planned = planned_event(sim, index)
            else:
                motif = sim.state.timepoints[ids[position]].event
                planned = vary(motif, _variation(cfg.variation, cycle), names, cycle)
                sim.state.ledger.count("M17", "variations applied")
            parent = expand_before(sim, index, step_time(sim, index), parent)
            tp = sim.generate_timepoint(
                index=index, timestamp=step_time(sim, index), parent=parent, planned=planned
            )
            sim.process_timepoint(tp)
            ids.append(tp.id)
            parent = expand_after(sim, tp, index)
            last_of_cycle = position == length - 1 or index == count - 1
            if last_of_cycle:
                self._check(sim, prophecies, cycle, ids[cycle * length :])
            if position == length - 1 and index + 1 < count:
                prophecies.append(self._prophesy(sim, tp, cycle, ids[cycle * length :]))
        self._validate(sim, ids, prophecies)
        sim.record_integrity(integrity_problems(sim.state.timepoints, forward=True))

    def _prophesy(
        self, sim: Simulator, tp: Timepoint, cycle: int, cycle_ids: list[str]
    ) -> dict[str, Any]:
        cfg = sim.scenario.temporal.cyclical
        views = {v["id"]: v for v in entity_views(sim)}
        present = [views[e] for e in tp.entities_present if e in views]
        speakers = sorted(
            present or list(views.values()),
            key=lambda v: (
                _SPEAKER_ORDER.index(v["kind"]) if v["kind"] in _SPEAKER_ORDER else 99,
                v["role"] != "primary",
            ),
        )
        motifs = [sim.state.timepoints[i].event for i in cycle_ids]
        context = {
            "scenario": scenario_brief(sim),
            "speakers": [{"id": s["id"], "name": s["name"], "kind": s["kind"]} for s in speakers],
            "motifs": motifs,
            "next_cycle": cycle + 2,
            "accuracy": cfg.prophecy_accuracy,
            "variation": _variation(cfg.variation, cycle + 1),
        }
        prompt = (
            f"Scenario: {sim.scenario.title}. Cycle {cycle + 1} has ended with: "
            + " | ".join(motifs)
            + f"\nAs {speakers[0]['name'] if speakers else 'a witness'}, prophesy what will come "
            "again in the next cycle. Answer with speaker (entity id), text and 1-4 elements."
        )
        completion = ask_model(
            sim.ctx,
            ActionType.PROSPECTION,
            grounded(Prophecy, entities={s["id"]: s["name"] for s in speakers}),
            system="You voice prophecies inside simulations.",
            prompt=prompt,
            data=context,
            max_tokens=300,
            recorded_in=(sim.state, "M17", f"prophecy:{tp.id}"),
            timepoint_id=tp.id,
            subject=tp.id,
        )
        prophecy = expect_answer(completion.parsed, Prophecy)
        speaker = prophecy.speaker if prophecy.speaker in sim.state.entities else None
        speaker = speaker or (speakers[0]["id"] if speakers else None)
        fact = sim.state.add_fact(make_fact(prophecy.text, origin=f"prophecy:{tp.id}"))
        state = sim.state
        for entity_id in tp.entities_present:
            if entity_id == speaker:
                added = state.exposures.expose(
                    entity_id,
                    fact,
                    ExposureKind.INFERRED,
                    f"timepoint:{tp.id}",
                    tp.id,
                    tp.timestamp,
                )
                state.ledger.count("M3", "inferred", int(added))
            elif speaker is not None:
                added = state.exposures.expose(
                    entity_id, fact, ExposureKind.TOLD, speaker, tp.id, tp.timestamp
                )
                state.ledger.count("M3", "told", int(added))
        state.ledger.count("M17", "prophecies made")
        return {
            "made_at": tp.id,
            "speaker": speaker,
            "text": prophecy.text,
            "fact_id": fact.id,
            "elements": prophecy.elements,
            "target_cycle": cycle + 1,
            "fulfilled": None,
            "matched": [],
        }

    @staticmethod
    def _check(
        sim: Simulator, prophecies: list[dict[str, Any]], cycle: int, cycle_ids: list[str]
    ) -> None:
        """Check the prophecies about ``cycle`` against its events, now that it is over."""
        said = content_words(" ".join(sim.state.timepoints[i].event for i in cycle_ids))
        for prophecy in prophecies:
            if prophecy["target_cycle"] != cycle or prophecy["fulfilled"] is not None:
                continue
            matched = [e for e in prophecy["elements"] if content_words(e) & said]
            prophecy["matched"] = matched
            fulfilled = len(matched) == len(prophecy["elements"])
            prophecy["fulfilled"] = fulfilled
            prophecy["checked_at"] = cycle_ids[-1]
            sim.state.ledger.count("M17", "prophecies checked")
            sim.state.ledger.count("M17", "prophecies fulfilled", int(fulfilled))

    def _validate(self, sim: Simulator, ids: list[str], prophecies: list[dict[str, Any]]) -> None:
        cfg = sim.scenario.temporal.cyclical
        length = cfg.cycle_length
        tps = [sim.state.timepoints[i] for i in ids]
        cycles = [tps[c : c + length] for c in range(0, len(tps), length)]
        aligned = 0
        for n, cycle in enumerate(cycles):
            first, last = n * length, n * length + len(cycle) - 1
            full = len(cycle) == length or n == len(cycles) - 1
            aligned += (
                full
                and cycle[0].timestamp == step_time(sim, first)
                and cycle[-1].timestamp == step_time(sim, last)
            )
        length_score = aligned / len(cycles)
        scored_check(
            sim,
            "cyclical_length_consistency",
            length_score,
            1.0,
            f"{aligned} of {len(cycles)} cycles span exactly {length} steps of "
            f"{sim.scenario.timepoints.step} {sim.scenario.timepoints.unit.value}(s) from their "
            "expected start",
        )
        motifs = [t.event for t in cycles[0]]
        hits, recurrences, varied = 0, 0, 0
        for cycle in cycles[1:]:
            for position, tp in enumerate(cycle):
                similarity = [overlap(tp.event, motif) for motif in motifs]
                recurrences += 1
                hits += max(range(len(motifs)), key=lambda q: (similarity[q], q == position)) == (
                    position
                )
                varied += similarity[position] < 0.9
        if recurrences:
            scored_check(
                sim,
                "cyclical_pattern_consistency",
                hits / recurrences,
                PATTERN_THRESHOLD,
                f"{hits} of {recurrences} recurrences are closest to their own motif; "
                f"{varied} differ from it",
            )
        checked = [p for p in prophecies if p["fulfilled"] is not None]
        fulfilled = sum(bool(p["fulfilled"]) for p in checked)
        if checked:
            scored_check(
                sim,
                "cyclical_prophecy_fulfilment",
                fulfilled / len(checked),
                cfg.prophecy_accuracy,
                f"{fulfilled} of {len(checked)} prophecies fulfilled",
            )
        recurring = []
        for position in range(min(length, len(tps))):
            words = [content_words(c[position].event) for c in cycles if position < len(c)]
            recurring.append(sorted(set.intersection(*words))[:8] if len(words) > 1 else [])
        ledger = sim.state.ledger
        ledger.set("M17", "cycles", len(cycles))
        ledger.set("M17", "recurrences", recurrences)
        ledger.set("M17", "cycle length consistency", round(length_score, 4))
        if recurrences:
            ledger.set("M17", "pattern consistency", round(hits / recurrences, 4))
        sim.extras["cycles"] = {
            "cycle_length": length,
            "cycles": [[t.id for t in c] for c in cycles],
            "recurring_elements": recurring,
            "prophecies": prophecies,
        }


def _variation(variations: list[str], cycle: int) -> str:
    return variations[(cycle - 1) % len(variations)] if variations else "repetition"
