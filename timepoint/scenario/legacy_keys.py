"""Bookkeeping of an earlier-format template's keys: which were read, which were skipped.

:class:`KeyLedger` hands out values by dotted path and remembers each path it gave out; whatever
was never read, or was read and explicitly skipped, comes back as :class:`Unmapped`, so a
conversion can never drop a key silently.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

#: why some keys have no counterpart (longest matching prefix wins)
_REASONS = {
    "patch": "preset catalogue data; this schema has no tags or authorship fields",
    "entities.envelope": "ADPRS envelopes are not part of this schema",
    "entities.adprs_envelopes": "ADPRS envelopes are not part of this schema",
    "variations": "variations are batch specs here; see expand_grid",
    "enable_checkpoints": "runs record every step; there are no checkpoints to configure",
    "checkpoint_interval": "runs record every step; there are no checkpoints to configure",
    "temporal.checkpoint_interval": "runs record every step; there are no checkpoints",
    "metadata.mechanisms_featured": "informational; mechanisms run unless disabled",
    "outputs.include_dialogs": "run records always include dialogs",
    "outputs.include_relationships": "run records always include relationships",
    "outputs.include_knowledge_flow": "run records always include exposure events",
    "outputs.enhance_narrative_with_llm": "the summary model is chosen per action",
    "metadata.animism_level_description": "prose about entities.animism_level, which is mapped",
    "metadata.pitch_type": "a label of the template; it names no setting",
    "temporal.custom_fidelity_schedule": "a per-step list of levels is not expressible; "
    "fidelity.template and fidelity.planning make the schedule",
    "temporal.custom_temporal_steps": "steps are evenly spaced (timepoints.step and unit, or "
    "the portal years)",
    "economic_scenario": "the earlier economic-scenario catalogue is not shipped; describe the "
    "economy in the description or in roster knowledge",
    "founder_profiles": "the earlier founder archetypes are not shipped; give roster entries "
    "profile: files",
    "temporal.max_parallel_workers": "concurrency is models.max_concurrency",
    "temporal.fast_simulation_model": "models.actions chooses a model per action",
}

#: the reason given to a key no rule knows; a simulation-changing key must never end here
GENERIC_REASON = "no counterpart in the scenario schema"


@dataclass(frozen=True)
class KeyRow:
    """One line of the import table: a template key and what became of it.

    ``status`` is ``mapped`` (carried over as it is), ``approximated`` (carried over in
    another form; ``detail`` says how) or ``unsupported`` (``detail`` says why).
    """

    status: str
    path: str
    detail: str = ""


@dataclass(frozen=True)
class Unmapped:
    """A template key the converter could not carry over."""

    path: str
    value: Any
    reason: str = ""

    def __str__(self) -> str:
        reason = f" ({self.reason})" if self.reason else ""
        return f"not mapped: {self.path}{reason}"


class KeyLedger:
    """Reads a nested mapping by dotted paths and records what was read.

    Args:
        data: The parsed template.
    """

    def __init__(self, data: Mapping[str, Any]):
        self.data = data
        self.used: set[str] = set()
        self.skipped: dict[str, str] = {}
        self.approximations: dict[str, str] = {}

    def take(self, path: str, default: Any = None) -> Any:
        """The value at a dotted path, marked as consumed."""
        node: Any = self.data
        for key in path.split("."):
            if not isinstance(node, Mapping) or key not in node:
                return default
            node = node[key]
        self.used.add(path)
        return node

    def skip(self, path: str, reason: str) -> None:
        """Mark ``path`` (and everything below it) as not carried over, with the reason."""
        self.skipped[path] = reason

    def approximate(self, path: str, how: str) -> None:
        """Mark ``path`` (and everything below it) as read and carried over in another form."""
        self.used.add(path)
        earlier = self.approximations.get(path)
        self.approximations[path] = f"{earlier}; {how}" if earlier else how

    def rows(self) -> list[KeyRow]:
        """Every leaf of the template as mapped, approximated or unsupported, in template order."""
        unsupported = {item.path: item.reason for item in self.unmapped()}
        rows = []
        for path, _ in _leaves(self.data):
            if path in unsupported:
                rows.append(KeyRow("unsupported", path, unsupported[path]))
                continue
            how = next(
                (self.approximations[p] for p in _prefixes(path) if p in self.approximations),
                None,
            )
            rows.append(KeyRow("approximated", path, how) if how else KeyRow("mapped", path))
        return rows

    def present(self, path: str) -> bool:
        """True when ``path`` exists in the template with a non-null value (not marked read)."""
        parent, _, key = path.rpartition(".")
        node = self.data.get(parent, {}) if parent else self.data
        return isinstance(node, Mapping) and node.get(key) is not None

    def unmapped(self) -> list[Unmapped]:
        """Every leaf of the template that was skipped or never read, in template order."""
        found: list[Unmapped] = []
        for path, value in _leaves(self.data):
            prefixes = _prefixes(path)
            skipped = next((self.skipped[p] for p in prefixes if p in self.skipped), None)
            if skipped is not None:
                found.append(Unmapped(path, value, skipped))
            elif not any(p in self.used for p in prefixes):
                found.append(Unmapped(path, value, _reason(path, value)))
        return found


def _prefixes(path: str) -> list[str]:
    """``a.b.c`` -> ``['a.b.c', 'a.b', 'a']``."""
    parts = path.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


def _leaves(node: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            yield from _leaves(value, path)
        else:
            yield path, value


def _reason(path: str, value: Any) -> str:
    if value is None or value == {}:
        return "empty in the template"
    for prefix in _prefixes(path):
        if prefix in _REASONS:
            return _REASONS[prefix]
    return GENERIC_REASON
