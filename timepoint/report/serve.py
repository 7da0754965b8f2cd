"""Serving a built site on localhost: ``timepoint site serve``.

Every response says ``X-Content-Type-Options: nosniff`` (a published ``run.json`` or
``narrative.md`` is never taken for a script or a page), and every HTML page is sent with its
Content-Security-Policy as a header: the policy in the page's own meta element (see
:mod:`timepoint.report.csp`) plus ``frame-ancestors 'none'``, or for a page without one a policy
that allows the site's own scripts only.
"""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from timepoint.errors import ReportError
from timepoint.report.csp import HEADER_ONLY, fallback_policy, policy_of


class QuietHandler(SimpleHTTPRequestHandler):
    """Static files from the site folder with security headers, without a log line per
    request."""

    def log_message(self, format: str, *args: object) -> None:
        return

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        page = self._html_file()
        if page is not None:
            declared = policy_of(page.read_text(errors="replace"))
            self.send_header(
                "Content-Security-Policy",
                f"{declared}; {HEADER_ONLY}" if declared else fallback_policy(),
            )
        super().end_headers()

    def _html_file(self) -> Path | None:
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        return path if path.suffix in (".html", ".htm") and path.is_file() else None


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
