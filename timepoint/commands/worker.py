"""``timepoint worker``: do the work the REST API and the MCP server queue in the store."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from timepoint.batch.lifeline import set_parent_death_signal
from timepoint.service.webhooks import Dispatcher, WebhookSecrets, load_webhooks
from timepoint.service.worker import LEASE_S, Worker
from timepoint.settings import Settings
from timepoint.store import open_store


def register(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``timepoint worker``."""
    add_backend_arguments(parser)
    parser.add_argument("--lease", type=float, default=LEASE_S, metavar="S", help="lease seconds")
    parser.add_argument("--webhooks", type=Path, metavar="FILE", help="webhooks YAML file")
    parser.add_argument("--bound", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(handler=handle)


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """``--backend`` and ``--cluster`` of ``timepoint worker`` and ``timepoint serve``."""
    parser.add_argument(
        "--backend",
        choices=("local", "dask"),
        help="where batches run (default: dask when a scheduler is known, else local)",
    )
    parser.add_argument(
        "--cluster",
        metavar="URL",
        help="Dask scheduler, e.g. tcp://host:8786 (default: $DASK_SCHEDULER_ADDRESS)",
    )


def batch_target(args: argparse.Namespace, settings: Settings) -> tuple[str, str | None]:
    """The backend and Dask scheduler the arguments and settings choose: ``--cluster``, else
    ``DASK_SCHEDULER_ADDRESS``; ``--backend`` defaults to ``dask`` when there is a scheduler.
    ``--backend local`` ignores ``DASK_SCHEDULER_ADDRESS``."""
    if args.backend == "local":
        return "local", args.cluster
    cluster = args.cluster or settings.dask_scheduler
    return ("dask" if cluster or args.backend == "dask" else "local"), cluster


def webhook_secrets(settings: Settings) -> WebhookSecrets:
    """The webhook secrets of ``TIMEPOINT_WEBHOOK_KEY``, else of ``<home>/service/webhook.key``."""
    key = os.environ.get("TIMEPOINT_WEBHOOK_KEY", "").strip()
    if key:
        return WebhookSecrets(key.encode())
    return WebhookSecrets.at(settings.home / "service" / "webhook.key")


@contextmanager
def worker_processes(
    command: list[str], count: int, *, quiet: bool = False
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` worker processes running ``command`` while the block runs; each is stopped
    (and waited for) when it ends. ``quiet``: their standard output is discarded (a stdio MCP
    server's output is the protocol)."""
    processes = [
        subprocess.Popen(
            command, stdout=subprocess.DEVNULL if quiet else None, env=os.environ.copy()
        )
        for _ in range(max(0, count))
    ]
    try:
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)


def handle(args: argparse.Namespace) -> int:
    """Work until SIGTERM or Ctrl-C."""
    if args.bound:
        set_parent_death_signal(signal.SIGTERM)
    settings = Settings.from_env()
    backend, cluster = batch_target(args, settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with open_store(settings.db_url, home=settings.home) as store:
        configured = load_webhooks(args.webhooks, os.environ) if args.webhooks else []
        dispatcher = Dispatcher(store, configured, secrets=webhook_secrets(settings))
        worker = Worker(
            store,
            settings,
            backend=backend,
            cluster=cluster,
            lease_s=args.lease,
            notify=dispatcher.notify,
            say=lambda line: print(line, flush=True),
        )
        where = f"dask at {cluster}" if cluster else backend
        print(f"timepoint worker {worker.token} ({where}): waiting for work", flush=True)
        try:
            worker.serve(stop)
        finally:
            dispatcher.close()
    return 0
