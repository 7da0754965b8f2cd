"""Keeping keys out of what is printed and stored: URLs shown without credentials, keys checked
before use, keys and key-shaped strings replaced by ``[redacted]`` in texts that are kept."""

from __future__ import annotations

import re
from collections.abc import Iterable

import httpx

from timepoint.errors import ConfigurationError

REDACTED = "[redacted]"

#: keys shorter than this are redacted only where they stand as a whole token
SHORT_KEY = 8
#: the shortest prefix or suffix of a key that is redacted on its own
KEY_FRAGMENT = 6
_TOKEN_CHAR = r"A-Za-z0-9"

#: strings shaped like credentials, whoever they belong to: provider keys (``sk-…``,
#: ``sk-or-v1-…``, ``sk-ant-…``), Timepoint API keys (``tp_<id>_<secret>``), GitHub and Slack
#: tokens, AWS access key ids, Google API keys, bearer tokens and ``key=value`` assignments
KEY_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}"),
    re.compile(r"\btp_[A-Za-z0-9]{4,}_[A-Za-z0-9_\-]{16,}"),
    re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}"),
    re.compile(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"\bAIza[0-9A-Za-z_\-]{35}"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/\-]{16,}=*"),
    re.compile(
        r"(?i)\b((?:api[_-]?key|secret|token|password|passwd)[\"']?\s*[:=]\s*[\"']?)"
        r"[^\s\"'&,;]{8,}"
    ),
)


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


def redact_key(text: str, key: str | None) -> str:
    """``text`` with the API ``key`` replaced by ``[redacted]``.

    A key of :data:`SHORT_KEY` characters or more is redacted wherever it occurs, and so is
    every prefix or suffix of it of at least :data:`KEY_FRAGMENT` characters (servers echo
    truncated keys such as ``sk-or-v1-abc…``). A shorter key is redacted only where it stands
    as a whole token (not inside a word: a key ``x`` leaves ``maximum`` alone); such a key is
    no secret worth guarding inside words, and mangling the endpoint's text would hide what
    went wrong.
    """
    if not key or not text:
        return text
    if len(key) < SHORT_KEY:
        whole = rf"(?<![{_TOKEN_CHAR}]){re.escape(key)}(?![{_TOKEN_CHAR}])"
        return re.sub(whole, REDACTED, text)
    fragments = {key}
    for size in range(KEY_FRAGMENT, len(key)):
        fragments.add(key[:size])
        fragments.add(key[-size:])
    pattern = "|".join(re.escape(f) for f in sorted(fragments, key=len, reverse=True))
    return re.sub(pattern, REDACTED, text)


def redact_secrets(text: str, keys: Iterable[str] = ()) -> str:
    """``text`` fit to store: each of ``keys`` (and its prefixes and suffixes, see
    :func:`redact_key`) and every string shaped like a credential (:data:`KEY_PATTERNS`)
    replaced by ``[redacted]``. Used on prompts and answers before they are kept."""
    for pattern in KEY_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    for key in keys:
        text = redact_key(text, key)
    return text
