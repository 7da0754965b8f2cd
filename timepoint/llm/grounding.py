"""Ids in answers: names mapped to the ids a request offers, the rest re-asked, then dropped.

An answer class whose id fields are declared with
:data:`~timepoint.llm.grounded_schema.EntityId`, :data:`~timepoint.llm.grounded_schema.FactId`
or :data:`~timepoint.llm.grounded_schema.SubjectId` is constrained per request by
:func:`~timepoint.llm.grounded_schema.grounded` (see :mod:`timepoint.llm.grounded_schema`).
Validation stays lenient: a model without constrained decoding may still write a display name,
and :func:`settle` then

1. maps every unambiguous name to its id ("James Madison" or "Madison" → ``madison``; a fact's
   text → its id),
2. re-asks once for what cannot be mapped, naming the values and the ids allowed, and
3. drops what still names nothing the request offered — the id from a list, or the item (a
   dialog turn, an expectation) an id-naming field belongs to — and reports each drop, so the
   caller records it (:func:`record_dropped`) instead of losing model output silently.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel

from timepoint.llm.base import Completion, Message, Request
from timepoint.llm.grounded_schema import (
    EntityId,
    FactId,
    Grounding,
    Ref,
    SubjectId,
    declared_class,
    grounded,
    grounding_of,
    ref_in,
    ref_of,
)

__all__ = [
    "EntityId",
    "FactId",
    "Grounding",
    "Issue",
    "Ref",
    "Resolver",
    "Settled",
    "SubjectId",
    "grounded",
    "grounding_of",
    "reask_ids_message",
    "review",
    "settle",
]


#: how many allowed ids a re-ask or a validation message lists
LISTED = 20


@dataclass(frozen=True)
class Issue:
    """A value that named no id of the request.

    ``path`` locates it in the answer (``turns[2].speaker``); ``dropped`` says what was removed
    (empty until :func:`settle` drops it).
    """

    path: str
    value: str
    ref: Ref
    allowed: tuple[str, ...]
    dropped: str = ""

    def describe(self) -> str:
        listed = ", ".join(self.allowed[:LISTED]) + (" …" if len(self.allowed) > LISTED else "")
        what = f"{self.path}: {self.value!r} is not one of the {self.ref.value} ids given"
        return f"{what} ({listed or 'none'})" + (
            f"; dropped {self.dropped}" if self.dropped else ""
        )


@dataclass
class Settled:
    """A grounded answer: the validated object with ids only, and what it took to get there."""

    parsed: Any
    tokens: int
    mapped: int = 0
    dropped: list[Issue] = field(default_factory=list)
    reasked: int = 0


# -- names to ids --------------------------------------------------------------------------

_HONORIFICS = frozenset(
    ("mr", "mrs", "ms", "miss", "dr", "sir", "lady", "lord", "madam", "general", "colonel")
)


def _key(text: str) -> str:
    words = re.sub(r"[^0-9a-z]+", " ", text.casefold()).split()
    while len(words) > 1 and words[0] in _HONORIFICS:
        words = words[1:]
    return " ".join(words)


class Resolver:
    """Maps what a model wrote to the id it means, when exactly one id fits."""

    def __init__(self, pool: Mapping[str, str], ref: Ref, facts: Iterable[str] = ()):
        fact_ids = set(facts)
        self.ids = tuple(pool)
        full: dict[str, set[str]] = {}
        part: dict[str, set[str]] = {}
        for ident, label in pool.items():
            names = {ident, ident.replace("_", " "), label}
            for name in names:
                full.setdefault(_key(name), set()).add(ident)
            if ref is Ref.FACT or ident in fact_ids:
                continue  # a fact's text is matched whole, never word by word
            words = _key(label).split() + _key(ident.replace("_", " ")).split()
            for word in words:
                if len(word) > 2:
                    part.setdefault(word, set()).add(ident)
        self._full = {k: next(iter(v)) for k, v in full.items() if k and len(v) == 1}
        self._part = {k: next(iter(v)) for k, v in part.items() if len(v) == 1}

    def __call__(self, value: str) -> str | None:
        if value in self.ids:
            return value
        for variant in _variants(value):
            key = _key(variant)
            if key in self._full:
                return self._full[key]
        for variant in _variants(value):
            key = _key(variant)
            if key in self._part:
                return self._part[key]
        return None


def _variants(value: str) -> list[str]:
    """The value, and its parts around brackets, colons and dashes: ``Madison (madison)``."""
    parts = [p for p in re.split(r"[()\[\]{}:;|]|\s[-–—]\s", value) if p.strip()]
    return [value, *parts]


# -- walking answers -----------------------------------------------------------------------


def review(answer: BaseModel, drop: bool = False) -> tuple[BaseModel, int, list[Issue]]:
    """Map names in ``answer`` to ids; list (and with ``drop``, remove) what names nothing.

    Returns the answer with ids only where they could be mapped, how many values were mapped,
    and the issues. Dropping removes a bad id from its list or dict, and an item whose own
    id-naming field is bad from the list that holds it (a top-level field is cleared).
    """
    grounding = grounding_of(type(answer))
    if grounding is None:
        return answer, 0, []
    walker = _Walker(grounding, drop)
    try:
        return walker.model(answer, ""), walker.mapped, walker.issues
    except _Drop as failed:  # a required top-level id: nothing to drop it from
        walker.issues[-1] = replace(failed.issue, dropped="")
        return answer, walker.mapped, walker.issues


class _Drop(Exception):
    """Raised inside an item whose id-naming field names nothing; its list drops it."""

    def __init__(self, issue: Issue):
        self.issue = issue


class _Walker:
    def __init__(self, grounding: Grounding, drop: bool):
        self.grounding = grounding
        self.drop = drop
        self.mapped = 0
        self.issues: list[Issue] = []
        self._resolvers: dict[Ref, Resolver] = {}

    def resolver(self, ref: Ref) -> Resolver:
        if ref not in self._resolvers:
            pool = self.grounding.pool(ref)
            self._resolvers[ref] = Resolver(pool, ref, facts=self.grounding.facts)
        return self._resolvers[ref]

    def resolve(self, value: str, ref: Ref) -> str | None:
        found = self.resolver(ref)(value)
        if found is not None and found != value:
            self.mapped += 1
        return found

    def issue(self, path: str, value: str, ref: Ref, dropped: str) -> Issue:
        issue = Issue(path, value, ref, self.resolver(ref).ids, dropped if self.drop else "")
        self.issues.append(issue)
        return issue

    def model(self, answer: BaseModel, path: str) -> BaseModel:
        base = declared_class(type(answer))
        updates: dict[str, Any] = {}
        for name, info in base.model_fields.items():
            value = getattr(answer, name)
            where = f"{path}.{name}" if path else name
            new = self.field(value, info.annotation, ref_in(info.metadata), info.default, where)
            if new is not value:
                updates[name] = new
        return answer.model_copy(update=updates) if updates else answer

    def field(self, value: Any, annotation: Any, ref: Ref | None, default: Any, path: str) -> Any:
        if ref is not None and isinstance(value, str):
            if (value == "" and default == "") or not self.resolver(ref).ids:
                return value  # optional and left empty, or nothing offered to choose from
            found = self.resolve(value, ref)
            if found is not None:
                return found
            if not path.count(".") and default == "":
                self.issue(path, value, ref, "the value (left empty)")
                return "" if self.drop else value
            raise _Drop(self.issue(path, value, ref, "the item it belongs to"))
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin is list and isinstance(value, list) and args:
            return self.items(value, args[0], path)
        if origin is dict and isinstance(value, dict) and len(args) == 2:
            return self.mapping(value, args, path)
        if isinstance(value, BaseModel):
            return self.model(value, path)
        return value

    def items(self, values: list[Any], annotation: Any, path: str) -> list[Any]:
        ref = ref_of(annotation)
        kept: list[Any] = []
        changed = False
        for index, value in enumerate(values):
            where = f"{path}[{index}]"
            if ref is not None and isinstance(value, str):
                found = self.resolve(value, ref)
                if found is None:
                    self.issue(where, value, ref, "the id from the list")
                    changed = changed or self.drop
                    if not self.drop:
                        kept.append(value)
                    continue
                changed = changed or found != value
                kept.append(found)
                continue
            try:
                new = self.field(value, annotation, None, None, where)
            except _Drop:
                changed = changed or self.drop
                if not self.drop:
                    kept.append(value)
                continue
            changed = changed or new is not value
            kept.append(new)
        return kept if changed else values

    def mapping(self, values: dict[Any, Any], args: tuple[Any, Any], path: str) -> dict[Any, Any]:
        key_ref, value_ref = ref_of(args[0]), ref_of(args[1])
        result: dict[Any, Any] = {}
        changed = False
        for key, value in values.items():
            where = f"{path}[{key!r}]"
            if key_ref is not None and isinstance(key, str):
                found = self.resolve(key, key_ref)
                if found is None:
                    self.issue(where, key, key_ref, "the entry")
                    changed = changed or self.drop
                    if not self.drop:
                        result[key] = value
                    continue
                changed = changed or found != key
                key = found
            if value_ref is not None and isinstance(value, str):
                found = self.resolve(value, value_ref)
                if found is None:
                    self.issue(where, value, value_ref, "the entry")
                    changed = changed or self.drop
                    if not self.drop:
                        result[key] = value
                    continue
                changed = changed or found != value
                value = found
            result[key] = value
        return result if changed else values


# -- asking --------------------------------------------------------------------------------


def reask_ids_message(issues: list[Issue]) -> str:
    """The user message asking a model to replace what named no id of the request."""
    listed = "\n".join(f"- {issue.describe()}" for issue in issues[:LISTED])
    return (
        f"Some values in your answer name no id this request offers:\n{listed}\n"
        "Answer again with the complete JSON object, writing each of these as one of the ids "
        "listed (exactly as written there)."
    )


def settle(
    complete: Callable[[Request], Completion],
    request: Request | None,
    completion: Completion | None = None,
    max_reasks: int = 1,
) -> Settled:
    """The answer to ``request`` with ids only: names mapped, the rest re-asked, then dropped.

    ``complete`` is the gateway's ``complete``; ``completion`` an answer already in hand (with
    no ``request`` nothing is re-asked). An answer whose schema was not built by
    :func:`grounded` is returned as it is.
    """
    if completion is None:
        assert request is not None, "settle needs a request or a completion"
        completion = complete(request)
    tokens = completion.usage.total_tokens
    if completion.parsed is None:
        return Settled(parsed=None, tokens=tokens)
    answer, mapped, issues = review(completion.parsed)
    reasked = 0
    messages = request.messages if request is not None else ()
    while issues and request is not None and reasked < max_reasks:
        reasked += 1
        messages = (
            *messages,
            Message(role="assistant", content=completion.text[:4_000]),
            Message(role="user", content=reask_ids_message(issues)),
        )
        completion = complete(request.with_messages(messages))
        tokens += completion.usage.total_tokens
        answer, mapped, issues = review(completion.parsed)  # type: ignore[arg-type]
    if issues:
        answer, _, issues = review(answer, drop=True)  # names were mapped above
    return Settled(parsed=answer, tokens=tokens, mapped=mapped, dropped=issues, reasked=reasked)
