"""The requests PORTAL's search sends for candidate states: the portal, the origin,
antecedents and consequents, each answered by a
:class:`~timepoint.time.modes.portal_drafts.CandidateSet`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from timepoint.llm.base import ActionType, Request
from timepoint.llm.grounded_schema import grounded
from timepoint.llm.task_data import task_request
from timepoint.time.modes.common import scenario_brief
from timepoint.time.modes.portal_drafts import CandidateSet

if TYPE_CHECKING:
    from timepoint.time.modes.portal_search import PortalNode, PortalSearch


def candidate_request(
    search: PortalSearch,
    anchor: PortalNode | None,
    index: int,
    direction: str,
    k: int,
    attempt: int = 0,
) -> Request:
    """The request for ``k`` candidate states at step ``index``.

    ``direction`` is ``portal`` or ``origin`` (one given state, no anchor), ``backward``
    (antecedents of ``anchor``) or ``forward`` (consequents of ``anchor``); ``attempt`` counts
    regenerations after a failed forward check, so a retry asks afresh.
    """
    cfg, year = search.cfg, search.times[index].year
    context: dict[str, Any] = {
        "direction": direction,
        "scenario": scenario_brief(search.sim),
        "portal": {"description": cfg.description, "year": cfg.portal_year},
        "origin_year": cfg.origin_year,
        "target_year": year,
        "anchor": {**anchor.state.model_dump(), "year": search.year(anchor)} if anchor else None,
        "entities": search.people,
        "k": k,
        "attempt": attempt,
    }
    ask = {
        "portal": f"Describe the endpoint state in {year}.",
        "origin": f"Describe the situation at the origin, {year}, before anything is decided.",
        "backward": f"Propose {k} different states in {year} that could have led to the "
        "later state.",
        "forward": f"Propose {k} different states in {year} that could follow from the "
        f"earlier state and move toward the endpoint.",
    }[direction]
    lines = [
        f"Scenario: {search.sim.scenario.title}. {search.sim.scenario.description}",
        f"Endpoint ({cfg.portal_year}): {cfg.description}",
    ]
    if anchor is not None:
        side = "Later" if direction == "backward" else "Earlier"
        lines.append(
            f"{side} state ({search.year(anchor)}): {anchor.state.description} Key events: "
            + "; ".join(anchor.state.key_events)
        )
    if attempt:
        lines.append(f"Attempt {attempt + 1}: the previous proposal did not hold up forward.")
    lines += [
        ask,
        "Each state: description, key_events, entity_changes (entity id → change), "
        "world_context, causal_link. Entities: "
        + ", ".join(f"{p['id']} ({p['name']}, {p['role']})" for p in search.people),
    ]
    return task_request(
        ActionType.PORTAL_BACKWARD_REASONING,
        grounded(CandidateSet, entities={p["id"]: p["name"] for p in search.people}),
        system="You reason backwards from outcomes to causes.",
        prose="\n".join(lines),
        data=context,
        seed=search.sim.ctx.seed,
        max_tokens=400 * k,
        subject=f"portal:{direction}:{year}",
    )
