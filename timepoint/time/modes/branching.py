"""BRANCHING: a forward tree search over decisions; every kept path becomes a scored timeline.

Steps run forward from an opening timepoint. Step ``i`` (from 1) is a branch point when
``(i - 1)`` is a multiple of ⌈steps/branches⌉ (moved to the next step when the scenario
prescribes the event of that step) or when the state it follows contains a decision;
there the model writes three consequents of each frontier state (a good, a bad and a
surprising one, each with its plausibility); elsewhere each frontier state gets one
continuation. Calls across the frontier run concurrently. Each new state is scored (continuity
with its parent, computed from shared entities and words, and for consequents the model's
plausibility); a path's score is the mean of its step scores. When the frontier grows past
3·``path_count`` states, the best 2·``path_count`` are kept. At the end the paths at or above
``coherence_threshold`` are kept, at most ``path_count`` (the best one with a warning if none
reaches it): the best is the main timeline, the others ``path_2``, ``path_3`` … Only kept states
become timepoints; per-timepoint mechanisms run on the main timeline.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from timepoint.kernel.fanout import fan_out
from timepoint.kernel.grounded import record_dropped
from timepoint.llm.base import ActionType, Request
from timepoint.llm.grounded_schema import grounded
from timepoint.llm.grounding import settle
from timepoint.llm.structured import expect_answer
from timepoint.llm.task_data import task_request
from timepoint.time.modes.branching_consequents import KINDS, ConsequentSet
from timepoint.time.modes.common import (
    add_path_timepoint,
    planned_event,
    scenario_brief,
    step_time,
)
from timepoint.time.paths import ScoredPath, path_infos
from timepoint.time.wording import clamp, content_words, overlap
from timepoint.world import EntityRole, Timeline, Timepoint
from timepoint.world.causal import integrity_problems
from timepoint.world.phrasing import about

if TYPE_CHECKING:
    from timepoint.time.simulator import Simulator

DECISION_CUES = frozenset(
    ["decide", "decision", "vote", "choose", "choice", "whether", "ultimatum", "deadline", "offer"]
)


@dataclass
class Node:
    """A state in the search tree, kept as a provisional timepoint until the search ends."""

    tp: Timepoint
    kind: str
    continuity: float
    plausibility: float | None
    tokens: int
    signature: str = ""
    chain: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        if self.plausibility is None:
            return self.continuity
        return 0.5 * self.continuity + 0.5 * self.plausibility


def continuity(parent: Timepoint, child: Timepoint) -> float:
    """How well ``child`` follows ``parent``: shared entities (0.4) and shared words (0.6)."""
    a, b = set(parent.entities_present), set(child.entities_present)
    people = len(a & b) / len(a | b) if a | b else 0.0
    words = overlap(" ".join([parent.event, *parent.key_facts]), child.event)
    return round(0.4 * people + 0.6 * clamp(2.5 * words), 4)


def has_decision(tp: Timepoint) -> str | None:
    """The sentence of ``tp`` (event or key fact) that holds a decision, if any."""
    for text in [tp.event, *tp.key_facts]:
        for sentence in re.split(r"(?<=[.;!?])\s+", text):
            if content_words(sentence) & DECISION_CUES:
                return sentence.strip()
    return None


class BranchingMode:
    name = "branching"

    def simulate(self, sim: Simulator) -> None:
        cfg = sim.scenario.temporal.branching
        steps = sim.timepoint_count
        interval = math.ceil(steps / cfg.branches)
        sim.plan_schedule(steps)
        sim.expected_timepoints = steps * cfg.path_count
        nodes: dict[str, Node] = {}
        root = self._continue(sim, [None], 0, nodes)[0]
        frontier = [root.tp.id]
        ledger = sim.state.ledger
        due = False
        for index in range(1, steps):
            planned = planned_event(sim, index)
            due = due or (index - 1) % interval == 0
            branch = [f for f in frontier if planned is None and (due or has_decision(nodes[f].tp))]
            due = due and planned is not None
            straight = [f for f in frontier if f not in branch]
            new = self._continue(sim, straight, index, nodes)
            new += self._branch(sim, branch, index, nodes)
            ledger.count("M17", "branch points", len(branch))
            frontier = [n.tp.id for n in new]
            if len(frontier) > 3 * cfg.path_count:
                frontier = sorted(frontier, key=lambda i: -self._path_score(nodes, i))
                ledger.count("M17", "states pruned", len(frontier) - 2 * cfg.path_count)
                frontier = frontier[: 2 * cfg.path_count]
        self._keep(sim, nodes, frontier)
        sim.record_integrity(integrity_problems(sim.state.timepoints, forward=True))

    # -- search ---------------------------------------------------------------------------
    def _continue(
        self, sim: Simulator, parents: Sequence[str | None], index: int, nodes: dict[str, Node]
    ) -> list[Node]:
        """One continuation per parent, asked concurrently."""
        if not parents:
            return []
        sim.enter("timepoints", f"{index + 1}/{sim.timepoint_count}", index, sim.timepoint_count)
        when = step_time(sim, index)
        requests = [
            sim.event_request(
                index=index,
                timestamp=when,
                parent=p,
                planned=planned_event(sim, index),
                subject=_node_id(index, nodes[p].signature if p else ""),
            )
            for p in parents
        ]
        completions = fan_out(sim.ctx.gateway.complete, requests, sim.ctx.max_concurrency)
        made = []
        for parent, request, completion in zip(parents, requests, completions, strict=True):
            signature = nodes[parent].signature if parent else ""
            tp = sim.event_timepoint(
                completion,
                request=request,
                index=index,
                timestamp=when,
                parent=parent,
                tp_id=_node_id(index, signature),
            )
            made.append(self._add(sim, nodes, tp, "continuation", None, completion, signature))
        return made

    def _branch(
        self, sim: Simulator, parents: list[str], index: int, nodes: dict[str, Node]
    ) -> list[Node]:
        """Good, bad and surprising consequents of each parent, asked concurrently."""
        if not parents:
            return []
        when = step_time(sim, index)
        requests = [self._request(sim, nodes[p].tp, index, when) for p in parents]
        completions = fan_out(sim.ctx.gateway.complete, requests, sim.ctx.max_concurrency)
        made = []
        for parent, request, completion in zip(parents, requests, completions, strict=True):
            settled = settle(sim.ctx.gateway.complete, request, completion)
            record_dropped(sim.state, "M17", f"consequents:{parent}", settled, timepoint_id=parent)
            answer = expect_answer(settled.parsed, ConsequentSet)
            seen: set[str] = set()
            for consequent in answer.consequents:
                if consequent.kind in seen:
                    continue
                seen.add(consequent.kind)
                signature = nodes[parent].signature + consequent.kind[0]
                present = [e for e in dict.fromkeys(consequent.present) if e in sim.state.entities]
                tp = Timepoint(
                    id=_node_id(index, signature),
                    timestamp=when,
                    event=consequent.event,
                    entities_present=present or list(nodes[parent].tp.entities_present),
                    causal_parent=parent,
                    importance=consequent.importance,
                    location=sim.scenario.timepoints.location,
                    key_facts=consequent.key_facts,
                )
                node = self._add(
                    sim, nodes, tp, consequent.kind, consequent.plausibility, completion, signature
                )
                node.tokens //= max(1, len(answer.consequents))
                made.append(node)
            sim.state.ledger.count("M17", "consequents", len(seen))
        return made

    def _request(self, sim: Simulator, parent: Timepoint, index: int, when: datetime) -> Request:
        people: list[dict[str, Any]] = [
            {
                "id": e.id,
                "name": e.name,
                "role": e.role.value,
                "known": [
                    about(ev.fact_text, e.name)
                    for ev in sim.state.knowledge_at(e.id, parent.id).values()
                    if ev.timepoint_id is None
                ][:4],
            }
            for e in sim.state.entities.values()
            if e.role is not EntityRole.ENVIRONMENT
        ]
        decision = has_decision(parent)
        context = {
            "scenario": scenario_brief(sim),
            "state": parent.event,
            "key_facts": list(parent.key_facts),
            "candidates": people,
            "timestamp": when.isoformat(),
            "index": index,
            "decision": decision,
            "kinds": list(KINDS),
        }
        prompt = (
            f"Scenario: {sim.scenario.title}. {sim.scenario.description}\n"
            f"State at {parent.timestamp.isoformat()}: {parent.event}\n"
            + (f"Decision at stake: {decision}\n" if decision else "")
            + f"Write three consequents at {when.isoformat()}: one good, one bad, one surprising. "
            "Each: kind, event, importance (a whole percentage, 0-100), present (entity ids), "
            "key_facts and your plausibility (a whole percentage). Entities: "
            + ", ".join(f"{p['id']} ({p['name']})" for p in people)
        )
        return task_request(
            ActionType.COUNTERFACTUAL_PREDICTION,
            grounded(ConsequentSet, entities={p["id"]: p["name"] for p in people}),
            system="You explore how situations could unfold.",
            prose=prompt,
            data=context,
            seed=sim.ctx.seed,
            max_tokens=900,
            subject=parent.id,
        )

    @staticmethod
    def _add(
        sim: Simulator,
        nodes: dict[str, Node],
        tp: Timepoint,
        kind: str,
        plausibility: float | None,
        completion: Any,
        signature: str,
    ) -> Node:
        parent = nodes.get(tp.causal_parent or "")
        node = Node(
            tp=tp,
            kind="root" if parent is None else kind,
            continuity=continuity(parent.tp, tp) if parent else 1.0,
            plausibility=plausibility,
            tokens=completion.usage.total_tokens,
            signature=signature,
            chain=[*(parent.chain if parent else []), tp.id],
        )
        nodes[tp.id] = node
        sim.state.timepoints[tp.id] = tp  # provisional: prompts of later states read it
        return node

    @staticmethod
    def _path_score(nodes: dict[str, Node], leaf: str) -> float:
        scores = [nodes[i].score for i in nodes[leaf].chain[1:]]
        return sum(scores) / len(scores) if scores else 1.0

    # -- keeping paths --------------------------------------------------------------------
    def _keep(self, sim: Simulator, nodes: dict[str, Node], leaves: list[str]) -> None:
        cfg = sim.scenario.temporal.branching
        ranked = sorted(leaves, key=lambda i: (-self._path_score(nodes, i), i))
        kept = [i for i in ranked if self._path_score(nodes, i) >= cfg.coherence_threshold]
        warning = None
        if not kept:
            kept = ranked[:1]
            warning = (
                f"no path reached the coherence threshold {cfg.coherence_threshold:.2f}; "
                "the best one is kept"
            )
        below = sum(self._path_score(nodes, i) < cfg.coherence_threshold for i in ranked)
        kept = kept[: cfg.path_count]
        ledger = sim.state.ledger
        ledger.count("M17", "paths explored", len(leaves))
        ledger.count("M17", "paths kept", len(kept))
        ledger.count("M17", "paths below threshold", below)
        names = ["main", *(f"path_{n}" for n in range(2, len(kept) + 1))]
        owner: dict[str, str] = {}
        for name, leaf in zip(names, kept, strict=True):
            for tp_id in nodes[leaf].chain:
                owner.setdefault(tp_id, name)
        for tp_id in [i for i in list(sim.state.timepoints) if i in nodes and i not in owner]:
            del sim.state.timepoints[tp_id]
        added: set[str] = set()
        for name, leaf in zip(names, kept, strict=True):
            for tp_id in nodes[leaf].chain:
                if tp_id in added:
                    continue
                added.add(tp_id)
                node = nodes[tp_id]
                tp = node.tp.model_copy(update={"timeline_id": owner[tp_id]})
                del sim.state.timepoints[tp_id]
                add_path_timepoint(sim, tp, node.tokens, name)
        scored = []
        for n, (name, leaf) in enumerate(zip(names, kept, strict=True)):
            chain = [nodes[i] for i in nodes[leaf].chain]
            parent_line = None if n == 0 else "main"
            branch_point = next(
                (i for i in nodes[leaf].chain if owner[i] == name), nodes[leaf].chain[-1]
            )
            sim.state.timelines[name] = Timeline(
                id=name,
                parent_timeline=parent_line,
                branch_point=branch_point if parent_line else None,
                mode="branching",
                timepoint_ids=list(nodes[leaf].chain),
                score=round(self._path_score(nodes, leaf), 4),
                label=" → ".join(c.kind for c in chain if c.kind not in ("root", "continuation"))
                or "continuation",
            )
            scored.append(
                ScoredPath(
                    timeline_id=name,
                    score=self._path_score(nodes, leaf),
                    timepoint_ids=nodes[leaf].chain,
                    events=[c.tp.event for c in chain],
                    step_scores=[self._path_score(nodes, leaf)] + [c.score for c in chain[1:]],
                    components={
                        "continuity": _mean([c.continuity for c in chain[1:]]),
                        "plausibility": _mean(
                            [c.plausibility for c in chain if c.plausibility is not None]
                        ),
                    },
                    warning=warning if n == 0 else None,
                )
            )
        sim.paths = path_infos(scored)
        ledger.set("M17", "best path score", round(scored[0].score, 4))


def _node_id(index: int, signature: str) -> str:
    return f"tp_{index:03d}" + (f"_{signature}" if signature else "")


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0
