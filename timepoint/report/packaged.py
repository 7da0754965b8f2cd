"""Files shipped inside the package: the site's stylesheet, scripts and templates."""

from __future__ import annotations

from importlib import resources


def asset(name: str) -> str:
    """The text of a packaged asset (``site.css``, ``run_browser.js``, a template)."""
    return resources.files("timepoint.report").joinpath("assets", name).read_text()
