"""PORTAL: from an endpoint (the portal) back to an origin, then checked forward.

(1) The model describes the portal state at ``portal_year``. (2) For each backward step, each
frontier state gets ``candidates_per_step`` antecedents at the step's time (description, key
events, entity changes, world context, causal link). (3) Each is scored by weighted components
(:mod:`~timepoint.time.modes.portal_scoring`), optionally after a short forward simulation judged
by ``judge_model``. (4) A frontier larger than 3·P keeps its best 2·P. (5) Paths are the chains
from the origin to the portal. (6) Each path is re-checked forward; paths below
``coherence_threshold`` are backtracked (their weakest step regenerated, up to
``max_backtrack_depth`` times), replaced by the next candidate path, or kept with a warning.
(7) Pivot points are the steps where the kept paths diverge most or where scores jump. (8) All
P paths are stored as timelines in chronological order with their scores; the best is ``main``.

Exploration: ``reverse_chronological`` walks back from the portal; ``oscillating`` alternates
between the portal side (antecedents) and the origin side (consequents) and joins them in the
middle; ``adaptive`` oscillates when ``backward_steps`` exceeds ``oscillation_threshold``.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from typing import TYPE_CHECKING

from timepoint.scenario.schema import FidelityTemplate, PortalConfig, Scenario
from timepoint.time.modes.common import add_path_timepoint, scored_check
from timepoint.time.modes.portal_forward import CandidatePath
from timepoint.time.modes.portal_search import PortalNode, PortalSearch
from timepoint.time.paths import ScoredPath, find_pivots, path_infos
from timepoint.time.wording import mentions
from timepoint.world import EntityRole, Timeline, Timepoint
from timepoint.world.causal import integrity_problems

if TYPE_CHECKING:
    from timepoint.time.simulator import Simulator


def _on_year(moment: datetime, year: int) -> datetime:
    day = min(moment.day, calendar.monthrange(year, moment.month)[1])
    return moment.replace(year=year, day=day)


def portal_times(scenario: Scenario, cfg: PortalConfig) -> list[datetime]:
    """Step times from the origin (index 0) to the portal (last), evenly spaced.

    The origin keeps the scenario's start date and time of day, moved to ``origin_year``; the
    portal is the same date in ``portal_year``.
    """
    origin = _on_year(scenario.timepoints.start, cfg.origin_year)
    portal = _on_year(scenario.timepoints.start, cfg.portal_year)
    steps = cfg.backward_steps
    return [origin + (portal - origin) * i / steps for i in range(steps + 1)]


class PortalMode:
    name = "portal"

    def simulate(self, sim: Simulator) -> None:
        cfg = sim.scenario.temporal.portal
        assert cfg is not None
        steps = cfg.backward_steps
        sim.timepoint_count = steps + 1
        sim.expected_timepoints = (steps + 1) * cfg.path_count
        sim.plan_schedule(steps + 1, importance=[0.35 + 0.6 * i / steps for i in range(steps + 1)])
        times = portal_times(sim.scenario, cfg)
        search = PortalSearch(sim, times)
        paths = search.run()
        self._allocate_pivots(sim, paths)
        self._store(sim, search, paths, times)
        sim.record_integrity(integrity_problems(sim.state.timepoints, forward=True))

    @staticmethod
    def _allocate_pivots(sim: Simulator, paths: list[CandidatePath]) -> None:
        """Under ``portal_pivots``, re-plan the schedule around the pivots the paths show."""
        if (
            sim.schedule is None
            or sim.scenario.fidelity.template is not FidelityTemplate.PORTAL_PIVOTS
        ):
            return
        found = find_pivots(
            [[n.state.description for n in p.nodes] for p in paths],
            [[n.score if n.score is not None else p.search_score for n in p.nodes] for p in paths],
        )
        pivots = set().union(*found) if found else set()
        sim.schedule = sim.schedule.with_pivots(pivots)
        sim.state.evidence.fidelity_schedule = sim.schedule.summary(len(sim.state.entities))
        parts = [step.part for step in sim.schedule.steps]
        sim.state.ledger.set("M1", "pivot steps", parts.count("pivot"))

    def _store(
        self,
        sim: Simulator,
        search: PortalSearch,
        paths: list[CandidatePath],
        times: list[datetime],
    ) -> None:
        cfg = sim.scenario.temporal.portal
        assert cfg is not None
        names = ["main", *(f"path_{n}" for n in range(2, len(paths) + 1))]
        scored: list[ScoredPath] = []
        for name, path in zip(names, paths, strict=True):
            sim.enter("paths", f"writing {name}", len(scored), len(paths))
            ids: list[str] = []
            for node in path.nodes:
                tp = self._timepoint(sim, node, name, ids[-1] if ids else None, times)
                add_path_timepoint(sim, tp, node.tokens, name)
                ids.append(tp.id)
            sim.state.timelines[name] = Timeline(
                id=name,
                mode="portal",
                timepoint_ids=ids,
                score=path.score,
                label=f"path {len(scored) + 1} ({search.strategy.replace('_', ' ')})",
            )
            scored.append(
                ScoredPath(
                    timeline_id=name,
                    score=path.score,
                    timepoint_ids=ids,
                    events=[n.state.description for n in path.nodes],
                    step_scores=[
                        n.score if n.score is not None else path.search_score for n in path.nodes
                    ],
                    components=path.component_means(),
                    warning=path.warning,
                )
            )
            scored_check(
                sim,
                "portal_forward_coherence",
                path.coherence,
                cfg.coherence_threshold,
                f"{name}: forward coherence per step {path.pairs}; {path.backtracks} backtracks"
                + (f"; {path.warning}" if path.warning else ""),
                target=name,
            )
            for problem in path.problems:
                scored_check(sim, "portal_knowledge_flow", 0.0, 1.0, f"{name}: {problem}", name)
        sim.paths = path_infos(scored)
        ledger = sim.state.ledger
        ledger.count("M17", "paths kept", len(paths))
        ledger.count("M17", "pivots", sum(len(p.pivots) for p in sim.paths))
        ledger.set("M17", "best path score", paths[0].score if paths else 0.0)
        ledger.note("M17", f"portal exploration: {search.strategy.replace('_', ' ')}")
        sim.extras["portal"] = {
            "exploration": search.strategy,
            "steps": search.steps,
            "times": [t.isoformat() for t in times],
            "weights": search.weights,
            "states_generated": len(search.nodes),
            "paths": [
                {
                    "timeline": name,
                    "score": path.score,
                    "search_score": round(path.search_score, 4),
                    "coherence": path.coherence,
                    "step_coherence": path.pairs,
                    "backtracks": path.backtracks,
                    "knowledge_flow_problems": path.problems,
                    "warning": path.warning,
                    "reasoning": [n.reasoning for n in path.nodes],
                }
                for name, path in zip(names, paths, strict=True)
            ],
        }

    @staticmethod
    def _timepoint(
        sim: Simulator,
        node: PortalNode,
        timeline: str,
        parent: str | None,
        times: list[datetime],
    ) -> Timepoint:
        state = node.state
        entities = sim.state.entities
        named = [e for e in state.entity_changes if e in entities]
        by_name = {e.name: e.id for e in entities.values()}
        named += [by_name[n] for n in mentions(state.text(), by_name) if by_name[n] not in named]
        if not named:
            named = [e.id for e in entities.values() if e.role is EntityRole.PRIMARY]
        step = node.index
        tp_id = f"tp_{step:03d}" if timeline == "main" else f"{timeline}_{step:03d}"
        schedule = sim.schedule.step(step).importance if sim.schedule else 0.5
        return Timepoint(
            id=tp_id,
            timestamp=times[step],
            event=state.description,
            entities_present=named,
            causal_parent=parent,
            importance=round(schedule, 4),
            timeline_id=timeline,
            location=sim.scenario.timepoints.location,
            key_facts=list(state.key_events),
        )
