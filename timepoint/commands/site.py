"""``timepoint site build|serve|freeze-tutorials``: build the report site, serve it, or
execute the tutorials it shows.

``build`` writes ``_site/`` beside ``TIMEPOINT_HOME`` (``./_site`` by default; ``--out`` to
change it) with Quarto when installed, else nbconvert, with a calibration page per question set
in the store and the tutorials from their frozen copies. ``serve`` serves it on 127.0.0.1.
``freeze-tutorials`` executes the tutorials whose frozen copy (``_freeze/tutorials/``) is
missing or stale; ``--check`` only lists them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from timepoint.calibrate.site import calibration_pages
from timepoint.report.freeze import Tutorials, freeze_state, freeze_tutorials, select
from timepoint.report.serve import serve_site
from timepoint.report.site import build_site, site_dir
from timepoint.settings import Settings


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="site_command", metavar="ACTION", required=True)
    build = sub.add_parser("build", help="build _site/ from stored runs")
    build.add_argument("--runs", nargs="+", metavar="ID", help="runs to build pages for")
    build.add_argument(
        "--compare",
        nargs=2,
        action="append",
        default=[],
        metavar=("RUN_A", "RUN_B"),
        help="add a path comparison page for two runs (repeatable)",
    )
    build.add_argument("--out", type=Path, help="site folder (default: _site beside the runs)")
    build.add_argument(
        "--renderer",
        choices=("auto", "quarto", "nbconvert"),
        default="auto",
        help="auto: quarto when installed, else nbconvert",
    )
    build.add_argument("--workers", type=int, default=None, help="notebooks executed at once")
    build.add_argument("--refresh", action="store_true", help="execute every report notebook again")
    build.set_defaults(handler=handle_build)
    serve = sub.add_parser("serve", help="serve _site/ on localhost")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--dir", type=Path, help="site folder (default: _site beside the runs)")
    serve.set_defaults(handler=handle_serve)
    freeze = sub.add_parser(
        "freeze-tutorials",
        help="execute the tutorials whose frozen copy (_freeze/tutorials/) is missing or stale",
    )
    freeze.add_argument(
        "names", nargs="*", metavar="NAME", help="tutorials to freeze (default: every one)"
    )
    freeze.add_argument(
        "--all", dest="everything", action="store_true", help="execute them even when current"
    )
    freeze.add_argument(
        "--check", action="store_true", help="execute nothing; exit 1 if any copy is stale"
    )
    freeze.add_argument(
        "--dir",
        type=Path,
        help="project folder with notebooks/tutorials (default: the folder of the runs)",
    )
    freeze.set_defaults(handler=handle_freeze)


def handle_build(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    site = build_site(
        settings=settings,
        run_ids=args.runs,
        out=args.out,
        compare=[tuple(pair) for pair in args.compare],
        renderer=args.renderer,
        workers=args.workers,
        refresh=args.refresh,
        extra=calibration_pages(settings),
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(f"site: {site / 'index.html'}  (serve with: timepoint site serve)")
    return 0


def handle_freeze(args: argparse.Namespace) -> int:
    root = args.dir or Path(Settings.from_env().home).resolve().parent
    tutorials = Tutorials.of(root)
    if args.check:
        stale = [(n, freeze_state(tutorials, n)) for n in select(tutorials, args.names)]
        for name, state in stale:
            if state != "current":
                print(f"{name}: frozen copy {state}; run: {tutorials.refreeze_command(name)}")
        current = sum(state == "current" for _, state in stale)
        print(f"{current} of {len(stale)} frozen tutorials current")
        return 0 if current == len(stale) else 1
    done = freeze_tutorials(
        tutorials,
        args.names,
        everything=args.everything,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(f"frozen: {', '.join(done) or 'nothing (every copy is current)'} in {tutorials.frozen}")
    return 0


def handle_serve(args: argparse.Namespace) -> int:

    directory = args.dir or site_dir(Settings.from_env())
    server = serve_site(directory, port=args.port)
    host, port = server.server_address[:2]
    host = host.decode() if isinstance(host, bytes) else host
    print(f"serving {directory} at http://{host}:{port}/ (Ctrl-C to stop)", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
