"""The site's own files under ``assets/``: its scripts and the bundled Vega libraries.

``vega.min.js``, ``vega-lite.min.js`` and ``vega-embed.min.js`` are shipped in the package
(``timepoint/report/assets/vendor/``, with their licenses), so charts draw offline and from
``file://``; no page loads anything from another host.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

SCRIPTS = ("site.js", "charts.js", "call_viewer.js")
VENDOR = ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js", "LICENSES.txt")


def publish_assets(site: Path) -> Path:
    """Copy the site's scripts and the Vega bundle into ``site/assets`` and return it."""
    folder = site / "assets"
    folder.mkdir(parents=True, exist_ok=True)
    packaged = resources.files("timepoint.report").joinpath("assets")
    for name in SCRIPTS:
        (folder / name).write_text(packaged.joinpath(name).read_text())
    for name in VENDOR:
        with resources.as_file(packaged.joinpath("vendor", name)) as source:
            shutil.copyfile(source, folder / name)
    return folder
