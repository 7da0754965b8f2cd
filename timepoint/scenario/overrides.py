"""Dotted-path overrides (``--set timepoints.count=2``) applied to a scenario mapping.

A path walks mappings by key and lists by index (``entities.roster.0.name``). It is checked
against the schema as it is walked, so a path into a single value (``title.x``), a section set
to a single value (``entities=5``) or an index past the end of a list is refused with the key
and the form that would work, before the result is validated as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from timepoint.errors import ScenarioError
from timepoint.problems import _field_names, _model_in, _step, _unknown_key

#: how an override is written on the command line
FORM = "PATH=VALUE, PATH a dotted key like timepoints.count and VALUE in YAML"


def apply_overrides(
    data: Mapping[str, Any], overrides: Mapping[str, Any], model: type[BaseModel]
) -> dict[str, Any]:
    """A copy of ``data`` with each ``{dotted path: value}`` of ``overrides`` set.

    Args:
        data: the scenario mapping (not modified; values shared with it are copied before
            they are changed).
        overrides: dotted paths and the values to set there.
        model: the schema ``data`` follows, used to explain paths that cannot exist.

    Raises:
        ScenarioError: one ``--set PATH: problem`` line per override that cannot be applied.
    """
    result: dict[str, Any] = dict(data)
    problems: list[str] = []
    for dotted, value in overrides.items():
        try:
            _set(result, str(dotted), value, model)
        except _Refused as refused:
            problems.append(f"--set {dotted}: {refused}")
    if problems:
        raise ScenarioError(problems)
    return result


class _Refused(Exception):
    pass


def _set(root: dict[str, Any], dotted: str, value: Any, model: type[BaseModel]) -> None:
    parts = dotted.split(".")
    if not all(part.strip() for part in parts):
        raise _Refused(f"empty key in the path; write {FORM}")
    node: Any = root
    annotation: Any = model
    walked: list[str] = []
    for position, part in enumerate(parts):
        last = position == len(parts) - 1
        section = _model_in(annotation)
        key: str | int = part
        if isinstance(node, list):
            key = _index(part, node, walked)
        elif section is not None and part not in section.model_fields:
            where = ".".join(walked) or "the top level"
            raise _Refused(f"{_unknown_key(part, annotation)} (keys of {where})")
        annotation = _step(annotation, key) if annotation is not None else None
        walked.append(part)
        if last:
            _check_value(value, annotation, ".".join(walked))
            node[key] = value
            return
        child = node[int(key)] if isinstance(node, list) else node.get(key)
        if child is None:
            child = [] if _is_list(annotation) else {}
        elif isinstance(child, Mapping):
            child = dict(child)
        elif isinstance(child, list):
            child = list(child)
        else:
            here = ".".join(walked)
            raise _Refused(
                f"{here} holds a single value ({child!r}), not keys; set it whole: "
                f"--set {here}=VALUE"
            )
        node[key] = child
        node = child


def _index(part: str, items: list[Any], walked: list[str]) -> int:
    here = ".".join(walked)
    if not part.isdigit():
        raise _Refused(f"{here} is a list; follow it with an index 0 to {len(items) - 1}")
    index = int(part)
    if index >= len(items):
        size = f"{len(items)} item" + ("" if len(items) == 1 else "s")
        raise _Refused(f"{here} has {size}, so there is no index {index}; set the whole list")
    return index


def _check_value(value: Any, annotation: Any, here: str) -> None:
    section = _model_in(annotation)
    if section is not None and not isinstance(value, Mapping):
        keys = ", ".join(_field_names(annotation))
        raise _Refused(
            f"{here} is a section of keys ({keys}), not a single value; set one key below it, "
            f"e.g. --set {here}.{next(iter(section.model_fields))}=VALUE"
        )


def _is_list(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is list
