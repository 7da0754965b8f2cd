"""Job specs and grids: what a batch runs, with deterministic job ids.

A :class:`JobSpec` is one simulation: a scenario (a file path or a :class:`Scenario`), dotted-path
overrides, a seed and a replicate number. Its ``job_id`` hashes the resolved configuration (the
scenario with overrides and seed applied, see :attr:`Scenario.config_hash`), the seed and the
replicate, so the same batch definition always yields the same ids and a batch can resume.

:func:`expand_grid` builds the specs of every combination of some axes; the :class:`Grid` it
returns is a lazy sequence, so a grid of many thousands of jobs costs no memory until a job is
asked for.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

from pydantic import BaseModel, ConfigDict, Field

from timepoint.errors import BatchError, ScenarioError
from timepoint.scenario.loader import load_scenario
from timepoint.scenario.schema import Scenario

#: grid axes with a meaning of their own; every other axis is a dotted scenario path
SEED_AXIS = "seed"
REPLICATE_AXIS = "replicate"


class JobSpec(BaseModel):
    """One simulation of a batch.

    Build specs with :func:`expand_grid` or :func:`make_spec`; both compute ``job_id`` and
    ``config_hash`` from the resolved scenario.

    Attributes:
        job_id: deterministic id: hash of the resolved config, the seed and the replicate.
        scenario: an absolute scenario file path (workers load it) or a scenario object.
        overrides: dotted-path overrides applied before the seed.
        seed: the run seed.
        replicate: the replicate number (0 for the first run of a configuration).
        config_hash: ``config_hash`` of the resolved scenario.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    job_id: str
    scenario: Scenario | str
    overrides: dict[str, Any] = Field(default_factory=dict)
    seed: int
    replicate: int = Field(0, ge=0)
    config_hash: str

    @property
    def scenario_label(self) -> str:
        """The scenario file, or the scenario id for an in-memory scenario."""
        return self.scenario if isinstance(self.scenario, str) else self.scenario.id

    def describe(self) -> dict[str, Any]:
        """The spec as stored in ``batch_jobs.spec_json``."""
        return {
            "scenario": self.scenario_label,
            "overrides": self.overrides,
            "seed": self.seed,
            "replicate": self.replicate,
            "config_hash": self.config_hash,
        }


class ScenarioLoader:
    """Loads each scenario file once; keys are absolute paths."""

    def __init__(self) -> None:
        self._loaded: dict[str, Scenario] = {}

    def reference(self, scenario: Scenario | str | Path) -> tuple[Scenario | str, Scenario]:
        """What a spec should carry for ``scenario`` and the loaded scenario itself."""
        if isinstance(scenario, Scenario):
            return scenario, scenario
        path = str(Path(scenario).expanduser().resolve())
        if path not in self._loaded:
            self._loaded[path] = load_scenario(Path(path))
        return path, self._loaded[path]


def resolve(base: Scenario, overrides: Mapping[str, Any], seed: int | None) -> Scenario:
    """``base`` with ``overrides`` and then ``seed`` applied, exactly as :func:`tp.run` does.

    Raises:
        BatchError: an override names a field the scenario does not have, or a bad value.
    """
    try:
        resolved = base.with_overrides(dict(overrides)) if overrides else base
        if seed is not None and seed != resolved.seed:
            resolved = resolved.with_overrides({"seed": seed})
    except ScenarioError as error:
        problems = "; ".join(error.problems)
        raise BatchError(
            f"overrides {dict(overrides)} do not fit scenario {base.id!r}: {problems}; "
            "use dotted paths of existing fields, e.g. timepoints.count or "
            "models.actions.dialog_synthesis"
        ) from None
    return resolved


