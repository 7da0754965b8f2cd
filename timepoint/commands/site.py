"""``timepoint site build|serve``: build the report site from stored runs, or serve it.

``build`` writes ``_site/`` beside ``TIMEPOINT_HOME`` (``./_site`` by default; ``--out`` to
change it) with Quarto when installed, else nbconvert, with a calibration page per question set
in the store. ``serve`` serves it on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from timepoint.calibrate.site import calibration_pages
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
    )
    print(f"site: {site / 'index.html'}  (serve with: timepoint site serve)")
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
