"""Load scenario YAML files, resolve ``extends:`` inheritance, validate against :class:`Scenario`.

``extends: base/forward.yaml`` (a path relative to the file, or a list of them) merges the base
first and the file on top: mappings merge key by key, lists and scalars replace. Bases may extend
further bases; a cycle is an error. Every problem becomes one line of a
:class:`~timepoint.errors.ScenarioError`, naming the file the offending value came from.

Timestamps stay strings while loading (YAML's own timestamp parsing would drop the distinction
between ``2025-01-01`` and a timezone-aware time); the schema parses them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from timepoint.errors import ScenarioError
from timepoint.problems import Loc, describe_errors
from timepoint.scenario.limits import (
    MAX_EXTENDS_DEPTH,
    MAX_EXTENDS_FILES,
    check_structure,
    read_text,
)
from timepoint.scenario.overrides import apply_overrides
from timepoint.scenario.profiles import check_profiles
from timepoint.scenario.schema import Scenario

EXTENDS_KEY = "extends"

#: origin of each merged value: key path -> file that supplied it
Origins = dict[tuple[str, ...], str]


class _DuplicateKeys:
    """Refuses a mapping that names a key twice (YAML forbids it; PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)  # type: ignore[attr-defined]
            try:
                first = seen.setdefault(key, key_node.start_mark)
            except TypeError:
                continue  # an unhashable key; the constructor reports it
            if first is not key_node.start_mark:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} appears twice (first at line {first.line + 1}); keep one",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


class _StringTimestampLoader(_DuplicateKeys, yaml.SafeLoader):
    """SafeLoader that leaves timestamps as strings (its error marks are the precise ones)."""


