"""PORTAL search: candidate states from the endpoint back to the origin, scored and pruned; the
candidate paths then go to :mod:`~timepoint.time.modes.portal_forward`.

Steps are chronological indexes: 0 is the origin, ``backward_steps`` the portal. Independent
calls run concurrently on one pool of ``ctx.max_concurrency`` threads: candidate generation
across the frontier, the scoring (and simulation judging) of every new candidate, and the
forward-coherence judgements. A state's antecedents are asked for as soon as the state exists;
scores are awaited only where a decision needs them (a frontier prune, the end of the search).
Node ids are assigned in a fixed order, so a run is reproducible whatever the thread timing.
"""

from __future__ import annotations

import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from timepoint.kernel.grounded import record_dropped
from timepoint.llm.base import ActionType, Completion, Request
from timepoint.llm.drafts import EventDraft
from timepoint.llm.grounding import settle
from timepoint.llm.structured import expect_answer
from timepoint.llm.task_data import task_request
from timepoint.time.modes.common import entity_views, scenario_brief
from timepoint.time.modes.portal_drafts import (
    CandidateSet,
    ForwardJudgement,
    StateCandidate,
    StateJudgement,
)
from timepoint.time.modes.portal_forward import CandidatePath, ForwardCheck
from timepoint.time.modes.portal_requests import candidate_request
from timepoint.time.modes.portal_scoring import (
    capability,
    continuity,
    necessity,
    normalized_weights,
    progress,
    weighted,
)

if TYPE_CHECKING:
    from timepoint.time.simulator import Simulator


@dataclass
class PortalNode:
    """A candidate state at step ``index``; ``anchor`` is the node it was generated from."""

    id: str
    index: int
    state: StateCandidate
    anchor: str | None
    side: str
    components: dict[str, float] = field(default_factory=dict)
    score: float | None = None
    tokens: int = 0
    reasoning: str = ""