def job_id_for(config_hash: str, seed: int, replicate: int) -> str:
    """The deterministic job id of a resolved configuration, seed and replicate."""
    material = f"{config_hash}:{seed}:{replicate}"
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def make_spec(
    scenario: Scenario | str | Path,
    overrides: Mapping[str, Any] | None = None,
    seed: int | None = None,
    replicate: int = 0,
    *,
    loader: ScenarioLoader | None = None,
) -> JobSpec:
    """One spec; ``seed`` defaults to the scenario's (after overrides).

    A ``seed`` key among ``overrides`` is taken as the seed.

    Raises:
        BatchError: the overrides do not fit the scenario.
        ScenarioError: the scenario file is missing or invalid.
    """
    loader = loader or ScenarioLoader()
    reference, base = loader.reference(scenario)
    overrides = dict(overrides or {})
    if SEED_AXIS in overrides:
        value = overrides.pop(SEED_AXIS)
        seed = value if seed is None else seed
    resolved = resolve(base, overrides, seed)
    return JobSpec(
        job_id=job_id_for(resolved.config_hash, resolved.seed, replicate),
        scenario=reference,
        overrides=overrides,
        seed=resolved.seed,
        replicate=replicate,
        config_hash=resolved.config_hash,
    )


def resolved_scenario(spec: JobSpec, loader: ScenarioLoader) -> Scenario:
    """The scenario ``spec`` runs: its base with overrides and seed applied."""
    _, base = loader.reference(spec.scenario)
    return resolve(base, spec.overrides, spec.seed)


