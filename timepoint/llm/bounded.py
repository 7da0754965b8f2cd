"""Bounded numbers in answers, written as whole percentages a decoding grammar can enforce.

Constrained decoding (llama.cpp grammars, for one) ignores ``minimum`` and ``maximum`` on a
``number``, so a model asked for an importance between 0 and 1 may write 27 and no re-ask fixes
it. An answer field declared with :func:`scaled` (or :data:`Share`, :data:`Signed`) is therefore
sent to the endpoint as an integer ``enum`` of whole percentages (``73`` for 0.73) and converted
at the boundary: the validated answer holds the float the engine uses, and its JSON form (what
the offline endpoint sends, what the response cache stores) is the percentage again.

A value outside the range, or not a whole percentage, is rejected with a message that says what
to write instead; the structured-output layer re-asks with it.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema


def scaled(low: float, high: float) -> Any:
    """A float between ``low`` and ``high`` that answers write as a whole percentage.

    Example:
        >>> from pydantic import TypeAdapter
        >>> TypeAdapter(scaled(0, 1)).validate_python(73)
        0.73
    """
    lowest, highest = round(low * 100), round(high * 100)

    def from_percent(value: Any) -> float:
        number = _number(value)
        if number is None or not math.isfinite(number) or number != round(number):
            raise ValueError(
                f"write a whole percentage from {lowest} to {highest} "
                f"(e.g. 73 for 0.73), not {value!r}"
            )
        if not lowest <= number <= highest:
            raise ValueError(
                f"{value!r} is outside {lowest}..{highest}: write a whole percentage in that "
                "range (73 for 0.73)"
            )
        return round(number) / 100

    return Annotated[
        float,
        BeforeValidator(from_percent),
        Field(ge=low, le=high),
        PlainSerializer(percent, return_type=int, when_used="json"),
        WithJsonSchema(
            {
                "type": "integer",
                "enum": list(range(lowest, highest + 1)),
                "description": f"a whole percentage from {lowest} to {highest} (73 means 0.73)",
            }
        ),
    ]


def percent_default(value: float) -> Any:
    """A field default of ``value``, shown in the sent schema as its percentage."""
    return Field(value, json_schema_extra={"default": percent(value)})


def percent(value: float) -> int:
    """``value`` as the whole percentage an answer writes: 0.734 → 73."""
    return round(value * 100)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip().removesuffix("%").strip()
        try:
            return float(text)
        except ValueError:
            return None
    return None


#: a share, probability or score from 0 to 1, written 0..100
Share = scaled(0, 1)
#: a signed quantity from -1 to 1 (a trait, a valence), written -100..100
Signed = scaled(-1, 1)
