"""The relationship graph and eigenvector centrality that steer heterogeneous fidelity (M1)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

#: Edge weights of declared relations (reference defaults).
RELATION_WEIGHTS: dict[str, float] = {
    "family": 0.95,
    "ally": 0.9,
    "mentor": 0.85,
    "friend": 0.8,
    "colleague": 0.7,
    "acquaintance": 0.5,
    "neutral": 0.3,
    "rival": 0.2,
    "enemy": 0.1,
}
CO_PRESENCE_WEIGHT = 0.4


class RelationGraph:
    """An undirected weighted graph over entity ids."""

    def __init__(self, nodes: Sequence[str]):
        self.nodes = list(nodes)
        self._index = {n: i for i, n in enumerate(self.nodes)}
        self.weights = np.zeros((len(self.nodes), len(self.nodes)))

    def add(self, a: str, b: str, weight: float) -> None:
        if a == b or a not in self._index or b not in self._index:
            return
        i, j = self._index[a], self._index[b]
        self.weights[i, j] += weight
        self.weights[j, i] += weight

    def add_relation(self, a: str, b: str, kind: str) -> None:
        self.add(a, b, RELATION_WEIGHTS[kind])

    def add_co_presence(self, present: Iterable[str]) -> None:
        ids = list(present)
        for n, a in enumerate(ids):
            for b in ids[n + 1 :]:
                self.add(a, b, CO_PRESENCE_WEIGHT)

    def edge(self, a: str, b: str) -> float:
        return float(self.weights[self._index[a], self._index[b]])

    def centrality(self, iterations: int = 200, tol: float = 1e-10) -> dict[str, float]:
        """Eigenvector centrality by power iteration, scaled so the most central node has 1."""
        n = len(self.nodes)
        if n == 0:
            return {}
        matrix = self.weights + np.eye(n) * 1e-3
        vector = np.full(n, 1.0 / np.sqrt(n))
        for _ in range(iterations):
            nxt = matrix @ vector
            norm = np.linalg.norm(nxt)
            if norm == 0:
                break
            nxt /= norm
            if np.abs(nxt - vector).max() < tol:
                vector = nxt
                break
            vector = nxt
        top = vector.max() or 1.0
        return {node: round(float(vector[i] / top), 4) for i, node in enumerate(self.nodes)}