class Grid(Sequence[JobSpec]):
    """Every combination of ``axes`` (in the order given) times ``replicates``, built lazily.

    Use :func:`expand_grid` to make one.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path,
        axes: Mapping[str, Iterable[Any]],
        *,
        replicates: int = 1,
        overrides: Mapping[str, Any] | None = None,
    ):
        if replicates < 1:
            raise BatchError(f"replicates={replicates}: give at least 1")
        self._loader = ScenarioLoader()
        self._reference, self._base = self._loader.reference(scenario)
        self.overrides = dict(overrides or {})
        self.axes: dict[str, tuple[Any, ...]] = {}
        for name, values in axes.items():
            if isinstance(values, str | bytes) or not isinstance(values, Iterable):
                values = [values]
            materialized = tuple(values)
            if not materialized:
                raise BatchError(
                    f"grid axis {name!r} is empty; give it at least one value, e.g. "
                    f"{{{name!r}: [...]}}, or leave the axis out"
                )
            self.axes[name] = materialized
        if REPLICATE_AXIS not in self.axes:
            self.axes[REPLICATE_AXIS] = tuple(range(replicates))
        elif replicates != 1:
            raise BatchError("give replicates either as the 'replicate' axis or as replicates=")
        self._check_axes()

    def _check_axes(self) -> None:
        """Apply each axis value alone, so a bad axis fails now with its name."""
        for name, values in self.axes.items():
            for value in values:
                if name == REPLICATE_AXIS:
                    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                        raise BatchError(
                            f"grid axis 'replicate': {value!r} is not a replicate number (0, 1…)"
                        )
                    continue
                if name == SEED_AXIS:
                    if not isinstance(value, int) or isinstance(value, bool):
                        raise BatchError(f"grid axis 'seed': {value!r} is not an integer seed")
                    continue
                try:
                    self._spec({name: value})
                except (BatchError, ScenarioError) as error:
                    raise BatchError(f"grid axis {name!r}, value {value!r}: {error}") from None

    def _spec(self, point: Mapping[str, Any]) -> JobSpec:
        values = dict(point)
        replicate = values.pop(REPLICATE_AXIS, 0)
        seed = values.pop(SEED_AXIS, None)
        return make_spec(
            self._reference,
            {**self.overrides, **values},
            seed,
            replicate,
            loader=self._loader,
        )

    def __len__(self) -> int:
        size = 1
        for values in self.axes.values():
            size *= len(values)
        return size

    @overload
    def __getitem__(self, index: int) -> JobSpec: ...

    @overload
    def __getitem__(self, index: slice) -> list[JobSpec]: ...

    def __getitem__(self, index: int | slice) -> JobSpec | list[JobSpec]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        size = len(self)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError(f"grid index {index} out of range for {size} jobs")
        point: dict[str, Any] = {}
        for name, values in reversed(self.axes.items()):
            index, position = divmod(index, len(values))
            point[name] = values[position]
        return self._spec(point)

    def __iter__(self) -> Iterator[JobSpec]:
        names = list(self.axes)
        for combination in itertools.product(*self.axes.values()):
            yield self._spec(dict(zip(names, combination, strict=True)))

    def describe(self) -> dict[str, Any]:
        """The grid as stored with its batch: scenario, base overrides and axes."""
        label = self._reference if isinstance(self._reference, str) else self._base.id
        return {
            "scenario": label,
            "overrides": self.overrides,
            "axes": {k: list(v) for k, v in self.axes.items()},
            "jobs": len(self),
        }

    def __repr__(self) -> str:
        axes = ", ".join(f"{k}×{len(v)}" for k, v in self.axes.items())
        return f"Grid({self._base.id}: {axes} = {len(self)} jobs)"


def expand_grid(
    scenario: Scenario | str | Path,
    axes: Mapping[str, Iterable[Any]],
    *,
    replicates: int = 1,
    overrides: Mapping[str, Any] | None = None,
) -> Grid:
    """The specs of every combination of ``axes``.

    Args:
        scenario: a scenario file or object.
        axes: axis name -> values. ``seed`` sets the run seed, ``replicate`` the replicate
            number; any other name is a dotted scenario path such as ``timepoints.count`` or
            ``models.actions.dialog_synthesis``.
        replicates: runs per combination (replicate numbers 0…n-1).
        overrides: dotted-path overrides applied to every job.

    Returns:
        A lazy :class:`Grid` (a sequence of :class:`JobSpec`).

    Raises:
        BatchError: an axis is empty or one of its values does not fit the scenario.

    Example:
        >>> specs = expand_grid("scenarios/showcase/jefferson_dinner.yaml",
        ...                     {"seed": range(100)})  # doctest: +SKIP
    """
    return Grid(scenario, axes, replicates=replicates, overrides=overrides)


def as_spec(item: Any, loader: ScenarioLoader) -> JobSpec:
    """A :class:`JobSpec` from a spec, a scenario (object or path) or a mapping with the keys
    ``scenario``, ``overrides``, ``seed``, ``replicate``.

    Raises:
        BatchError: the item is none of those.
    """
    if isinstance(item, JobSpec):
        return item
    if isinstance(item, Scenario | str | Path):
        return make_spec(item, loader=loader)
    if isinstance(item, Mapping):
        allowed = {"scenario", "overrides", "seed", "replicate"}
        unknown = sorted(set(item) - allowed)
        if unknown or "scenario" not in item:
            raise BatchError(
                f"batch config {dict(item)!r}: "
                + (f"unknown keys {unknown}; " if unknown else "no 'scenario'; ")
                + "allowed keys: scenario (required), overrides, seed, replicate"
            )
        return make_spec(
            item["scenario"],
            item.get("overrides"),
            item.get("seed"),
            int(item.get("replicate", 0)),
            loader=loader,
        )
    raise BatchError(
        f"batch config of type {type(item).__name__} is not a JobSpec, scenario, path or "
        "mapping; build configs with tp.expand_grid(scenario, axes)"
    )


def iter_specs(configs: Iterable[Any], loader: ScenarioLoader | None = None) -> Iterator[JobSpec]:
    """Specs of ``configs`` one at a time (see :func:`as_spec`)."""
    loader = loader or ScenarioLoader()
    for item in configs:
        yield as_spec(item, loader)


def batch_id_for(job_ids: Iterable[str]) -> str:
    """The deterministic id of a batch: a hash of its job ids in order."""
    digest = hashlib.sha256()
    for job_id in job_ids:
        digest.update(job_id.encode())
        digest.update(b"\n")
    return f"batch-{digest.hexdigest()[:12]}"


def canonical(value: Any) -> str:
    """Stable JSON of a value, for hashing."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
