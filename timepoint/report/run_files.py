"""The narrative files a run folder holds, in the formats its scenario asks for."""

from __future__ import annotations

from collections.abc import Sequence

from timepoint.report.narrative import narrative_json, narrative_markdown
from timepoint.report.pdf import run_pdf
from timepoint.world.record import RunRecord


def narrative_files(
    record: RunRecord, detail: str, formats: Sequence[str]
) -> dict[str, str | bytes]:
    """The narrative files of a run folder: ``narrative.md`` and ``narrative.json`` always,
    ``narrative.pdf`` (:func:`~timepoint.report.pdf.run_pdf`, the same document the report
    site publishes) when ``formats`` contains ``pdf``.

    Raises:
        ReportError: the PDF was asked for but could not be built (the message says why).
    """
    files: dict[str, str | bytes] = {
        "narrative.md": narrative_markdown(record, detail),
        "narrative.json": narrative_json(record, detail),
    }
    if "pdf" in formats:
        files["narrative.pdf"] = run_pdf(record, detail)
    return files
