"""PORTAL step (6): re-check candidate paths forward, backtrack weak steps, keep P paths.

Each consecutive pair of a path (earlier → later) gets a model judgement of coherence, paired
with computed continuity and the knowledge-flow check of
:mod:`~timepoint.time.modes.portal_scoring`. A path below ``coherence_threshold`` has its
weakest step regenerated (up to ``max_backtrack_depth`` times); if it still falls short the next
candidate path is tried, and only when candidates run out are paths kept with a warning.
Judgements of the pairs being checked run concurrently and are cached per pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING

from timepoint.llm.base import ActionType
from timepoint.llm.structured import expect_answer
from timepoint.time.modes.portal_drafts import CoherenceJudgement
from timepoint.time.modes.portal_scoring import continuity, flow_problems, pair_score

if TYPE_CHECKING:
    from timepoint.time.modes.portal_search import PortalNode, PortalSearch

#: Sides whose states are given (the portal) or start the story (the origin): never regenerated.
FIXED = ("portal", "origin")


@dataclass
class CandidatePath:
    """A chronological chain of nodes (origin first) and what the forward check found."""

    nodes: list[PortalNode]
    pairs: list[float] = field(default_factory=list)
    coherence: float = 0.0
    problems: list[str] = field(default_factory=list)
    backtracks: int = 0
    warning: str | None = None

    @property
    def search_score(self) -> float:
        scores = [n.score for n in self.nodes if n.score is not None]
        return sum(scores) / len(scores) if scores else 0.0

    @property
    def score(self) -> float:
        """Final score: the search score (0.6) and the forward coherence (0.4)."""
        return round(0.6 * self.search_score + 0.4 * self.coherence, 4)

    def component_means(self) -> dict[str, float]:
        scored = [n for n in self.nodes if n.components]
        means = {
            name: sum(n.components[name] for n in scored) / len(scored)
            for name in (scored[0].components if scored else {})
        }
        return {**means, "coherence": self.coherence}


class ForwardCheck:
    """Forward coherence over the candidate paths of one :class:`PortalSearch`."""

    def __init__(self, search: PortalSearch):
        self.search = search
        self.cfg = search.cfg
        self._pairs: dict[tuple[str, str], tuple[float, str, int]] = {}

    def select(self, candidates: list[CandidatePath]) -> list[CandidatePath]:
        """The P kept paths, best first (candidates arrive ranked by search score)."""
        keep, threshold = self.cfg.path_count, self.cfg.coherence_threshold
        pool = candidates[: 3 * keep]
        accepted: list[CandidatePath] = []
        aside: list[CandidatePath] = []
        start = 0
        while len(accepted) < keep and start < len(pool):
            batch = pool[start : start + keep - len(accepted)]
            start += len(batch)
            self._judge_pairs(batch)
            for path in batch:
                self._evaluate(path)
                while (
                    path.coherence < threshold
                    and path.backtracks < self.cfg.max_backtrack_depth
                    and self._backtrack(path)
                ):
                    self._judge_pairs([path])
                    self._evaluate(path)
                (accepted if path.coherence >= threshold else aside).append(path)
        ledger = self.search.sim.state.ledger
        ledger.count("M17", "paths below threshold", len(aside))
        for path in sorted(aside, key=lambda p: -p.score)[: keep - len(accepted)]:
            path.warning = (
                f"kept below the coherence threshold ({path.coherence:.2f} < {threshold:.2f}) "
                f"after {path.backtracks} backtracks"
            )
            accepted.append(path)
            ledger.count("M17", "paths kept with a warning")
        return sorted(accepted, key=lambda p: (-p.score, [n.id for n in p.nodes]))

    def _judge_pairs(self, paths: list[CandidatePath]) -> None:
        needed = list(
            dict.fromkeys(
                (a.id, b.id)
                for path in paths
                for a, b in pairwise(path.nodes)
                if (a.id, b.id) not in self._pairs
            )
        )
        futures = [self.search.pool.submit(self._judge_pair, pair) for pair in needed]
        self._pairs.update(zip(needed, (f.result() for f in futures), strict=True))
        self.search.sim.state.ledger.count("M17", "coherence checks", len(needed))

    def _judge_pair(self, pair: tuple[str, str]) -> tuple[float, str, int]:
        search = self.search
        a, b = search.nodes[pair[0]], search.nodes[pair[1]]
        context = {
            "earlier": {**a.state.model_dump(), "year": search.year(a)},
            "later": {**b.state.model_dump(), "year": search.year(b)},
        }
        prompt = (
            f"Earlier ({search.year(a)}): {a.state.description}\nLater ({search.year(b)}): "
            f"{b.state.description}\nDoes the earlier state make the later one plausible, with "
            "knowledge flowing only forward? Rate coherence as a whole percentage (0-100) and "
            "explain."
        )
        verdict, tokens = search.ask(
            CoherenceJudgement, ActionType.PORTAL_PATH_SCORING, context, prompt
        )
        verdict = expect_answer(verdict, CoherenceJudgement)
        return verdict.coherence, verdict.reasoning, tokens

    def _evaluate(self, path: CandidatePath) -> None:
        year = self.search.year
        path.pairs, path.problems = [], []
        for n, (a, b) in enumerate(pairwise(path.nodes)):
            judged, _, _ = self._pairs[(a.id, b.id)]
            later = [(node.state, year(node)) for node in path.nodes[n + 1 :]]
            problems = flow_problems(a.state, year(a), later, f"{a.id}→{b.id}")
            path.problems += problems
            path.pairs.append(pair_score(judged, continuity(a.state, b.state), len(problems)))
        path.coherence = round(sum(path.pairs) / len(path.pairs), 4) if path.pairs else 1.0

    def _backtrack(self, path: CandidatePath) -> bool:
        """Regenerate the weakest step of ``path``; False when no step can be regenerated."""
        if not path.pairs:
            return False
        search = self.search
        weakest = min(range(len(path.pairs)), key=lambda i: path.pairs[i])
        earlier, later = path.nodes[weakest], path.nodes[weakest + 1]
        path.backtracks += 1
        if earlier.side not in FIXED:
            options = search.expand([later], earlier.index, "backward", attempt=path.backtracks)
            slot, old = weakest, earlier
        elif later.side not in FIXED:
            options = search.expand([earlier], later.index, "forward", attempt=path.backtracks)
            slot, old = weakest + 1, later
        else:
            return False
        search.settle()
        fresh = [n for n in options if n.state.description != old.state.description] or options
        path.nodes[slot] = max(fresh, key=lambda n: (n.score or 0.0, n.id))
        search.sim.state.ledger.count("M17", "backtracks")
        return True
