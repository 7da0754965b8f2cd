"""``timepoint branch RUN_ID --at TP --remove ENTITY``: re-simulate a run after an intervention.

Exactly one intervention: ``--remove ENTITY``, ``--cancel-event``, ``--modify ENTITY FIELD=VALUE``
(repeat ``--modify`` for several fields of one entity) or ``--alter FACT=TEXT`` (optionally
``--holder ENTITY``). The branch is stored as a new run; a comparison with its parent is printed.
"""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from timepoint.engine.run import load_run
from timepoint.engine.runner import RunFailed
from timepoint.errors import ConfigurationError
from timepoint.settings import Settings
from timepoint.time.comparison import compare
from timepoint.time.intervention import Intervention


def register(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``timepoint branch``."""
    parser.add_argument("run_id", help="the run to branch (a unique prefix is enough)")
    parser.add_argument(
        "--at", required=True, help="first timepoint to re-simulate (id like tp_001, or index)"
    )
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--remove", metavar="ENTITY", help="the entity is absent from --at on")
    group.add_argument(
        "--cancel-event", action="store_true", help="the event at --at does not happen"
    )
    group.add_argument(
        "--modify",
        nargs=2,
        action="append",
        metavar=("ENTITY", "FIELD=VALUE"),
        help="change a field, e.g. --modify madison physical.pain=0.9 (values are YAML)",
    )
    group.add_argument(
        "--alter", metavar="FACT=TEXT", help="holders of FACT (id or text fragment) hold TEXT"
    )
    parser.add_argument("--holder", metavar="ENTITY", help="with --alter: only this entity")
    parser.set_defaults(handler=handle)


def intervention_from(args: argparse.Namespace) -> Any:
    """The :class:`~timepoint.time.intervention.Intervention` the arguments describe."""

    if args.remove:
        return Intervention.remove(args.remove)
    if args.cancel_event:
        return Intervention.cancel_event()
    if args.alter:
        fact, sep, text = args.alter.partition("=")
        if not sep or not fact.strip() or not text.strip():
            raise ConfigurationError(
                f"--alter {args.alter!r}: expected FACT=TEXT, e.g. --alter Potomac='A capital "
                "on the Susquehanna'"
            )
        return Intervention.alter(fact.strip(), text.strip(), entity=args.holder)
    entities = {entity for entity, _ in args.modify}
    if len(entities) > 1:
        raise ConfigurationError(
            f"--modify names {len(entities)} entities ({', '.join(sorted(entities))}); "
            "one branch modifies one entity"
        )
    changes = {}
    for _, pair in args.modify:
        field, sep, value = pair.partition("=")
        if not sep or not field:
            raise ConfigurationError(
                f"--modify {pair!r}: expected FIELD=VALUE, e.g. role=secondary"
            )
        changes[field.strip()] = yaml.safe_load(value)
    return Intervention.modify(entities.pop(), changes)


def handle(args: argparse.Namespace) -> int:
    """Branch, store, and print the new run id with a comparison to the parent."""

    settings = Settings.from_env()
    intervention = intervention_from(args)
    parent = load_run(args.run_id, settings=settings)
    at: str | int = int(args.at) if args.at.isdigit() else args.at
    try:
        branched = parent.branch(at=at, intervention=intervention)
    except RunFailed as failure:
        print(f"branch {failure.run.run_id} failed at step {failure.step!r}: {failure.cause}")
        return 1
    print(f"branch {branched.run_id} of {parent.run_id}: {intervention.describe()} at {args.at}")
    print(f"folder: {branched.folder}")
    print(compare(parent, branched))
    return 0
