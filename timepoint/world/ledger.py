"""The mechanism ledger: evidence of what each mechanism did in a run, with counts.

A mechanism that did nothing records nothing: entries with all-zero counts are dropped.
"""

from __future__ import annotations

from collections import defaultdict

from timepoint.world.record import LedgerEntry

MECHANISM_NAMES: dict[str, str] = {
    "M1": "heterogeneous fidelity",
    "M2": "progressive training",
    "M3": "exposure events",
    "M4": "validators",
    "M5": "lazy resolution",
    "M6": "tensor compression",
    "M7": "causal chains",
    "M8": "vertical expansion",
    "M9": "on-demand entities",
    "M10": "scene entities",
    "M11": "dialog synthesis",
    "M12": "counterfactual branching",
    "M13": "multi-entity synthesis",
    "M14": "circadian patterns",
    "M15": "prospection",
    "M16": "animistic entities",
    "M17": "temporal modes",
    "M18": "model selection",
}


class Ledger:
    """Accumulates counts per mechanism; ``entries()`` renders them with a summary line each."""

    def __init__(self) -> None:
        self._counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self._notes: dict[str, list[str]] = defaultdict(list)

    def count(self, mechanism: str, what: str, amount: float = 1) -> None:
        self._counts[mechanism][what] += amount

    def set(self, mechanism: str, what: str, value: float) -> None:
        self._counts[mechanism][what] = value

    def note(self, mechanism: str, text: str) -> None:
        if text not in self._notes[mechanism]:
            self._notes[mechanism].append(text)

    def counts(self, mechanism: str) -> dict[str, float]:
        return dict(self._counts.get(mechanism, {}))

    def entries(self) -> list[LedgerEntry]:
        result = []
        for mechanism in sorted(self._counts, key=lambda m: int(m[1:])):
            counts = {k: v for k, v in self._counts[mechanism].items() if v}
            if not counts:
                continue
            parts = [f"{_fmt(v)} {k.replace('_', ' ')}" for k, v in counts.items()]
            notes = self._notes.get(mechanism, [])
            summary = f"{mechanism} {MECHANISM_NAMES[mechanism]}: " + ", ".join(parts)
            if notes:
                summary += "; " + "; ".join(notes)
            result.append(LedgerEntry(mechanism=mechanism, summary=summary, counts=counts))
        return result


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3g}"
