"""Write the REST API's OpenAPI document: ``python -m timepoint.service.openapi [PATH]``.

``docs/openapi.json`` is this document, committed; a test compares it with the live app.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from timepoint.service.app import create_app
from timepoint.service.webhooks import WebhookSecrets
from timepoint.settings import Settings
from timepoint.store import open_store

DEFAULT = Path("docs") / "openapi.json"


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the app (built on a throwaway in-memory store)."""
    with tempfile.TemporaryDirectory() as home, open_store(":memory:") as store:
        app = create_app(
            store, Settings(home=Path(home)), webhook_secrets=WebhookSecrets(b"0" * 32)
        )
        return app.openapi()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else DEFAULT
    target.write_text(json.dumps(openapi_document(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
