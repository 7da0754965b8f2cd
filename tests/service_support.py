"""Helpers of the service tests: the API served by uvicorn on 127.0.0.1, worker processes."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ApiServer:
    """``app`` served by uvicorn on a free loopback port, on a thread of the test process."""

    def __init__(self, app: Any, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> ApiServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def service_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a worker process: a clean TIMEPOINT_* set, offline model."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIMEPOINT_", "OPENROUTER"))}
    env["TIMEPOINT_HOME"] = str(home)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


class WorkerProcess:
    """``timepoint worker`` in its own process (its own session, so it can be killed hard)."""

    def __init__(self, home: Path, *args: str, log: Path | None = None):
        self.log = log or home / f"worker-{time.monotonic_ns()}.log"
        home.mkdir(parents=True, exist_ok=True)
        self._out = self.log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "timepoint.cli", "worker", *args],
            env=service_env(home),
            cwd=ROOT,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """``kill -9`` the worker and everything it started."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop the worker (SIGTERM, then SIGKILL) and close its log."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._out.close()

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_for(
    check: Callable[[], Any], *, timeout: float = 60.0, every: float = 0.2, what: str = ""
) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(every)


def finished(client: httpx.Client, work_id: str, *, timeout: float = 90.0) -> dict[str, Any]:
    """The view of ``work_id`` once it is completed, failed or cancelled."""

    def done() -> dict[str, Any] | None:
        view = client.get(f"/work/{work_id}").json()
        return view if view["status"] in ("completed", "failed", "cancelled") else None

    return wait_for(done, timeout=timeout, what=f"work {work_id}")


class Receiver:
    """A webhook receiver on 127.0.0.1 that records each post and answers ``statuses`` in
    turn (then 200); ``hang_s`` makes it wait that long before answering."""

    def __init__(self, statuses: tuple[int, ...] = (), hang_s: float = 0.0):
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.statuses = list(statuses)
        self.hang_s = hang_s
        self.released = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
                if outer.hang_s:
                    outer.released.wait(outer.hang_s)
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()
