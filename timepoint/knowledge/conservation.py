"""Information conservation (M4): a speaker may only use facts it was exposed to on a causal path.

The check walks a dialog turn by turn: what a speaker says becomes known to every listener, so a
fact told in turn 1 may be used by a listener in turn 3. A fact used in violation is tainted:
listeners do not learn it, so a listener who repeats it is flagged too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    turn: int
    speaker: str
    fact_id: str
    reason: str


def check_dialog(
    turns: Sequence[tuple[str, Sequence[str]]],
    known: Mapping[str, set[str]],
    existing_facts: set[str],
) -> tuple[list[Violation], int]:
    """Violations in ``turns`` ((speaker, fact ids) pairs) and the number of checks made.

    ``known`` maps each participant to the fact ids it held before the dialog.
    """
    holding = {entity: set(facts) for entity, facts in known.items()}
    violations: list[Violation] = []
    checks = 0
    for index, (speaker, refs) in enumerate(turns):
        held = holding.get(speaker, set())
        for ref in refs:
            checks += 1
            if ref not in existing_facts:
                violations.append(Violation(index, speaker, ref, "no such fact exists"))
            elif ref not in held:
                violations.append(
                    Violation(index, speaker, ref, "the speaker was never exposed to it")
                )
        told = {r for r in refs if r in held}  # a leaked fact is not passed on
        for listener, facts in holding.items():
            if listener != speaker:
                facts.update(told)
    return violations, checks
