"""Keeping keys out of what is printed: URLs shown without credentials, keys checked before use."""

from __future__ import annotations

import re

import httpx

from timepoint.errors import ConfigurationError


def public_url(url: str) -> str:
    """``url`` fit to print: user name and password dropped, query values redacted."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return re.sub(r"//[^/@]*@", "//", url.split("?")[0])
    shown = parsed.copy_with(username=None, password=None, query=None, fragment=None)
    text = str(shown)
    if parsed.query:
        names = [name for name, _ in parsed.params.multi_items()]
        text += "?" + "&".join(f"{name}=[redacted]" for name in names)
    return text.rstrip("/")


def check_key(key: str | None, name: str = "the API key") -> None:
    """Raise when ``key`` cannot travel in an HTTP header.

    Raises:
        ConfigurationError: ``key`` holds a non-ASCII character (its position is named, the
            character is not shown).
    """
    if not key:
        return
    for index, char in enumerate(key):
        if not char.isascii() or (not char.isprintable()):
            kind = "a non-ASCII" if not char.isascii() else "a control"
            raise ConfigurationError(
                f"{name} holds {kind} character at position {index + 1} of {len(key)}; "
                "API keys are printable ASCII, and HTTP headers cannot carry anything else. "
                "Copy the key again (look for smart quotes, a non-breaking space or an ellipsis "
                "from a truncated display) and set TIMEPOINT_LLM_API_KEY to it"
            )
