"""The ``timepoint`` command line. Sub-commands live in :mod:`timepoint.commands`, one module each,
imported only when used so start-up stays fast (no pandas, dask, altair or papermill here).
Every command that uses the run store first prints which one (``store: …``) on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from timepoint.errors import TimepointError
from timepoint.settings import Settings

#: sub-command name -> (module under timepoint.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "run a scenario file and store the run"),
    "runs": ("runs", "list stored runs"),
    "validate": ("validate", "validate scenario files"),
    "models": ("models", "list the model registry and the model chosen per action"),
    "import-template": ("import_template", "convert an earlier-format JSON template to YAML"),
    "new": ("new", "write a scenario from one sentence"),
    "ask": ("ask", "ask a question of a stored run"),
    "branch": ("branch", "branch a stored run with an intervention and re-simulate"),
    "compare": ("compare", "compare two runs or two paths of one run"),
    "batch": ("batch", "run a batch of specs locally or on Dask"),
    "sweep": ("sweep", "execute a notebook over a parameter grid"),
    "forecast": ("forecast", "forecast a question set from ensembles of runs"),
    "resolve": ("resolve", "record a question set's outcomes and score its forecasts"),
    "import-questions": ("import_questions", "write a question set from Polymarket or Metaculus"),
    "site": ("site", "build or serve the report site"),
    "export": ("export", "export store tables (JSONL, Parquet)"),
    "db": ("db", "upgrade the run store's schema or show its version"),
    "offline-server": ("offline_server", "serve the offline model as an OpenAI-style endpoint"),
    "serve": ("serve", "serve the REST API and start its workers"),
    "worker": ("worker", "do the work queued by the REST API and the MCP server"),
    "keys": ("keys", "create, list or revoke API keys"),
    "mcp": ("mcp", "serve simulation as MCP tools (stdio or streamable HTTP)"),
}

#: sub-commands that read or write the run store; each says which store first (on stderr)
STORE_COMMANDS = frozenset(
    {
        "run",
        "runs",
        "ask",
        "branch",
        "compare",
        "batch",
        "sweep",
        "forecast",
        "resolve",
        "site",
        "export",
        "db",
    }
)


def _uses_store(args: argparse.Namespace) -> bool:
    """True when the command reads or writes the store of the environment (not ``db --url``,
    not ``site serve``, which serves a folder)."""
    if args.command not in STORE_COMMANDS or getattr(args, "url", None):
        return False
    return getattr(args, "site_command", None) != "serve"


def _build_parser(selected: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="timepoint", description="Timepoint: LLM-driven temporal simulation."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        if name == selected:
            command = importlib.import_module(f"timepoint.commands.{module}")
            command.register(sub.add_parser(name, help=help_text, description=help_text))
        else:
            sub.add_parser(name, help=help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: returns the exit code (0 ok, 1 run failure, 2 user error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in argv if not a.startswith("-")), None)
    if selected is not None and selected not in COMMANDS:
        selected = None
    parser = _build_parser(selected)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if _uses_store(args):
            print(Settings.from_env().describe_store(), file=sys.stderr)
        return int(args.handler(args) or 0)
    except TimepointError as error:
        print(f"timepoint {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
