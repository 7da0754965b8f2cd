"""Answer classes whose id fields may only name the ids a request offers.

An answer field that names an entity or a fact is declared with :data:`EntityId`,
:data:`FactId` or :data:`SubjectId` (either). :func:`grounded` builds, per request, a subclass
of the answer class under the same name whose JSON schema lists the ids present as an ``enum``
(a dict keyed by entity ids lists them as its properties), so constrained decoding can only
write those. The subclass carries its :class:`Grounding` (:func:`grounding_of`); what a model
without such decoding writes anyway is mapped, re-asked or dropped by
:func:`~timepoint.llm.grounding.settle`.
"""

from __future__ import annotations

import copy
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, WithJsonSchema, create_model


class Ref(StrEnum):
    """What an id-naming field names."""

    ENTITY = "entity"
    FACT = "fact"
    SUBJECT = "subject"  # an entity or a fact


EntityId = Annotated[str, Ref.ENTITY]
FactId = Annotated[str, Ref.FACT]
SubjectId = Annotated[str, Ref.SUBJECT]

_MARK = "__timepoint_grounding__"


@dataclass(frozen=True)
class Grounding:
    """The ids a request offers: entity ids to display names, fact ids to texts."""

    entities: Mapping[str, str] = field(default_factory=dict)
    facts: Mapping[str, str] = field(default_factory=dict)

    def pool(self, ref: Ref) -> dict[str, str]:
        if ref is Ref.ENTITY:
            return dict(self.entities)
        if ref is Ref.FACT:
            return dict(self.facts)
        return {**self.facts, **self.entities}


def grounded(
    schema: type[BaseModel],
    *,
    entities: Mapping[str, str] | Iterable[str] = (),
    facts: Mapping[str, str] | Iterable[str] = (),
) -> type[BaseModel]:
    """A subclass of ``schema``, same name, whose id fields list the given ids as an ``enum``.

    ``entities`` and ``facts`` map ids to display names and texts (or are plain id lists); an
    empty pool admits no id (a list of them must stay empty). The class remembers its
    :class:`Grounding` for :func:`~timepoint.llm.grounding.settle`; a schema without id fields
    is returned as it is.
    """
    grounding = Grounding(entities=_labels(entities), facts=_labels(facts))
    return _grounded(schema, grounding) or schema


def grounding_of(schema: type[BaseModel] | None) -> Grounding | None:
    """The :class:`Grounding` a class built by :func:`grounded` carries, else ``None``."""
    return schema.__dict__.get(_MARK) if schema is not None else None


def _labels(items: Mapping[str, str] | Iterable[str]) -> dict[str, str]:
    if isinstance(items, Mapping):
        return {str(k): str(v) for k, v in items.items()}
    return {str(i): str(i) for i in items}


def _grounded(schema: type[BaseModel], grounding: Grounding) -> type[BaseModel] | None:
    overrides: dict[str, Any] = {}
    for name, info in schema.model_fields.items():
        annotation = _rebuilt(info.annotation, ref_in(info.metadata), info.default, grounding)
        if annotation is not None:
            fresh = copy.copy(info)
            fresh.metadata = [m for m in info.metadata if not isinstance(m, Ref)]
            overrides[name] = (annotation, fresh)
    if not overrides:
        return None
    cls = create_model(schema.__name__, __base__=schema, __module__=schema.__module__, **overrides)
    cls.__doc__ = schema.__doc__
    setattr(cls, _MARK, grounding)
    return cls


_NOTHING = object()  # an id position whose pool is empty: no value is allowed there


def _rebuilt(annotation: Any, ref: Ref | None, default: Any, grounding: Grounding) -> Any:
    """The constrained annotation for a field, or ``None`` when nothing in it names ids."""
    if ref is not None and annotation is str:
        ids = list(grounding.pool(ref))
        if default == "" and "" not in ids:
            ids.append("")
        return Annotated[str, _enum(ids)] if ids else Annotated[str, ref]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list and args:
        item = _item(args[0], grounding)
        if item is _NOTHING:
            return Annotated[list[str], WithJsonSchema({"type": "array", "maxItems": 0})]
        return list.__class_getitem__(item) if item is not None else None
    if origin is dict and len(args) == 2:
        key_ref = ref_of(args[0])
        if key_ref is not None:
            string = {"type": "string"}
            properties = {i: string for i in grounding.pool(key_ref)}
            shape = {"type": "object", "properties": properties, "additionalProperties": False}
            return Annotated[dict[str, args[1]], WithJsonSchema(shape)]  # type: ignore[valid-type]
        inner = _item(args[1], grounding)
        if inner is _NOTHING:
            return Annotated[dict[str, str], WithJsonSchema({"type": "object", "maxProperties": 0})]
        return dict[str, inner] if inner is not None else None  # type: ignore[valid-type]
    if ref is None:
        inner = _item(annotation, grounding)
        return inner if inner is not _NOTHING else None
    return None


def _item(annotation: Any, grounding: Grounding) -> Any:
    ref = ref_of(annotation)
    if ref is not None:
        ids = list(grounding.pool(ref))
        return Annotated[str, _enum(ids)] if ids else _NOTHING
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _grounded(annotation, grounding)
    return None


def _enum(ids: list[str]) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "enum": ids})


def ref_in(metadata: Iterable[Any]) -> Ref | None:
    """The :class:`Ref` among a field's metadata, if any."""
    return next((m for m in metadata if isinstance(m, Ref)), None)


def ref_of(annotation: Any) -> Ref | None:
    """The :class:`Ref` of an ``Annotated`` type such as :data:`EntityId`, if any."""
    if typing.get_origin(annotation) is Annotated:
        return ref_in(typing.get_args(annotation)[1:])
    return None


def declared_class(cls: type[BaseModel]) -> type[BaseModel]:
    """The declared answer class a grounded class was built from (field refs live there)."""
    return cls.__base__ if _MARK in cls.__dict__ else cls  # type: ignore[return-value]