class _FastStringTimestampLoader(_DuplicateKeys, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The same on libyaml, when available; malformed files are re-read by the loader above."""


_StringTimestampLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_FastStringTimestampLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def display_path(path: str | Path) -> str:
    """``path`` relative to the working directory when it lies below it, else as given."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def parse_yaml(text: str, label: str) -> dict[str, Any]:
    """Parse one YAML document that must be a mapping.

    Args:
        text: The YAML source.
        label: How to name the source in error messages (usually the file path).

    Raises:
        ScenarioError: ``label:line:column: message`` for malformed YAML, a key given twice or a
            limit of :mod:`timepoint.scenario.limits` passed, or a note that the document is not
            a mapping.
    """
    data = parse_yaml_value(text, label)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(
            [f"{label}: the file holds a {type(data).__name__}; a scenario is a mapping of keys"]
        )
    return data


def parse_yaml_value(text: str, label: str) -> Any:
    """Parse one YAML document of any shape (timestamps stay strings) within the limits.

    Raises:
        ScenarioError: ``label:line:column: message`` for malformed YAML, a key given twice or a
            limit of :mod:`timepoint.scenario.limits` passed.
    """
    try:
        try:
            check_structure(yaml.parse(text, Loader=_FastStringTimestampLoader), label)
            return yaml.load(text, Loader=_FastStringTimestampLoader)
        except yaml.YAMLError:
            check_structure(yaml.parse(text, Loader=_StringTimestampLoader), label)
            return yaml.load(text, Loader=_StringTimestampLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{label}:{mark.line + 1}:{mark.column + 1}" if mark else label
        reason = error.problem or error.context or "malformed YAML"
        if error.problem and error.context and error.context_mark is not None:
            start = error.context_mark
            reason += (
                f" ({error.context} started at line {start.line + 1}, column {start.column + 1})"
            )
        raise ScenarioError([f"{where}: {reason}"]) from None
    except yaml.YAMLError as error:
        raise ScenarioError([f"{label}: malformed YAML: {error}"]) from None


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` onto ``base``: mappings merge recursively, everything else replaces.

    Neither argument is modified.
    """
    merged: dict[str, Any] = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_scenario_data(path: str | Path) -> dict[str, Any]:
    """The resolved scenario mapping of ``path``: bases merged, ``extends`` removed.

    Raises:
        ScenarioError: The file or a base is missing, malformed, or part of a cycle.
    """
    data, _ = _resolve(Path(path), chain=())
    return data


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Load, resolve and validate a scenario file, and check the profile files it names.

    Args:
        path: A YAML file, possibly using ``extends:``.
        overrides: dotted-path overrides applied before validation (``timepoint run --set``).

    Returns:
        The validated, frozen scenario.

    Raises:
        ScenarioError: With one line per problem, each naming the file (or ``--set``) and
            the field path.
    """
    data, origins = _resolve(Path(path), chain=())
    label = display_path(path)
    if overrides:
        data = apply_overrides(data, overrides, Scenario)
        for dotted in overrides:
            origins[tuple(str(dotted).split("."))] = "--set"
    scenario = scenario_from_data(data, source=lambda loc: _origin_of(loc, origins, label))
    check_profiles(scenario, Path(path).parent, label)
    return scenario


def scenario_from_data(
    data: Mapping[str, Any], source: str | Callable[[Loc], str] = "<scenario>"
) -> Scenario:
    """Validate an already-resolved mapping (no ``extends:``) as a :class:`Scenario`.

    Args:
        data: The scenario mapping.
        source: Label for error lines, or a function from an error location to a label.

    Raises:
        ScenarioError: One readable line per validation problem.
    """
    label = source if isinstance(source, str) else "<scenario>"
    if not isinstance(data, Mapping):
        raise ScenarioError([f"{label}: expected a mapping of keys, got {type(data).__name__}"])
    if EXTENDS_KEY in data:
        raise ScenarioError(
            [f"{label}: extends: only scenario files can extend others; load it with load_scenario"]
        )
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as error:
        raise ScenarioError(describe_errors(error, Scenario, source)) from None


def _resolve(
    path: Path, chain: tuple[Path, ...], reads: list[Path] | None = None
) -> tuple[dict[str, Any], Origins]:
    """``path`` merged onto its bases; ``chain`` is the files extending it, ``reads`` every file
    read so far for this scenario."""
    reads = [] if reads is None else reads
    label = display_path(path)
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(display_path(p) for p in (*chain, resolved))
        raise ScenarioError([f"{display_path(chain[0])}: extends cycle: {cycle}"])
    if len(chain) >= MAX_EXTENDS_DEPTH:
        raise ScenarioError(
            [
                f"{display_path(chain[0])}: extends: the chain of bases is longer than "
                f"{MAX_EXTENDS_DEPTH} files (it reaches {label}); merge some bases into one"
            ]
        )
    reads.append(resolved)
    if len(reads) > MAX_EXTENDS_FILES:
        raise ScenarioError(
            [
                f"{display_path(reads[0])}: extends: resolving it reads more than "
                f"{MAX_EXTENDS_FILES} files (bases extended many times over); "
                "extend each base once"
            ]
        )
    if not path.is_file():
        parent = f" (extended by {display_path(chain[-1])})" if chain else ""
        what = "is a directory, not a file" if path.is_dir() else "no such file"
        raise ScenarioError([f"{label}: {what}{parent}"])
    data = parse_yaml(read_text(path, label), label)
    bases = data.pop(EXTENDS_KEY, None)
    if bases is None:
        return data, _origins(data, label)
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) and b for b in bases):
        raise ScenarioError(
            [f"{label}: extends: {bases!r} should be a relative path or a list of relative paths"]
        )
    merged: dict[str, Any] = {}
    origins: Origins = {}
    for base in bases:
        base_data, base_origins = _resolve(path.parent / base, (*chain, resolved), reads)
        merged = deep_merge(merged, base_data)
        origins.update(base_origins)
    own = _origins(data, label)
    overridden = set(own)
    for inherited in list(origins):
        if any(inherited[:length] in overridden for length in range(1, len(inherited) + 1)):
            del origins[inherited]
    origins.update(own)
    return deep_merge(merged, data), origins


def _origins(data: Mapping[str, Any], label: str, prefix: tuple[str, ...] = ()) -> Origins:
    origins: Origins = {}
    for key, value in data.items():
        key_path = (*prefix, str(key))
        if isinstance(value, Mapping) and value:
            origins.update(_origins(value, label, key_path))
        else:
            origins[key_path] = label
    return origins


def _origin_of(loc: Loc, origins: Origins, default: str) -> str:
    keys: list[str] = []
    for part in loc:
        if isinstance(part, int):
            break
        keys.append(part)
    for length in range(len(keys), 0, -1):
        prefix = tuple(keys[:length])
        if prefix in origins:
            return origins[prefix]
        below = {label for key_path, label in origins.items() if key_path[:length] == prefix}
        if len(below) == 1:
            return below.pop()
    return default
