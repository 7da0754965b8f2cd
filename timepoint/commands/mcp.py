"""``timepoint mcp``: the MCP server, on stdio (desktop clients) or streamable HTTP.

On stdio the caller is the key in ``TIMEPOINT_API_KEY``; over HTTP every request carries its
own (``Authorization: Bearer …``). Worker processes are started as by ``timepoint serve``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import uvicorn

from timepoint.commands.worker import worker_processes
from timepoint.errors import AuthError
from timepoint.service.keys import ApiKey, check_token
from timepoint.service.limits import DEFAULT_RATE_PER_MINUTE, RateLimiter
from timepoint.service.mcp_server import bearer_identity, build_mcp
from timepoint.service.requests import ScenarioLibrary
from timepoint.service.work import Service
from timepoint.settings import Settings
from timepoint.store import open_store


def register(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``timepoint mcp``."""
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP: address to listen on")
    parser.add_argument("--port", type=int, default=8001, help="HTTP: port to listen on")
    parser.add_argument(
        "--workers", type=int, default=1, metavar="N", help="worker processes to start (0: none)"
    )
    parser.add_argument("--library", type=Path, default=Path("scenarios"), help="scenario folder")
    parser.add_argument(
        "--questions", type=Path, default=Path("questions"), help="question-set folder"
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Serve MCP until the client disconnects (stdio) or Ctrl-C (HTTP)."""
    settings = Settings.from_env()
    store = open_store(settings.db_url, home=settings.home)
    library = ScenarioLibrary(args.library, settings.home / "service" / "scenarios", settings)
    service = Service(store, library, RateLimiter(store, DEFAULT_RATE_PER_MINUTE))
    if args.transport == "stdio":
        token = os.environ.get("TIMEPOINT_API_KEY", "").strip()
        if not token:
            raise AuthError(
                "the stdio MCP server acts for one API key: set TIMEPOINT_API_KEY "
                "(make one with `timepoint keys create --name NAME`)"
            )
        key = check_token(store, token)

        def identity() -> ApiKey:
            return key

        server = build_mcp(service, identity, questions=args.questions)
    else:
        url = f"http://{args.host}:{args.port}"
        server = build_mcp(
            service, bearer_identity(service), questions=args.questions, auth_url=url
        )
    command = [sys.executable, "-m", "timepoint.cli", "worker", "--bound"]
    try:
        with worker_processes(command, args.workers, quiet=True):
            if args.transport == "stdio":
                server.run("stdio")
            else:
                app = server.streamable_http_app(host=args.host)
                uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    finally:
        store.close()
    return 0
