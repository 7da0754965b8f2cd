"""``timepoint import-template FILE.json [-o OUT.yaml]``: convert an earlier-format template."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from timepoint.errors import TimepointError
from timepoint.scenario.legacy import import_template_file
from timepoint.scenario.writer import write_atomic


def register(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``timepoint import-template``."""
    parser.add_argument("template", type=Path, metavar="FILE.json", help="earlier-format template")
    parser.add_argument(
        "-o", "--output", type=Path, help="YAML file to write (default: print to stdout)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Convert, validate and write the scenario; end with the table of what became of every
    key: mapped, approximated (how) or unsupported (why)."""

    if args.output is not None and args.output.exists() and not args.force:
        raise TimepointError(f"{args.output} exists; pass --force to overwrite it")
    imported = import_template_file(args.template)
    text = imported.to_yaml()
    if args.output is None:
        sys.stdout.write(text)
        report = sys.stderr
    else:
        write_atomic(args.output, text)
        scenario = imported.scenario
        print(
            f"wrote {args.output}  ({scenario.id}, {scenario.temporal.mode.value}, "
            f"{scenario.entities.count} entities, {len(imported.unmapped)} keys not mapped)"
        )
        report = sys.stdout
    for item in imported.unmapped:
        print(item, file=report)
    for note in imported.notes:
        print(f"note: {note}", file=report)
    print(imported.table(), file=report)
    return 0
