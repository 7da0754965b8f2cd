"""``timepoint serve``: the REST API (uvicorn) and the worker processes that do its work.

The API process only checks requests and queues them in the store; ``--workers`` service worker
processes (``timepoint worker``) do the work on the batch backends. Workers started here stop
with the server; work they held is taken over by the next worker once its lease runs out.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import uvicorn

from timepoint.commands.worker import (
    add_backend_arguments,
    batch_target,
    webhook_secrets,
    worker_processes,
)
from timepoint.service.app import create_app
from timepoint.service.limits import DEFAULT_RATE_PER_MINUTE, RateLimiter
from timepoint.service.webhooks import load_webhooks
from timepoint.settings import Settings
from timepoint.store import open_store


def register(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``timepoint serve``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument(
        "--workers", type=int, default=1, metavar="N", help="worker processes to start (0: none)"
    )
    add_backend_arguments(parser)
    parser.add_argument("--library", type=Path, default=Path("scenarios"), help="scenario folder")
    parser.add_argument(
        "--questions", type=Path, default=Path("questions"), help="question-set folder"
    )
    parser.add_argument("--webhooks", type=Path, metavar="FILE", help="webhooks YAML file")
    parser.add_argument(
        "--rate",
        type=int,
        default=DEFAULT_RATE_PER_MINUTE,
        metavar="N",
        help="requests per minute for keys created without --rate",
    )
    parser.set_defaults(handler=handle)


def worker_command(args: argparse.Namespace, settings: Settings) -> list[str]:
    """The command line of one worker process."""
    backend, cluster = batch_target(args, settings)
    command = [sys.executable, "-m", "timepoint.cli", "worker", "--bound"]
    command += ["--backend", backend]
    if cluster:
        command += ["--cluster", cluster]
    if args.webhooks:
        command += ["--webhooks", str(args.webhooks)]
    return command


def handle(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; the workers stop with the server."""
    settings = Settings.from_env()
    if args.webhooks:
        load_webhooks(args.webhooks, os.environ)  # a bad file stops the server, not its workers
    store = open_store(settings.db_url, home=settings.home)
    app = create_app(
        store,
        settings,
        library=args.library,
        questions=args.questions,
        limiter=RateLimiter(store, args.rate),
        webhook_secrets=webhook_secrets(settings),
    )
    try:
        with worker_processes(worker_command(args, settings), args.workers):
            uvicorn.run(app, host=args.host, port=args.port, log_level="info", access_log=False)
    finally:
        store.close()
    return 0
