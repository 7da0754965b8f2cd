"""Template keys of the earlier Timepoint that change a simulation, and what becomes of each.

Each rule reads its keys through the :class:`~timepoint.scenario.legacy_keys.KeyLedger`, so a key
is mapped (written into the scenario mapping), approximated (written in another form, saying
how) or skipped as unsupported (saying why); none is dropped without a line in the import table.

- named branches or timelines and a critical question (``metadata.branches``,
  ``metadata.critical_question``): in ``branching`` mode, the number of paths and the prescribed
  event of the first timepoint;
- phases (``metadata.phases``, ``metadata.acts`` …): one prescribed event per timepoint;
- PORTAL relaxation and simulation-judging details beyond what ``temporal.portal`` holds;
- information barriers and quantitative tracking, which this schema cannot express.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from timepoint.scenario.legacy_keys import KeyLedger

_BRANCH_KEYS = ("branches", "timelines", "named_timelines", "named_branches")
_PHASE_KEY = re.compile(r"(^|_)(phases?|acts|stages)$")
_BARRIER_KEY = re.compile(r"barrier|firewall|secret|compartment|need_to_know|asymmetr|private_info")
_TRACKING_KEY = re.compile(r"track|metric|resource|quantit|gauge|meter|indicator|time_series")
_NO_BARRIERS = (
    "information barriers are not expressible here: no scenario field keeps two entities from "
    "passing facts (M4 network flow checks only relationship edges and co-presence)"
)
_NO_TRACKING = (
    "quantitative tracking of a state over time has no scenario field: events, knowledge and "
    "relationships are recorded, but no named quantity is carried from timepoint to timepoint"
)
#: PORTAL simulation-judging keys with no field in ``temporal.portal``, and why
_JUDGING_UNSUPPORTED = {
    "simulation_max_entities": "the judging simulation runs with the entities the candidate "
    "names; there is no cap to set",
    "simulation_include_dialog": "judging simulations generate events only, never dialog",
    "judge_temperature": "the judge is asked at the temperature of the judging action; there is "
    "no per-scenario setting",
}


def portal_extras(ledger: KeyLedger, mode: str) -> None:
    """PORTAL relaxation and the judging keys ``temporal.portal`` has no field for."""
    keys = ["portal_relaxation_enabled", "simulation_cache_results", *_JUDGING_UNSUPPORTED]
    present = [k for k in keys if ledger.present(f"temporal.{k}")]
    if mode != "portal":
        for key in present:
            ledger.skip(f"temporal.{key}", f"a portal setting; mode is {mode}")
        return
    for key in present:
        path = f"temporal.{key}"
        value = ledger.take(path)
        if key == "portal_relaxation_enabled":
            if value:
                ledger.approximate(
                    path,
                    "always on: a path below coherence_threshold is backtracked up to "
                    "max_backtrack_depth, then replaced or kept with a warning",
                )
            else:
                ledger.skip(path, "relaxation cannot be switched off here")
        elif key == "simulation_cache_results":
            ledger.approximate(path, "every model call of a run is cached, judging included")
        else:
            ledger.skip(path, _JUDGING_UNSUPPORTED[key])


def metadata_effects(ledger: KeyLedger, scenario: dict[str, Any]) -> None:
    """Branches, phases, barriers and tracking found in ``metadata``."""
    metadata = ledger.data.get("metadata")
    if not isinstance(metadata, Mapping):
        return
    _branches(ledger, scenario, metadata)
    for key, value in metadata.items():
        path = f"metadata.{key}"
        if path in ledger.used or path in ledger.skipped:
            continue
        name = str(key).lower()
        if _PHASE_KEY.search(name) and isinstance(value, list) and value:
            _phases(ledger, scenario, path, value)
        elif _BARRIER_KEY.search(name):
            ledger.skip(path, _NO_BARRIERS)
        elif _TRACKING_KEY.search(name):
            ledger.skip(path, _NO_TRACKING)


def _branches(ledger: KeyLedger, scenario: dict[str, Any], metadata: Mapping[str, Any]) -> None:
    mode = scenario["temporal"]["mode"]
    question_path = "metadata.critical_question"
    question = metadata.get("critical_question")
    for key in _BRANCH_KEYS:
        branches = metadata.get(key)
        if not isinstance(branches, list) or not branches:
            continue
        path = f"metadata.{key}"
        if mode != "branching":
            ledger.skip(path, f"named branches need temporal.mode branching; mode is {mode}")
            continue
        ledger.take(path)
        branching = scenario["temporal"].setdefault("branching", {})
        count = branching.setdefault("path_count", min(len(branches), 20))
        ledger.approximate(
            path,
            f"{len(branches)} named branches: the run keeps temporal.branching.path_count "
            f"{count} paths and the model writes each one (names and outcomes are not prescribed)",
        )
    if isinstance(question, str) and question:
        events = scenario["timepoints"].setdefault("events", [])
        if events:
            ledger.skip(question_path, "the first timepoint already has a prescribed event")
            return
        ledger.take(question_path)
        events.append(f"The critical question is asked: {question}")
        ledger.approximate(question_path, "the prescribed event of the first timepoint")


def _phases(ledger: KeyLedger, scenario: dict[str, Any], path: str, phases: list[Any]) -> None:
    timepoints = scenario["timepoints"]
    if timepoints.get("events"):
        ledger.skip(path, "the timepoints already have prescribed events")
        return
    events = [_phase_text(phase) for phase in phases][:200]
    ledger.take(path)
    timepoints["events"] = events
    timepoints["count"] = max(int(timepoints.get("count", 1)), len(events))
    ledger.approximate(
        path,
        f"{len(events)} phases: one prescribed event per timepoint "
        f"(timepoints.count {timepoints['count']})",
    )


def _phase_text(phase: Any) -> str:
    if isinstance(phase, Mapping):
        parts = [str(phase[k]) for k in ("name", "title", "description", "event") if phase.get(k)]
        return ": ".join(parts)[:500] or str(dict(phase))[:500]
    return str(phase).replace("_", " ")[:500]
