"""The mapping rules from the earlier Timepoint JSON template format to a scenario mapping.

Mode ``forward`` is ``pearl``; ``portal_*`` and the portal tuning keys become
``temporal.portal``; ``metadata.entity_roster`` becomes ``entities.roster``; per-mechanism
metadata (prospection, embodied constraints, circadian table, animistic entities, branches) goes
to ``mechanisms.settings`` and, where it describes an entity, into that entity's roster entry.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import Any

from timepoint.scenario.legacy_cast import CastMember, cast_from_description, cast_from_metadata
from timepoint.scenario.legacy_effects import metadata_effects, portal_extras
from timepoint.scenario.legacy_keys import KeyLedger
from timepoint.scenario.legacy_values import (
    BodyRule,
    display_name,
    embodied_value,
    fact_text,
    is_trait,
    slug_id,
    stress_value,
    tidy,
    voice_text,
)
from timepoint.scenario.schema import NO_EXPANSION, TEMPLATE_ALIASES, TemporalMode, TimeUnit
from timepoint.scenario.vocabulary import ROLE_WORDS, kind_from_identifier
from timepoint.world.entity import EntityKind

_MODES = {"forward": "pearl", **{mode.value: mode.value for mode in TemporalMode}}
_NAMED_TRAIT_VALUE = 0.8
_BUDGET_MODES = {"max": "max_quality"}
#: earlier budget modes that only steered allocation (never stopped a run)
_BUDGET_GUIDANCE = {"adaptive", "orchestrator", "user"}
_PORTAL_KEYS = {
    "backward_steps": "backward_steps",
    "candidate_antecedents_per_step": "candidates_per_step",
    "path_count": "path_count",
    "coherence_threshold": "coherence_threshold",
    "max_backtrack_depth": "max_backtrack_depth",
    "exploration_mode": "exploration",
    "oscillation_complexity_threshold": "oscillation_threshold",
    "use_simulation_judging": "simulation_judging",
    "simulation_forward_steps": "simulation_forward_steps",
    "judge_model": "judge_model",
}
_PORTAL_WEIGHTS = {
    "llm_scoring_weight": "plausibility",
    "historical_precedent_weight": "precedent",
    "causal_necessity_weight": "necessity",
    "entity_capability_weight": "capability",
}


class TemplateConverter(KeyLedger):
    """Converts one template; the keys it reads are recorded by the :class:`KeyLedger` base.

    Args:
        data: The parsed template.
        fallback_id: Scenario id when the template has no ``world_id``.
    """

    def __init__(self, data: Mapping[str, Any], fallback_id: str):
        super().__init__(data)
        self.fallback_id = fallback_id
        self.notes: list[str] = []
        self.roster: dict[str, dict[str, Any]] = {}
        self.settings: dict[str, dict[str, Any]] = {}

    def convert(self) -> dict[str, Any]:
        """The scenario mapping (not yet validated); call :meth:`unmapped` afterwards."""
        identifier = slug_id(self.take("world_id") or "") or slug_id(self.fallback_id) or "imported"
        title = self.take("patch.name") or identifier.replace("_", " ").title()
        scenario: dict[str, Any] = {
            "id": identifier,
            "title": title,
            "description": tidy(self.take("scenario_description") or title),
        }
        mode = self._mode()
        scenario["timepoints"] = self._timepoints(mode)
        scenario["temporal"] = self._temporal(mode)
        scenario["fidelity"] = self._fidelity()
        scenario["outputs"] = self._outputs()
        max_cost = self.take("max_cost_usd")
        if max_cost is not None:
            scenario["budget"] = {"max_usd": max_cost}
        self._metadata(scenario["timepoints"])
        metadata_effects(self, scenario)
        portal_extras(self, mode)
        scenario["entities"] = self._entities()
        if self.settings:
            scenario["mechanisms"] = {"settings": self.settings}
        return scenario

    def _mode(self) -> str:
        raw = self.take("temporal.mode", "forward")
        mode = _MODES.get(str(raw).lower())
        if mode is None:
            self.skip("temporal.mode", f"unknown mode; allowed: {', '.join(_MODES)}")
            return "pearl"
        return mode

    def _timepoints(self, mode: str) -> dict[str, Any]:
        section: dict[str, Any] = {}
        refused = {m.value: why for m, why in NO_EXPANSION.items()}.get(mode)
        for old in ("before_count", "after_count"):
            if refused and self.present(f"timepoints.{old}") and self.take(f"timepoints.{old}"):
                self.skip(f"timepoints.{old}", f"no vertical expansion in {mode} mode: {refused}")
        for old, new, limit in (
            ("count", "count", 200),
            ("before_count", "before", 10),
            ("after_count", "after", 10),
        ):
            if f"timepoints.{old}" in self.skipped:
                continue
            value = self.take(f"timepoints.{old}")
            if value is not None:
                section[new] = min(int(value), limit)
                if value > limit:
                    self.notes.append(f"timepoints.{old} {value} capped at {limit}")
        start = self.take("timepoints.start_time")
        if start is not None:
            section["start"] = start
        unit = self.take("timepoints.resolution")
        if unit in {u.value for u in TimeUnit}:
            section["unit"] = unit
        elif unit is not None:
            self.skip("timepoints.resolution", "allowed: " + ", ".join(u.value for u in TimeUnit))
        return section

    def _temporal(self, mode: str) -> dict[str, Any]:
        section: dict[str, Any] = {"mode": mode}
        arc = self.take("temporal.narrative_arc")
        directorial = {"narrative_arc": arc} if arc else {}
        tension = self.take("temporal.dramatic_tension")
        if tension is not None:
            directorial["dramatic_tension"] = tension
        cyclical = {}
        for old, new in (
            ("cycle_length", "cycle_length"),
            ("prophecy_accuracy", "prophecy_accuracy"),
        ):
            value = self.take(f"temporal.{old}")
            if value is not None:
                cyclical[new] = value
        section |= {"directorial": directorial, "cyclical": cyclical}
        counterfactuals = self.take("temporal.enable_counterfactuals")
        if counterfactuals and mode != "branching":
            self.skip(
                "temporal.enable_counterfactuals", f"branching is a mode here; mode is {mode}"
            )
        description = self.take("temporal.portal_description")
        portal_year, origin_year = (
            self.take("temporal.portal_year"),
            self.take("temporal.origin_year"),
        )
        keys = [*_PORTAL_KEYS, *_PORTAL_WEIGHTS]
        if mode == "branching":
            section["branching"] = {
                key: self.take(f"temporal.{key}")
                for key in ("path_count", "coherence_threshold")
                if self.present(f"temporal.{key}")
            }
            keys = [k for k in keys if k not in section["branching"]]
        if description and portal_year is not None and origin_year is not None:
            portal: dict[str, Any] = {
                "description": description,
                "portal_year": portal_year,
                "origin_year": origin_year,
            }
            for old, new in _PORTAL_KEYS.items():
                if self.present(f"temporal.{old}"):
                    portal[new] = self.take(f"temporal.{old}")
            weights = {new: self.take(f"temporal.{old}") for old, new in _PORTAL_WEIGHTS.items()}
            portal["weights"] = {k: v for k, v in weights.items() if v is not None}
            if portal.get("backward_steps", 0) > 50:
                self.notes.append(f"backward_steps {portal['backward_steps']} capped at 50")
                portal["backward_steps"] = 50
            section["portal"] = portal
        else:
            for key in keys:
                self.skip(f"temporal.{key}", f"a portal setting; mode is {mode}")
            if mode == "portal":
                self.notes.append("mode portal without description and years")
        return section

    def _fidelity(self) -> dict[str, Any]:
        section: dict[str, Any] = {}
        template = self.take("temporal.fidelity_template")
        if template is not None:
            section["template"] = TEMPLATE_ALIASES.get(template, template)
            if template in TEMPLATE_ALIASES:
                self.notes.append(
                    f"fidelity template {template!r} is {TEMPLATE_ALIASES[template]!r} here"
                )
        planning = self.take("temporal.fidelity_planning_mode")
        if planning is not None:
            section["planning"] = planning
        mode = self.take("temporal.token_budget_mode")
        if mode is not None:
            section["budget_mode"] = _BUDGET_MODES.get(mode, mode)
            if mode in _BUDGET_GUIDANCE:
                section["budget_mode"] = "soft"
                self.approximate(
                    "temporal.token_budget_mode",
                    f"{mode!r} budgets are soft here: guidance that lowers fidelity and warns",
                )
        budget = self.take("temporal.token_budget")
        if budget is not None:
            section["token_budget"] = int(budget)
        return section

    def _outputs(self) -> dict[str, Any]:
        narrative = self.take("outputs.generate_narrative_exports", True)
        formats = list(self.take("outputs.narrative_export_formats") or [])
        if not narrative and formats:
            self.skip("outputs.narrative_export_formats", "narrative exports are off")
            formats = []
        runs = list(self.take("outputs.formats") or [])
        formats += [f for f in runs if f != "jsonl" and f not in formats]
        section: dict[str, Any] = {"formats": formats}
        training = bool(self.take("outputs.export_ml_dataset")) or "jsonl" in runs
        section["training_export"] = training
        detail = self.take("outputs.narrative_detail_level")
        if detail is not None:
            section["detail"] = detail
        return section

    def _metadata(self, timepoints: dict[str, Any]) -> None:
        meta = "metadata"
        for entity_id, spec in (self.take(f"{meta}.entity_roster") or {}).items():
            self._roster_entry(entity_id, spec, f"{meta}.entity_roster.{entity_id}")
        for entity_id, traits in (self.take(f"{meta}.cognitive_traits") or {}).items():
            entry = self._entry(entity_id)
            entry.setdefault("traits", {}).update(
                {slug_id(k): float(v) for k, v in traits.items() if is_trait(v)}
            )
            for key, value in traits.items():
                if not is_trait(value):
                    self.skip(f"{meta}.cognitive_traits.{entity_id}.{key}", "not in [-1, 1]")
        prospection = self.take(f"{meta}.prospection_config")
        if prospection:
            self.settings["m15"] = dict(prospection)
            if prospection.get("modeling_entity"):
                self._entry(prospection["modeling_entity"])["plans"] = True
            if prospection.get("target_entity"):
                self._entry(prospection["target_entity"])
        for key, convert in (
            ("embodied_constraints", embodied_value),
            ("stress_markers", stress_value),
        ):
            states = (self.data.get(meta) or {}).get(key)
            if isinstance(states, Mapping):
                for entity_id, state in states.items():
                    self._body(entity_id, state, f"{meta}.{key}.{entity_id}", convert)
        circadian = self.take(f"{meta}.circadian_config")
        if circadian:
            self.settings["m14"] = dict(circadian)
            self._clock(circadian.get("timepoints") or [], timepoints)
        animistic = self.take(f"{meta}.animistic_entities")
        if animistic:
            self.settings["m16"] = {"entities": animistic}
            for entity_id in animistic:
                self._entry(entity_id)
        self._metadata_casts()

    def _metadata_casts(self) -> None:
        """Every other metadata value that lists characters becomes roster entries."""
        metadata = self.data.get("metadata")
        if not isinstance(metadata, Mapping):
            return
        for key, value in metadata.items():
            path = f"metadata.{key}"
            if path in self.used:
                continue
            members = cast_from_metadata(str(key), value)
            if members:
                self.take(path)
                self._cast(members)

    def _cast(self, members: list[CastMember]) -> None:
        for member in members:
            entry = self._entry(member.id)
            entry["name"] = member.name
            if member.role and not entry.get("description"):
                entry["description"] = member.role
            known = entry.setdefault("knowledge", [])
            known += [k for k in member.knowledge if k not in known]

    def _description_cast(self, count: int) -> None:
        """Fill the roster up to ``count`` with the people the description names."""
        description = self.data.get("scenario_description")
        if len(self.roster) >= count or not isinstance(description, str):
            return
        members = cast_from_description(description, set(self.roster), count - len(self.roster))
        if members:
            self._cast(members)
            self.approximate(
                "entities.count",
                "characters read from scenario_description: " + ", ".join(m.name for m in members),
            )

    def _entities(self) -> dict[str, Any]:
        section: dict[str, Any] = {}
        kinds: list[str] = []
        for kind in self.take("entities.types") or []:
            if kind in {k.value for k in EntityKind}:
                kinds.append(kind)
            else:
                self.skip("entities.types", f"kind {kind!r} is not one of the entity kinds")
        wanted = self.take("entities.count") or len(self.roster) or 3
        self._description_cast(wanted)
        roster = list(self.roster.values())
        for entry in roster:
            if entry["kind"] not in kinds:
                kinds.append(entry["kind"])
        humans = [e for e in roster if e["kind"] == "human"]
        for position, entry in enumerate(humans):
            entry["role"] = "primary" if position < 4 else "secondary"
        count = wanted
        if len(roster) > count:
            self.notes.append(f"entities.count {count} raised to the roster size {len(roster)}")
            count = len(roster)
        elif roster and len(roster) < count:
            self.approximate(
                "entities.count",
                f"{count} lowered to the {len(roster)} characters the template names (more would "
                "run as unnamed placeholders)",
            )
            count = len(roster)
        section |= {"count": count, "kinds": kinds or ["human"], "roster": roster}
        resolution = self.take("entities.initial_resolution")
        if resolution is not None:
            section["initial_resolution"] = resolution
        animism = self.take("entities.animism_level")
        if animism is not None:
            section["animism"] = animism
        return section

    def _entry(self, entity_id: str) -> dict[str, Any]:
        identifier = slug_id(entity_id)
        if identifier not in self.roster:
            kind = kind_from_identifier(identifier) or EntityKind.HUMAN
            role = "environment" if kind is EntityKind.BUILDING else "secondary"
            self.roster[identifier] = {
                "id": identifier,
                "name": display_name(identifier),
                "kind": kind.value,
                "role": role,
            }
            *given, last = identifier.split("_")
            if given and last in ROLE_WORDS:
                # ``sarah_ceo``: Sarah, the CEO
                self.roster[identifier]["name"] = display_name("_".join(given))
                self.roster[identifier]["description"] = last.upper() if len(last) <= 3 else last
        return self.roster[identifier]

    def _roster_entry(self, entity_id: str, spec: Mapping[str, Any], path: str) -> None:
        entry = self._entry(entity_id)
        for key, value in spec.items():
            if key == "type" and value in {k.value for k in EntityKind}:
                entry["kind"] = value
            elif key == "role":
                entry["description"] = value
            elif key == "initial_knowledge":
                entry["knowledge"] = [fact_text(item) for item in value]
            elif key == "personality_traits" and isinstance(value, list):
                entry["traits"] = {slug_id(t): _NAMED_TRAIT_VALUE for t in value}
                self.notes.append(
                    f"{entity_id}: personality traits given by name; each set to "
                    f"{_NAMED_TRAIT_VALUE}"
                )
            elif key in {"voice_guide", "speech_examples"}:
                entry["voice"] = voice_text(spec.get("voice_guide"), spec.get("speech_examples"))
            else:
                self.skip(f"{path}.{key}", "no counterpart in a roster entry")

    def _body(self, entity_id: str, state: Any, path: str, convert: BodyRule) -> None:
        """Physical and cognitive state of one entity from a body or stress mapping; each key
        is mapped, approximated (saying how) or unsupported."""
        entry = self._entry(entity_id)
        if not isinstance(state, Mapping):
            self.skip(path, "not a mapping of state values")
            return
        for key, value in state.items():
            found = convert(str(key), value)
            if found is None:
                self.skip(f"{path}.{key}", "no counterpart in a physical or cognitive state")
                continue
            section, field_name, number, how = found
            entry.setdefault(section, {})[field_name] = number
            if how:
                self.approximate(f"{path}.{key}", how)
            else:
                self.take(f"{path}.{key}")

    def _clock(self, times: list[str], timepoints: dict[str, Any]) -> None:
        hours = [int(t.split(":")[0]) for t in times if re.fullmatch(r"\d{1,2}:\d\d", str(t))]
        if not hours or "start" in timepoints:
            return
        timepoints["start"] = f"2025-01-01T{hours[0]:02d}:00:00+00:00"
        steps = {(b - a) % 24 for a, b in itertools.pairwise(hours)}
        if len(steps) == 1:
            timepoints["step"], timepoints["unit"] = steps.pop(), "hour"
        self.notes.append(f"start at {hours[0]:02d}:00 (circadian timepoints {', '.join(times)})")
