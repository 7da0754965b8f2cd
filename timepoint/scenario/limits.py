"""Limits on scenario input, checked before anything is built from it.

A scenario file is read as bytes (at most :data:`MAX_FILE_BYTES`), must be UTF-8 text, and its
YAML is walked event by event before any Python object is built, so an alias bomb, a deeply
nested list or a very long ``extends:`` chain is refused in milliseconds with a message that
names the file, the limit and the fix, instead of exhausting memory or the recursion limit.

A valid scenario is also bounded in size: :func:`size_problem` says why its entities ×
timepoints make too large a run (:data:`MAX_PAIR_TIMEPOINTS`); the schema checks it.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from pathlib import Path

import yaml

from timepoint.errors import ScenarioError

#: most entity pairs × timepoints in one scenario: a run keeps a relationship (M13) per pair of
#: present entities per timepoint, so its time and memory grow with this product. At the
#: limit (e.g. 500 entities × 12 timepoints, 200 × 75) an offline run takes about a minute on
#: two cores; see ``benchmarks/scale.py``.
MAX_PAIR_TIMEPOINTS = 1_500_000

#: largest scenario file read, in bytes (the shipped scenarios are under 8 KiB)
MAX_FILE_BYTES = 256 * 1024
#: deepest nesting of mappings and lists in one file
MAX_DEPTH = 32
#: most ``*alias`` references in one file
MAX_ALIASES = 200
#: most values in one file once every alias is expanded (what the rest of the program sees)
MAX_NODES = 50_000
#: longest ``extends:`` chain (a file, its base, the base's base, …)
MAX_EXTENDS_DEPTH = 16
#: most files read to resolve one scenario, counting a base each time it is extended
MAX_EXTENDS_FILES = 64

_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
_SAVE_AS_UTF8 = "save it as UTF-8 text"
_WRITE_OUT = "write the values out instead of repeating anchors"


def read_text(path: Path, label: str) -> str:
    """The UTF-8 text of the scenario file ``path`` (a byte-order mark is dropped).

    Raises:
        ScenarioError: the file is larger than :data:`MAX_FILE_BYTES`, binary, or not UTF-8.
    """
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ScenarioError([f"{label}: cannot be read: {error.strerror or error}"]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(
            [
                f"{label}: the file is larger than {MAX_FILE_BYTES // 1024} KiB, the limit for a "
                "scenario; shorten it or move shared parts into a base file named by 'extends:'"
            ]
        )
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            raise ScenarioError([f"{label}: the file is {encoding} text; {_SAVE_AS_UTF8}"])
    if b"\x00" in raw:
        raise ScenarioError([f"{label}: the file is binary, not YAML text; {_SAVE_AS_UTF8}"])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        byte = raw[error.start : error.start + 1].hex()
        raise ScenarioError(
            [
                f"{label}:{line}:{column}: byte 0x{byte} is not UTF-8 (a Latin-1 or Windows "
                f"file?); {_SAVE_AS_UTF8}"
            ]
        ) from None


def check_structure(events: Iterable[yaml.Event], label: str) -> None:
    """Refuse a YAML event stream that nests too deep or expands too far through aliases.

    Walks the events once, without building anything, keeping for each anchor the number of
    values it stands for, so the expanded size of the document is known as it is read.

    Raises:
        ScenarioError: a limit is passed (the message names the limit and where).
        yaml.YAMLError: the text is not well-formed YAML (from the parser).
    """
    anchored: dict[str, int] = {}
    # one entry per open mapping or list: [values in it so far, its anchor]
    open_nodes: list[list] = []
    total = 0
    aliases = 0
    for event in events:
        if isinstance(event, yaml.CollectionEndEvent):
            size, anchor = open_nodes.pop()
            if anchor:
                anchored[anchor] = size
            if open_nodes:
                open_nodes[-1][0] += size
            continue
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise ScenarioError(
                    [_limit(label, event, f"more than {MAX_ALIASES} aliases", _WRITE_OUT)]
                )
            size = anchored.get(event.anchor or "", 1)
        elif isinstance(event, yaml.ScalarEvent | yaml.CollectionStartEvent):
            size = 1
            if event.anchor and isinstance(event, yaml.ScalarEvent):
                anchored[event.anchor] = 1
        else:
            continue
        total += size
        if total > MAX_NODES:
            raise ScenarioError(
                [
                    _limit(
                        label,
                        event,
                        f"more than {MAX_NODES:,} values once aliases are expanded",
                        _WRITE_OUT,
                    )
                ]
            )
        if isinstance(event, yaml.CollectionStartEvent):
            open_nodes.append([1, event.anchor])
            if len(open_nodes) > MAX_DEPTH:
                raise ScenarioError(
                    [
                        _limit(
                            label,
                            event,
                            f"lists and mappings nested deeper than {MAX_DEPTH}",
                            "flatten the structure",
                        )
                    ]
                )
        elif open_nodes:
            open_nodes[-1][0] += size


def _limit(label: str, event: yaml.Event, what: str, fix: str) -> str:
    mark = event.start_mark
    where = f"{label}:{mark.line + 1}:{mark.column + 1}" if mark is not None else label
    return f"{where}: {what}, the limit for a scenario; {fix}"


def entity_pairs(entities: int) -> int:
    """How many pairs ``entities`` entities make."""
    return entities * (entities - 1) // 2


def size_problem(entities: int, timepoints: int) -> str | None:
    """Why ``entities`` × ``timepoints`` is too large a run (:data:`MAX_PAIR_TIMEPOINTS`), or
    None when it is within the limit."""
    pairs = entity_pairs(entities)
    size = pairs * timepoints
    if size <= MAX_PAIR_TIMEPOINTS:
        return None
    most_timepoints = MAX_PAIR_TIMEPOINTS // pairs
    most_entities = max(
        e for e in range(2, entities) if entity_pairs(e) * timepoints <= MAX_PAIR_TIMEPOINTS
    )
    fewer_timepoints = (
        f"timepoints.count to at most {most_timepoints} or " if most_timepoints else ""
    )
    return (
        f"{entities} entities ({pairs:,} pairs) × timepoints.count {timepoints} make "
        f"{size:,} pair-timepoints, more than the limit of {MAX_PAIR_TIMEPOINTS:,} a run can "
        "finish (relationships are kept per pair per timepoint); lower "
        f"{fewer_timepoints}entities.count to at most {most_entities}"
    )
