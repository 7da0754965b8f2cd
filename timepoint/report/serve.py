"""Serving a built site on localhost: ``timepoint site serve``."""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from timepoint.errors import ReportError


class QuietHandler(SimpleHTTPRequestHandler):
    """Static files from the site folder, without a log line per request."""

    def log_message(self, format: str, *args: object) -> None:
        return


def serve_site(directory: Path, port: int = 8000, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A server for ``directory`` bound to ``host:port`` (port 0 picks a free one), not yet
    serving: call ``serve_forever()`` (and ``server_close()`` when done).

    Raises:
        ReportError: the folder has no ``index.html`` (build the site first), or the port is
            taken.
    """
    directory = Path(directory)
    if not (directory / "index.html").is_file():
        raise ReportError(
            f"{directory} has no index.html; build the site first: timepoint site build"
        )
    handler = functools.partial(QuietHandler, directory=str(directory))
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as error:
        raise ReportError(
            f"cannot serve on {host}:{port} ({error.strerror}); pick another port with --port"
        ) from None
