"""Draft a scenario from one sentence with a deterministic heuristic.

This is what the offline model answers to a ``config_generation`` request, so that
``timepoint new "…"`` yields a valid, sentence-specific scenario without any API:

- entities come from proper names ("Jefferson, Hamilton and Madison"), from nouns with a known
  kind ("a white fox" -> animal, "shrine" -> building, "kami" -> kami, "AI" -> ai) and from
  role words ("a pilgrim", "the CEO");
- the temporal mode comes from phrasing ("how did we get there" -> portal, "what if" ->
  branching, "flashback" -> nonlinear, "every year" -> cyclical, "drama" -> directorial);
- dates, years, time of day, pace and location are read where the sentence gives them.

Everything it had to guess is listed in ``assumptions``.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from timepoint.errors import ScenarioError
from timepoint.scenario import vocabulary as vocab
from timepoint.scenario.sentence_entities import DraftEntity, read_entities, slug, tokenize
from timepoint.world.entity import EntityKind

_ORIGIN_OFFSET = 5
_YEAR = re.compile(r"(?<![\d$])(1[0-9]{3}|2[0-9]{3})(?![\d%])")


class ScenarioDraft(BaseModel):
    """What config generation answers: a scenario mapping and the assumptions behind it.

    The mapping is validated against :class:`~timepoint.scenario.schema.Scenario` by the caller,
    whose validation errors go back to the model when it needs another attempt.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    scenario: dict[str, Any]
    assumptions: list[str] = Field(default_factory=list)

    @classmethod
    def offline_answer(cls, data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """The offline model's draft, from the ``sentence`` in the prompt's data block."""
        return draft_scenario_from_sentence(str(data.get("sentence", "")), rng)


def draft_scenario_from_sentence(sentence: str, rng: random.Random) -> dict[str, Any]:
    """Build a scenario mapping from one sentence.

    Args:
        sentence: A one-sentence description, e.g. "The 1790 Compromise dinner of Jefferson,
            Hamilton and Madison".
        rng: The only source of variation (personality trait values); the same seed gives the
            same draft.

    Returns:
        ``{"scenario": {...}, "assumptions": [...]}`` — a mapping that validates as
        :class:`ScenarioDraft` and whose ``scenario`` validates as a ``Scenario``.

    Raises:
        ScenarioError: The sentence has no words.
    """
    text = " ".join(sentence.split()).strip()
    if not re.search(r"[A-Za-z]", text):
        raise ScenarioError(
            [f"sentence: {sentence!r} has no words; describe the situation in one sentence"]
        )
    lower = text.lower()
    assumptions: list[str] = []
    tokens = tokenize(text)
    entities, location = read_entities(tokens, assumptions)
    buildings = [e.name for e in entities if e.kind is EntityKind.BUILDING]
    if not location and buildings:
        location = buildings[0]
    mode = _mode(lower, assumptions)
    years = [int(y) for y in _YEAR.findall(text)]
    title = _title(text)
    description = text if text[-1] in ".?!" else text + "."
    scenario: dict[str, Any] = {
        "id": _identifier(tokens, years),
        "title": title,
        "description": description,
        "entities": _entities_section(entities, description, rng, assumptions),
        "timepoints": _timepoints(lower, mode, years, location, assumptions),
        "temporal": _temporal(mode, text, years, entities, assumptions),
    }
    return {"scenario": scenario, "assumptions": assumptions}


def _entities_section(
    entities: list[DraftEntity], situation: str, rng: random.Random, assumptions: list[str]
) -> dict[str, Any]:
    count = len(entities) if len(entities) >= 2 else 3
    if count > len(entities):
        read = f"only {len(entities)}" if entities else "no"
        assumptions.append(
            f"{read} entities could be read from the sentence; "
            f"the model will populate {count - len(entities)} more"
        )
    kinds = list(dict.fromkeys(e.kind for e in entities))
    if count > len(entities) and EntityKind.HUMAN not in kinds:
        kinds.append(EntityKind.HUMAN)
    animism = max((vocab.ANIMISM_FOR_KIND[k] for k in kinds), default=0)
    if animism:
        assumptions.append(
            f"animism level {animism} so that {', '.join(k.value for k in kinds)} can take part"
        )
    roster = []
    for entity in entities:
        others = [e.name for e in entities if e is not entity]
        knowledge = [f"The situation: {situation}"]
        if others and entity.role in {"primary", "secondary"}:
            knowledge.append(f"Also involved: {', '.join(others)}.")
        traits = {t: round(rng.uniform(-0.5, 0.9), 2) for t in sorted(rng.sample(vocab.TRAITS, 2))}
        roster.append(
            {
                "id": entity.id,
                "name": entity.name,
                "kind": entity.kind.value,
                "role": entity.role,
                "traits": traits,
                "knowledge": knowledge,
            }
        )
    if roster:
        assumptions.append("personality traits are placeholders drawn from the seed")
    return {
        "count": count,
        "kinds": [k.value for k in kinds] or ["human"],
        "animism": animism,
        "roster": roster,
    }


def _mode(lower: str, assumptions: list[str]) -> str:
    for mode, cue in vocab.MODE_CUES:
        match = cue.search(lower)
        if match:
            assumptions.append(f"mode {mode}, from the phrase {match.group(0)!r}")
            return mode
    assumptions.append(
        "no cue for another mode (what if, flashback, every year, drama, how did we get "
        "there); using forward causality (pearl)"
    )
    return "pearl"


def _timepoints(
    lower: str, mode: str, years: list[int], location: str, assumptions: list[str]
) -> dict[str, Any]:
    unit, step = "hour", 1
    for pattern, pace_unit, pace_step in vocab.PACE:
        if pattern.search(lower):
            unit, step = pace_unit, pace_step
            break
    else:
        if mode == "portal":
            unit = "year"
        assumptions.append(f"one timepoint per {unit}; the sentence gives no pace")
    count = 6 if mode == "cyclical" else 3
    section: dict[str, Any] = {
        "count": count,
        "start": _start(lower, mode, years, assumptions).isoformat(),
        "step": step,
        "unit": unit,
    }
    if location:
        section["location"] = location
    else:
        assumptions.append("no place is named; the location is left to the model")
    return section


def _start(lower: str, mode: str, years: list[int], assumptions: list[str]) -> datetime:
    if mode == "portal":
        year = min(years) if len(years) > 1 else _portal_year(years) - _ORIGIN_OFFSET
        return datetime(year, 1, 1, 9, tzinfo=UTC)
    month, day = _month_day(lower)
    hour, minute = _time_of_day(lower)
    if years:
        year = years[0]
    else:
        year = 2025
        assumptions.append("no year in the sentence; starting in 2025")
    if not month:
        assumptions.append("no date in the sentence; starting on 1 January")
    if hour is None:
        assumptions.append("no time of day in the sentence; starting at 09:00")
        hour = 9
    assumptions.append("times are in UTC; the sentence gives no timezone")
    start = datetime(year, month or 1, 1, hour, minute, tzinfo=UTC)
    return start + timedelta(days=(day or 1) - 1)


def _month_day(lower: str) -> tuple[int, int]:
    iso = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", lower)
    if iso:
        return int(iso.group(2)), int(iso.group(3))
    months = "|".join(vocab.MONTHS)
    named = re.search(rf"\b(?:(\d{{1,2}}) )?({months})(?: (\d{{1,2}})\b)?", lower)
    if not named:
        return 0, 0
    day = named.group(1) or named.group(3)
    day_number = int(day) if day and 1 <= int(day) <= 31 else 1
    return vocab.MONTHS[named.group(2)], day_number


def _time_of_day(lower: str) -> tuple[int | None, int]:
    clock = re.search(r"\b([01]?\d|2[0-3]):([0-5]\d)\b(?: ?([ap])\.?m\b)?", lower)
    if clock:
        hour = int(clock.group(1))
        if clock.group(3) and hour <= 12:
            hour = hour % 12 + (12 if clock.group(3) == "p" else 0)
        return hour, int(clock.group(2))
    meridiem = re.search(r"\b(1[0-2]|[1-9]) ?([ap])\.?m\b", lower)
    if meridiem:
        hour = int(meridiem.group(1)) % 12 + (12 if meridiem.group(2) == "p" else 0)
        return hour, 0
    for word, hour in vocab.DAYTIMES.items():
        if re.search(rf"\b{word}\b", lower):
            return hour, 0
    return None, 0


def _portal_year(years: list[int]) -> int:
    return max(years) if years else 2035


def _temporal(
    mode: str, text: str, years: list[int], entities: list[DraftEntity], assumptions: list[str]
) -> dict[str, Any]:
    section: dict[str, Any] = {"mode": mode}
    if mode == "portal":
        portal_year = _portal_year(years)
        if len(years) > 1:
            origin_year = min(years)
        else:
            origin_year = portal_year - _ORIGIN_OFFSET
            assumptions.append(
                f"origin year {origin_year}: {_ORIGIN_OFFSET} years before the endpoint"
            )
        if not years:
            assumptions.append(f"no year in the sentence; the endpoint is put in {portal_year}")
        section["portal"] = {
            "description": text,
            "portal_year": portal_year,
            "origin_year": origin_year,
            "backward_steps": 3,
            "candidates_per_step": 2,
            "path_count": 2,
        }
    elif mode == "branching":
        section["branching"] = {"branches": 2, "path_count": 3}
        assumptions.append("two branch points, three paths kept")
    elif mode == "cyclical":
        section["cyclical"] = {"cycle_length": 3}
        assumptions.append("cycles of three timepoints, two cycles")
    elif mode == "nonlinear":
        section["nonlinear"] = {"presentation": [2, 0, 1]}
        assumptions.append("the story opens at the last timepoint, then flashes back")
    elif mode == "directorial":
        primaries = [e.id for e in entities if e.role == "primary"][:1]
        section["directorial"] = {"dramatic_tension": 0.7, "pov": primaries}
    return section


def _title(text: str) -> str:
    title = text.rstrip(" .?!;:")
    title = title[0].upper() + title[1:]
    if len(title) > 80:
        title = title[:80].rsplit(" ", 1)[0] + "…"
    return title


def _identifier(tokens: list[str], years: list[int]) -> str:
    words = [
        vocab.singular(t)
        for t in tokens
        if t[0].isalpha() and t.lower() not in vocab.NOT_NAMES and len(t) > 2
    ]
    words = list(dict.fromkeys(slug(w) for w in words if slug(w)))[:4]
    if years:
        words.append(str(years[0]))
    identifier = "_".join(words) or "scenario"
    return identifier if identifier[0].isalpha() else "scenario_" + identifier
