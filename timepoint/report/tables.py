"""Markdown tables and headers for report pages: run facts, ledger, files, paths, batches, costs.

Each function returns Markdown that a notebook displays with :func:`timepoint.view.show`.
Every value from a run record, a scenario or a batch goes in through :mod:`~timepoint.report.markup`
(as text, a code span or a link), so it shows as written and never as HTML.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from timepoint.knowledge.provenance import Provenance
from timepoint.report.compare import PathComparison
from timepoint.report.highlights import provenance_highlights
from timepoint.report.markup import code, link, paragraphs, text
from timepoint.report.parameters import job_overrides, job_spec, parameter_cells, swept_parameters
from timepoint.report.records import as_record, entity_names, main_path, spend_line
from timepoint.report.summary import templated_summary
from timepoint.world import ExposureKind

NARRATIVE_FILES = ("narrative.md", "narrative.json", "narrative.pdf", "run.json")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def header_markdown(run: Any) -> str:
    """Title and one line of facts: run id, scenario, mode, status, date, duration, cost."""
    r = as_record(run)
    lines = [
        f"# {text(r.title)}",
        "",
        f"Run {code(r.run_id)} · scenario {code(r.scenario_id)} · mode **{text(r.mode)}** · "
        f"status **{text(r.status)}** · {r.started:%Y-%m-%d %H:%M} UTC · "
        f"{r.duration_s or 0:.2f} s · {spend_line(r)} · "
        f"provider {text(r.provider)} · seed {r.seed}",
    ]
    if r.error:
        lines += ["", f"**Failed at step {text(r.failed_step)}:** {text(r.error)}"]
    return "\n".join(lines)


def summary_markdown(run: Any) -> str:
    """The run's executive summary (the model's, else the templated one) as Markdown text."""

    r = as_record(run)
    return paragraphs(r.summary or templated_summary(r))


def ledger_markdown(run: Any) -> str:
    """The mechanism ledger as a Markdown table: each mechanism and what it did, with counts."""
    r = as_record(run)
    if not r.mechanisms:
        return "No mechanism recorded an effect in this run."
    rows = ["| mechanism | what it did |", "|---|---|"]
    for entry in r.mechanisms:
        rows.append(f"| {text(entry.mechanism)} | {text(entry.summary.split(':', 1)[-1])} |")
    return "\n".join(rows)


def files_markdown(run: Any, notebook: str = "", calls: str = "") -> str:
    """Links to the run's narrative files, executed notebook and call viewer (``calls``, a
    path relative to the page) that sit beside the page."""
    r = as_record(run)
    links = [link(name, f"{r.run_id}/{name}") for name in NARRATIVE_FILES if _published(run, name)]
    if notebook:
        links.append(link("executed notebook", notebook))
    if calls:
        links.append(link(f"LLM calls ({r.usage.calls})", calls))
    return "Files: " + " · ".join(links) if links else ""


def _published(run: Any, name: str) -> bool:
    folder = getattr(run, "folder", None)
    return folder is not None and (Path(folder) / name).is_file()


def comparison_markdown(comparison: PathComparison) -> str:
    """The aligned steps of two paths as a table, with the divergence called out."""
    if comparison.first_divergence is None:
        verdict = f"The paths are identical over {len(comparison.steps)} steps."
    else:
        verdict = (
            f"The paths share {_count(comparison.shared, 'step')} and diverge at step "
            f"**{text(comparison.first_divergence)}**."
        )
    rows = [
        verdict,
        "",
        f"| step | {text(comparison.left_label)} | {text(comparison.right_label)} | |",
        "|---:|---|---|---|",
    ]
    for step in comparison.steps:
        left = f"{code(step.left.id)} {text(step.left.event)}" if step.left else "—"
        right = f"{code(step.right.id)} {text(step.right.event)}" if step.right else "—"
        word = "**diverges**" if step.step == comparison.first_divergence else "differs"
        mark = "" if step.same else f"{word}: {', '.join(step.aspects)}"
        rows.append(f"| {text(step.step)} | {left} | {right} | {mark} |")
    return "\n".join(rows)


def batch_markdown(batch: Mapping[str, Any], jobs: Sequence[Mapping[str, Any]]) -> str:
    """A batch's status, job counts, cost, duration and failures grouped by cause."""
    statuses = Counter(j.get("status") or "unknown" for j in jobs)
    cost = sum(float(j.get("cost_usd") or 0) for j in jobs)
    tokens = sum(int(j.get("tokens") or 0) for j in jobs)
    durations = sorted(float(j.get("duration_s") or 0) for j in jobs if j.get("duration_s"))
    median = durations[len(durations) // 2] if durations else 0.0
    lines = [
        f"# Batch {text(batch.get('batch_id', ''))}",
        "",
        f"Status **{text(batch.get('status', '?'))}** · {len(jobs)} jobs ("
        + ", ".join(f"{n} {text(s)}" for s, n in sorted(statuses.items()))
        + f") · ${cost:.4f} · {tokens:,} tokens · median job {median:.2f} s",
    ]
    failed = [j for j in jobs if j.get("status") == "failed"]
    if failed:
        causes = Counter((j.get("error_class") or "?", j.get("step") or "?") for j in failed)
        lines += ["", "## Failures by cause", "", "| error | step | jobs |", "|---|---|---:|"]
        lines += [f"| {text(e)} | {text(s)} | {n} |" for (e, s), n in causes.most_common()]
    return "\n".join(lines)


def batch_jobs_markdown(
    jobs: Sequence[Mapping[str, Any]], pages: Collection[str] | None = None
) -> str:
    """One row per job: its seed and every swept parameter as columns, replicate, status,
    links to its run page and executed notebook, cost, duration and job id. With ``pages``
    (the run ids the site has pages for), only those runs are linked; the others show their id.
    """
    if not jobs:
        return "No jobs."
    swept = swept_parameters(jobs)
    head = ["#", "seed", *swept, "replicate", "status", "run", "notebook", "USD", "s", "job"]
    lines = [
        "## Jobs",
        "",
        "| " + " | ".join(text(h) for h in head) + " |",
        "|" + "|".join("---:" if h in ("#", "seed", "USD", "s") else "---" for h in head) + "|",
    ]
    for number, job in enumerate(jobs, 1):
        spec = job_spec(job)
        run_id = job.get("run_id")
        linked = bool(run_id) and (pages is None or run_id in pages)
        shown = code(run_id) if run_id else ""
        cells = [
            str(number),
            text(spec.get("seed", "")),
            *(text(cell) for cell in parameter_cells(job_overrides(job), swept)),
            text(spec.get("replicate", "")),
            text(job.get("status")),
            link(run_id, f"../runs/{run_id}.html") if linked else shown,
            link("ipynb", f"../runs/{run_id}.ipynb") if linked else "",
            f"{float(job.get('cost_usd') or 0):.4f}",
            f"{float(job.get('duration_s') or 0):.2f}",
            code(job.get("job_id") or ""),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def costs_markdown(runs: Sequence[Any]) -> str:
    """Totals over runs, then one row per run: scenario, mode, calls, tokens and cost."""
    records = [as_record(r) for r in runs]
    if not records:
        return "No runs to account for."
    cost = sum(r.usage.cost_usd for r in records)
    tokens = sum(r.usage.prompt_tokens + r.usage.completion_tokens for r in records)
    calls = sum(r.usage.calls for r in records)
    lines = [
        f"{_count(len(records), 'run')} · {calls:,} calls · {tokens:,} tokens · ${cost:.4f} "
        f"(cache hits: {sum(r.usage.cache_hits for r in records):,})",
        "",
        "| run | scenario | mode | status | calls | tokens | USD |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    for r in sorted(records, key=lambda r: r.started, reverse=True):
        lines.append(
            f"| {link(r.run_id, f'runs/{r.run_id}.html')} | {text(r.scenario_id)} | "
            f"{text(r.mode)} | {text(r.status)} | "
            f"{r.usage.calls} | {r.usage.prompt_tokens + r.usage.completion_tokens:,} | "
            f"{r.usage.cost_usd:.4f} |"
        )
    return "\n".join(lines)


def provenance_markdown(run: Any, fact: str | None = None, entity: str | None = None) -> str:
    """How a fact travelled: the exposure chain from its origin to ``entity``, then who held
    it at each timepoint of the main timeline. Defaults: the fact told most widely and the
    last entity it reached. ``run`` must be a :class:`~timepoint.engine.run.Run`."""

    record = as_record(run)
    names = entity_names(record)
    if fact is None:
        top = provenance_highlights(record, limit=1)
        if not top:
            return "Nobody told anybody anything in this run, so no fact has a chain to show."
        fact = top[0]["fact_id"]
    tps = {t.id: t for t in record.timepoints}
    fact_id = Provenance(tps, record.exposures).resolve_fact(fact)
    if entity is None:
        told = [e for e in record.exposures if e.fact_id == fact_id and e.kind is ExposureKind.TOLD]
        entity = max(told, key=lambda e: e.timestamp).entity_id if told else None
    if entity is None:
        return f"Fact {code(fact_id)} was never passed on."
    chain = run.provenance(entity, fact_id)
    lines = [
        f"**“{text(chain[0].fact_text)}”** ({code(fact_id)}) reached "
        f"{text(names.get(entity, entity))} like this:",
        "",
        "| step | who | how | from | timepoint | time |",
        "|---:|---|---|---|---|---|",
    ]
    for i, e in enumerate(chain):
        lines.append(
            f"| {i} | {text(names.get(e.entity_id, e.entity_id))} | {text(e.kind.value)} | "
            f"{text(names.get(e.source, e.source))} | {text(e.timepoint_id or '—')} | "
            f"{e.timestamp:%Y-%m-%d %H:%M} |"
        )
    lines += ["", "| timepoint | who knew it |", "|---|---|"]
    for tp in main_path(record):
        holders = [text(names.get(h, h)) for h in run.who_knew(fact_id, tp.id)]
        lines.append(f"| {text(tp.id)} | {', '.join(holders) or '—'} |")
    return "\n".join(lines)


def answer_markdown(answer: Any) -> str:
    """An answer from ``run.ask``: the question, the answer, its citations and what it cost."""
    lines = [f"**Q:** {text(answer.question)}", "", f"**A:** {paragraphs(answer.text)}"]
    if answer.citations:
        lines += ["", "Cited: " + ", ".join(code(c) for c in answer.citations)]
    if answer.elevated:
        lines += ["", "Raised detail for: " + ", ".join(text(e) for e in answer.elevated)]
    lines += ["", f"{answer.tokens:,} tokens on demand."]
    return "\n".join(lines)
