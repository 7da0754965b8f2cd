"""Turn pydantic validation errors into one readable line per problem.

Each line names the source, the field path, the value received and what is allowed::

    scenarios/x.yaml: entities.roster[2].kind: 'hooman' is not one of human, animal, …
    scenarios/x.yaml: timepoints.cuont: unknown key; did you mean 'count'? allowed: count, …
    scenarios/x.yaml: title: required field is missing; add 'title: …'

The allowed values and key names are read from the models themselves by walking the field path,
so the messages stay right when the schema grows.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Callable, Collection, Mapping, Sequence
from enum import Enum
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

Loc = tuple[str | int, ...]

#: most problems listed for one validation; the rest are counted
MAX_PROBLEMS = 50

_ALTERNATION = re.compile(r"^\^\(([\w|]+)\)\$$")


def format_loc(loc: Sequence[str | int]) -> str:
    """``('entities', 'roster', 2, 'kind')`` -> ``entities.roster[2].kind``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


class _Hidden:
    """Stands for a value that must not be echoed (a secret): its repr says so."""

    def __repr__(self) -> str:
        return "a value not shown"


def describe_errors(
    error: ValidationError,
    model: type[BaseModel],
    source: str | Callable[[Loc], str],
    *,
    hidden: Collection[str] = (),
) -> list[str]:
    """One line per error in ``error``, raised while validating ``model``.

    Args:
        error: The pydantic error.
        model: The model class that was validated (used to look up allowed keys and values).
        source: A label such as the file name, or a function from an error location to the
            label (so errors inherited through ``extends:`` can name the base file).
        hidden: field names whose values are never echoed (secrets, URLs that carry tokens).

    Returns:
        The problem lines, in pydantic's order, without duplicates; past
        :data:`MAX_PROBLEMS`, one line counting the rest.
    """
    lines: list[str] = []
    items = error.errors(include_url=False)
    for item in items[:MAX_PROBLEMS]:
        loc = _location(item)
        if any(part in hidden for part in loc):
            item = {**item, "input": _Hidden()}
        label = source(loc) if callable(source) else source
        line = f"{label}: {format_loc(loc)}: {_explain(item, loc, model)}"
        if line not in lines:
            lines.append(line)
    if len(items) > MAX_PROBLEMS:
        label = source(()) if callable(source) else source
        lines.append(f"{label}: … and {len(items) - MAX_PROBLEMS} more problems; fix these first")
    return lines


def _location(item: Mapping[str, Any]) -> Loc:
    """The field an error is about: a union's discriminator key for a bad or missing tag."""
    loc: Loc = tuple(item["loc"])
    if item["type"] in {"union_tag_invalid", "union_tag_not_found"}:
        key = str((item.get("ctx") or {}).get("discriminator", "")).strip("'")
        if key.isidentifier():
            return (*loc, key)
    return loc


def _explain(item: Mapping[str, Any], loc: Loc, model: type[BaseModel]) -> str:
    kind = item["type"]
    value = item.get("input")
    ctx = item.get("ctx") or {}
    if kind == "extra_forbidden":
        return _unknown_key(str(loc[-1]), _annotation_at(model, loc[:-1]))
    if kind == "missing":
        return f"required field is missing; add '{loc[-1]}: …'"
    if kind == "enum":
        allowed = _enum_values(_annotation_at(model, loc)) or [ctx.get("expected", "")]
        return f"{value!r} is not one of {', '.join(allowed)}"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        choices = _ALTERNATION.match(pattern)
        if choices:
            return f"{value!r} is not one of {', '.join(choices.group(1).split('|'))}"
        return f"{value!r} does not match the pattern {pattern}"
    if kind in {"value_error", "assertion_error"}:
        message = str(ctx.get("error", item["msg"]))
        return message
    if kind in {"union_tag_invalid", "union_tag_not_found"}:
        tags = _tags(_annotation_at(model, loc[:-1]), str(loc[-1]))
        tags = tags or re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        if kind == "union_tag_not_found":
            one_of = f", one of {', '.join(tags)}" if tags else ""
            return f"required field is missing; add '{loc[-1]}: …'{one_of}"
        return _unknown_choice(str(loc[-1]), str(ctx.get("tag", value)), tags)
    if kind.startswith("date_") and kind not in {"date_past", "date_future"}:
        return f"{value!r} is not a date; write ISO 8601, e.g. 2025-01-01"
    if kind.startswith("datetime"):
        return (
            f"{value!r} is not a date and time with a timezone; "
            "write ISO 8601, e.g. 2025-01-01T09:00:00+00:00"
        )
    message = str(item["msg"])
    message = message[0].lower() + message[1:] if message else kind
    if kind == "model_type" or kind == "dict_type":
        return f"expected a mapping of keys, got {_short(value)}"
    return f"got {_short(value)}; {message}"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _unknown_key(key: str, annotation: Any) -> str:
    allowed = _field_names(annotation)
    if not allowed:
        return "unknown key"
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ";"
    return f"unknown key{hint} allowed: {', '.join(allowed)}"


def _unknown_choice(key: str, value: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(value, allowed, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ";"
    return f"unknown {key} {value!r}{hint} allowed: {', '.join(allowed)}"


def _tags(annotation: Any, key: str) -> list[str]:
    """The values of the ``Literal`` field ``key`` across the models of a tagged union."""
    tags: list[str] = []
    for candidate in _flatten(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            field = candidate.model_fields.get(key)
            if field is not None and get_origin(field.annotation) is Literal:
                tags += [str(tag) for tag in get_args(field.annotation)]
    return tags


def _field_names(annotation: Any) -> list[str]:
    model = _model_in(annotation)
    return list(model.model_fields) if model is not None else []


def _enum_values(annotation: Any) -> list[str]:
    for candidate in _flatten(annotation):
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return [str(member.value) for member in candidate]
    return []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    for candidate in _flatten(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _flatten(annotation: Any) -> list[Any]:
    """The members of a union (``X | None`` -> ``[X, NoneType]``), or the annotation itself."""
    if get_origin(annotation) in {Union, types.UnionType}:
        return [a for member in get_args(annotation) for a in _flatten(member)]
    return [annotation]


def _annotation_at(model: type[BaseModel], loc: Loc) -> Any:
    """The type annotation found by following ``loc`` from ``model``; ``None`` when lost."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return None
    return current


def _step(annotation: Any, part: str | int) -> Any:
    for candidate in _flatten(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            field = candidate.model_fields.get(str(part))
            if field is not None:
                return field.annotation
            continue
        origin = get_origin(candidate)
        args = get_args(candidate)
        if origin in {list, tuple, set, frozenset} and args and isinstance(part, int):
            return args[0]
        if origin is dict and len(args) == 2:
            return args[1]
    return None