class PortalSearch:
    """Runs steps (1)–(6) of PORTAL for one simulation over the step ``times``."""

    def __init__(self, sim: Simulator, times: list[datetime]):
        cfg = sim.scenario.temporal.portal
        assert cfg is not None
        self.sim, self.cfg, self.times = sim, cfg, times
        self.steps = len(times) - 1
        self.weights = normalized_weights(cfg.weights)
        self.nodes: dict[str, PortalNode] = {}
        self.people = [e for e in entity_views(sim) if e["role"] != "environment"]
        self.capacity = {e["id"]: (e["role"], e["health"]) for e in self.people}
        self._serial = 0
        self._pending: dict[str, Future] = {}
        self._elaboration: Future | None = None
        self.pool = ThreadPoolExecutor(
            max_workers=max(1, sim.ctx.max_concurrency), thread_name_prefix="portal"
        )
        self.portal: PortalNode | None = None
        self.strategy = self._strategy()

    def _strategy(self) -> str:
        if self.cfg.exploration == "adaptive":
            return (
                "oscillating"
                if self.steps > self.cfg.oscillation_threshold
                else "reverse_chronological"
            )
        return self.cfg.exploration

    # -- the search ----------------------------------------------------------------------
    def run(self) -> list[CandidatePath]:
        """Candidate paths from the search, checked forward; the kept ones, best first."""
        try:
            self._begin_portal()
            oscillating = self.strategy == "oscillating"
            candidates = self._oscillate() if oscillating else self._reverse()
            return ForwardCheck(self).select(candidates)
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def _reverse(self) -> list[CandidatePath]:
        assert self.portal is not None
        frontier = [self.portal]
        for index in range(self.steps - 1, -1, -1):
            frontier = self.prune(self.expand(frontier, index, "backward"))
        self.settle()
        paths = [CandidatePath(self.chain(leaf)) for leaf in frontier]
        return sorted(paths, key=lambda p: (-p.search_score, p.nodes[0].id))

    def _oscillate(self) -> list[CandidatePath]:
        assert self.portal is not None
        origin = self.fixed("origin", 0)
        back, ahead = [self.portal], [origin]
        low, high, backward = 1, self.steps - 1, True
        while low <= high:
            if backward:
                back = self.prune(self.expand(back, high, "backward"))
                high -= 1
            else:
                ahead = self.prune(self.expand(ahead, low, "forward"))
                low += 1
            backward = not backward
        self.settle()
        joined = []
        for left in ahead:
            for right in back:
                junction = 0.5 * continuity(left.state, right.state) + 0.5 * necessity(
                    left.state, right.state
                )
                path = CandidatePath(self.chain(left) + self.chain(right))
                joined.append((path.search_score * 0.8 + junction * 0.2, path))
        self.sim.state.ledger.count("M17", "junctions scored", len(joined))
        return [p for _, p in sorted(joined, key=lambda sp: (-sp[0], sp[1].nodes[1].id))]

    def _begin_portal(self) -> None:
        """(1) The portal state: the scenario's endpoint at once, its elaboration by the model
        in the background (it replaces the state before any candidate is scored)."""
        request = candidate_request(self, None, self.steps, "portal", 1)
        self._elaboration = self.pool.submit(self.sim.ctx.gateway.complete, request)
        text = " ".join(self.cfg.description.split())
        sentences = [c.strip(" .;") for c in re.split(r"(?<=[.;])\s+", text) if len(c) > 3]
        given = StateCandidate(
            description=text,
            key_events=sentences[:3] or [text],
            world_context=str(self.cfg.portal_year),
            causal_link="the endpoint every path has to reach",
        )
        self.portal = self._node(self.steps, given, None, "portal")

    def _portal_elaborated(self) -> None:
        """Swap in the model's portal state once (before scoring needs it)."""
        if self._elaboration is None or self.portal is None:
            return
        completion, self._elaboration = self._elaboration.result(), None
        answer = expect_answer(self._grounded(completion, None, "portal"), CandidateSet)
        self.portal.state = answer.candidates[0]
        self.portal.tokens = completion.usage.total_tokens

    def _grounded(self, completion: Completion, request: Request | None, where: str) -> Any:
        """The answer with entity ids only; what named none is recorded (see ``settle``)."""
        settled = settle(self.sim.ctx.gateway.complete, request, completion)
        record_dropped(self.sim.state, "M17", f"portal:{where}", settled)
        return settled.parsed

    def fixed(self, direction: str, index: int) -> PortalNode:
        """A state the model describes in one call (the origin, for oscillating exploration)."""
        request = candidate_request(self, None, index, direction, 1)
        completion = self.sim.ctx.gateway.complete(request)
        answer = expect_answer(
            self._grounded(completion, request, f"{direction}@{index}"), CandidateSet
        )
        node = self._node(index, answer.candidates[0], None, direction)
        node.tokens = completion.usage.total_tokens
        return node

    def expand(
        self, frontier: list[PortalNode], index: int, direction: str, attempt: int = 0
    ) -> list[PortalNode]:
        """``k`` candidates for each frontier node at step ``index``.

        Generation is awaited; each candidate's scoring starts as soon as its generation call
        returns and is awaited only by :meth:`settle` (pruning, the end of the search).
        """
        k = self.cfg.candidates_per_step
        sim = self.sim
        sim.enter("timepoints", f"portal step {index} {direction}", self.steps - index, self.steps)
        requests = [
            candidate_request(self, node, index, direction, k, attempt) for node in frontier
        ]
        futures = [self.pool.submit(sim.ctx.gateway.complete, r) for r in requests]
        nodes = []
        self._portal_elaborated()
        for anchor, request, future in zip(frontier, requests, futures, strict=True):
            completion = future.result()
            answer = expect_answer(
                self._grounded(completion, request, f"{direction}@{index}:{anchor.id}"),
                CandidateSet,
            )
            chosen = answer.candidates[:k]
            share = completion.usage.total_tokens // len(chosen)
            for candidate in chosen:
                node = self._node(index, candidate, anchor.id, direction)
                node.tokens = share
                self._pending[node.id] = self.pool.submit(
                    self._score, anchor, candidate, index, direction
                )
                nodes.append(node)
        verb = "antecedents generated" if direction == "backward" else "consequents generated"
        sim.state.ledger.count("M17", verb, len(nodes))
        return nodes

    def settle(self) -> None:
        """Wait for every scoring in flight and attach the scores to their nodes."""
        self._portal_elaborated()
        ledger = self.sim.state.ledger
        for node_id, future in list(self._pending.items()):
            components, tokens, reasoning, judged = future.result()
            node = self.nodes[node_id]
            node.components = components
            node.score = weighted(components, self.weights)
            node.tokens += tokens
            node.reasoning = reasoning
            ledger.count("M17", "candidates scored")
            ledger.count("M17", "simulation judgements", int(judged))
        self._pending.clear()

    def prune(self, nodes: list[PortalNode]) -> list[PortalNode]:
        """Keep the best 2·P when the frontier exceeds 3·P (P = path count).

        Only a prune needs scores, so only a prune waits for them.
        """
        keep = self.cfg.path_count
        if len(nodes) <= 3 * keep:
            return nodes
        self.settle()
        ranked = sorted(nodes, key=lambda n: (-self.chain_score(n), n.id))
        self.sim.state.ledger.count("M17", "frontier prunes")
        self.sim.state.ledger.count("M17", "states pruned", len(nodes) - 2 * keep)
        return ranked[: 2 * keep]

    def chain(self, node: PortalNode) -> list[PortalNode]:
        """``node``'s chain in chronological order (to the portal, or from the origin)."""
        links = [node]
        while links[-1].anchor is not None:
            links.append(self.nodes[links[-1].anchor])
        return links if node.side in ("backward", "portal") else list(reversed(links))

    def chain_score(self, node: PortalNode) -> float:
        scores = [n.score for n in self.chain(node) if n.score is not None]
        return sum(scores) / len(scores) if scores else 0.0

    def year(self, node: PortalNode) -> int:
        return self.times[node.index].year

    # -- scoring -------------------------------------------------------------------------
    def _score(
        self, anchor: PortalNode, candidate: StateCandidate, index: int, direction: str
    ) -> tuple[dict[str, float], int, str, bool]:
        """Components of one candidate (model judgements and computed ones), their tokens, the
        judge's reasoning, and whether a forward simulation was judged."""
        context = {
            "direction": direction,
            "candidate": candidate.model_dump(),
            "anchor": {**anchor.state.model_dump(), "year": self.year(anchor)},
            "target_year": self.times[index].year,
            "entity_ids": list(self.capacity),
        }
        prompt = (
            f"Candidate state in {self.times[index].year}: {candidate.description}\n"
            f"Key events: {'; '.join(candidate.key_events)}\nLink: {candidate.causal_link}\n"
            f"{'Later' if direction == 'backward' else 'Earlier'} state ({self.year(anchor)}): "
            f"{anchor.state.description}\nRate plausibility and historical precedent (whole "
            "percentages, 0-100) and "
            "give your reasoning."
        )
        judgement, tokens = self.ask(
            StateJudgement, ActionType.PORTAL_PATH_SCORING, context, prompt
        )
        judgement = expect_answer(judgement, StateJudgement)
        plausibility = judgement.plausibility
        if self.cfg.simulation_judging:
            expected = anchor.state if direction == "backward" else self.portal_state
            judged, more = self._simulate(candidate, index, expected)
            plausibility = (plausibility + judged) / 2
            tokens += more
        assert self.portal is not None
        components = {
            "plausibility": plausibility,
            "precedent": judgement.precedent,
            "necessity": necessity(candidate, anchor.state)
            if direction == "backward"
            else progress(candidate, self.portal.state),
            "capability": capability(candidate, self.capacity),
        }
        return components, tokens, judgement.reasoning, self.cfg.simulation_judging

    @property
    def portal_state(self) -> StateCandidate:
        assert self.portal is not None
        return self.portal.state

    def _simulate(
        self, candidate: StateCandidate, index: int, expected: StateCandidate
    ) -> tuple[float, int]:
        """Run a short forward simulation from ``candidate`` and let the judge model rate it."""
        sim = self.sim
        previous, recent, events, tokens = [candidate.description], candidate.key_events, [], 0
        people = [{"id": p["id"], "name": p["name"], "role": p["role"]} for p in self.people]
        for step in range(self.cfg.simulation_forward_steps):
            at = self.times[min(index + step + 1, self.steps)]
            context = {
                "scenario": scenario_brief(sim),
                "index": index + step + 1,
                "count": self.steps + 1,
                "timestamp": at.isoformat(),
                "planned": None,
                "candidates": people,
                "previous": list(previous),
                "recent_facts": list(recent[:3]),
                "phase": None,
            }
            prompt = (
                f"Scenario: {sim.scenario.title}. Events so far: {' | '.join(previous)}\n"
                f"Write what happens next, at {at.isoformat()}."
            )
            draft, used = self.ask(EventDraft, ActionType.TEMPORAL_REASONING, context, prompt)
            draft = expect_answer(draft, EventDraft)
            events.append(draft.event)
            previous.append(draft.event)
            recent = draft.key_facts or recent
            tokens += used
        context = {"simulated": events, "expected": expected.model_dump()}
        prompt = (
            f"A forward simulation produced: {' | '.join(events)}\nExpected state: "
            f"{expected.description}\nHow plausibly does it lead there (a whole percentage, "
            "0-100)? Explain."
        )
        verdict, used = self.ask(
            ForwardJudgement, ActionType.PORTAL_PATH_SCORING, context, prompt, self.cfg.judge_model
        )
        verdict = expect_answer(verdict, ForwardJudgement)
        return verdict.plausibility, tokens + used

    # -- calls -------------------------------------------------------------------------
    def ask(
        self,
        schema: type[BaseModel],
        action: ActionType,
        context: dict[str, Any],
        prompt: str,
        model: str | None = None,
    ) -> tuple[BaseModel, int]:
        completion = self.sim.ctx.gateway.complete(
            task_request(
                action,
                schema,
                system="You judge causal accounts carefully.",
                prose=prompt,
                data=context,
                seed=self.sim.ctx.seed,
                max_tokens=400,
                model=model,
                subject="portal:judging",
            )
        )
        assert completion.parsed is not None
        return completion.parsed, completion.usage.total_tokens

    def _node(self, index: int, state: StateCandidate, anchor: str | None, side: str) -> PortalNode:
        prefix = {"backward": "b", "forward": "f"}.get(side, side[0])
        node = PortalNode(
            id=f"{prefix}{index}_{self._serial}", index=index, state=state, anchor=anchor, side=side
        )
        self._serial += 1
        self.nodes[node.id] = node
        return node
