"""Builders shared by the store tests: realistic run records and a private PostgreSQL cluster.

No tests live here; the store test modules import these helpers.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from timepoint.llm.base import CallRecord
from timepoint.world import (
    CognitiveState,
    Dialog,
    DialogTurn,
    Entity,
    EntityKind,
    EntityRole,
    ExposureEvent,
    ExposureKind,
    PhysicalState,
    Relationship,
    ResolutionLevel,
    Scene,
    Timeline,
    Timepoint,
)
from timepoint.world.record import (
    ActionUsage,
    FidelityCell,
    LedgerEntry,
    PathInfo,
    RunRecord,
    UsageSummary,
    ValidationResult,
)

NAMES = {
    "jefferson": "Thomas Jefferson",
    "hamilton": "Alexander Hamilton",
    "madison": "James Madison",
}
START = datetime(1790, 6, 20, 18, 0, tzinfo=UTC)


def make_calls(n: int = 3, *, cost: float = 0.001) -> list[CallRecord]:
    """``n`` call records of a run: population, dialog, then a retried scene call."""
    actions = ["entity_population", "dialog_synthesis", "scene_generation"]
    return [
        CallRecord(
            seq=i,
            action=actions[i % 3],
            model="llama-3.1-8b",
            provider="offline",
            prompt_tokens=400 + 10 * i,
            completion_tokens=120 + i,
            cost_usd=cost,
            latency_ms=12.5 + i,
            outcome="error" if i == 2 else "ok",
            error="timeout after 30 s" if i == 2 else None,
            started_at=1_700_000_000.0 + i,
            on_demand=i == 1,
        )
        for i in range(n)
    ]


def make_record(
    run_id: str = "20250301-120000-ab12",
    *,
    scenario_id: str = "jefferson_dinner",
    mode: str = "pearl",
    status: str = "completed",
    started: datetime = datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
    cost: float = 0.003,
    seed: int = 7,
    calls: int = 3,
) -> RunRecord:
    """A realistic record: 3 entities, 2 timepoints, exposures, a dialog and ledger entries."""
    entities = [
        Entity(
            id=eid,
            name=name,
            kind=EntityKind.HUMAN,
            role=EntityRole.PRIMARY if eid != "madison" else EntityRole.SECONDARY,
            description=f"{name}, at the dinner of 20 June 1790",
            traits={"openness": 0.4, "ambition": 0.8 if eid == "hamilton" else 0.2},
            goals=[f"{name.split()[-1]} wants the assumption question settled"],
            physical=PhysicalState(age=40 + i, health=0.9),
            cognitive=CognitiveState(valence=0.1 * i, energy=80.0),
            resolution=ResolutionLevel.DIALOG,
        )
        for i, (eid, name) in enumerate(NAMES.items())
    ]
    tp0 = Timepoint(
        id="tp_000",
        timestamp=START,
        event="Jefferson welcomes Hamilton and Madison to dinner on Maiden Lane",
        entities_present=list(NAMES),
        importance=0.7,
        resolution=ResolutionLevel.DIALOG,
        location="Jefferson's house, 57 Maiden Lane",
        key_facts=["f_assumption"],
    )
    tp1 = Timepoint(
        id="tp_001",
        timestamp=START + timedelta(hours=2),
        event="Madison agrees not to block the assumption bill",
        entities_present=list(NAMES),
        causal_parent="tp_000",
        importance=0.9,
        key_facts=["f_capital"],
    )
    exposures = [
        ExposureEvent(
            entity_id=eid,
            kind=ExposureKind.INITIAL,
            fact_id="f_assumption",
            fact_text="Hamilton's plan has the federal government assume state debts",
            source="scenario",
            timepoint_id=None,
            timestamp=START,
        )
        for eid in NAMES
    ] + [
        ExposureEvent(
            entity_id="madison",
            kind=ExposureKind.TOLD,
            fact_id="f_capital",
            fact_text="the capital could move to the Potomac",
            source="jefferson",
            timepoint_id="tp_001",
            timestamp=START + timedelta(hours=2),
            confidence=0.8,
        )
    ]
    dialog = Dialog(
        id="d_000",
        timepoint_id="tp_001",
        participants=["jefferson", "madison", "hamilton"],
        turns=[
            DialogTurn(
                speaker="jefferson",
                text="Madison, Hamilton needs your votes; the capital could move south.",
                tone="conciliatory",
                knowledge_refs=["f_capital"],
            ),
            DialogTurn(
                speaker="madison",
                text="Then Virginia gains the Potomac and Mr. Hamilton gains his bill.",
                tone="measured",
                knowledge_refs=["f_capital", "f_assumption"],
            ),
        ],
    )
    n_calls = calls
    return RunRecord(
        run_id=run_id,
        status=status,
        failed_step="dialog" if status == "failed" else None,
        error="SimulationError: dialog failed for Hamilton" if status == "failed" else None,
        scenario_id=scenario_id,
        title="The 1790 Compromise dinner of Jefferson, Hamilton and Madison",
        description="Jefferson hosts Hamilton and Madison; the assumption bill meets the capital.",
        mode=mode,
        seed=seed,
        config_hash="c" * 64,
        provider="offline",
        started=started,
        finished=started + timedelta(seconds=4.5),
        duration_s=4.5,
        entities=entities,
        timelines=[Timeline(id="main", timepoint_ids=["tp_000", "tp_001"], label="main")],
        timepoints=[tp0, tp1],
        exposures=exposures,
        dialogs=[dialog],
        relationships=[
            Relationship(
                a="hamilton",
                b="madison",
                timepoint_id="tp_001",
                trust=0.3,
                interactions=2,
                shared_facts=["f_assumption"],
            ),
        ],
        scenes=[Scene(timepoint_id="tp_000", present=list(NAMES), description="candle-lit")],
        fidelity=[
            FidelityCell(
                entity_id="madison",
                timepoint_id="tp_000",
                resolution=ResolutionLevel.DIALOG,
                tokens=420,
            )
        ],
        mechanisms=[
            LedgerEntry(
                mechanism="M3",
                summary="M3: 4 exposure events from 2 sources",
                counts={"exposures": 4, "sources": 2},
            ),
            LedgerEntry(
                mechanism="M11", summary="M11: 1 dialog, 2 turns", counts={"dialogs": 1, "turns": 2}
            ),
        ],
        validation=[
            ValidationResult(validator="information_conservation", target="d_000", ok=True),
            ValidationResult(
                validator="network_flow",
                target="d_000",
                ok=False,
                message="Madison cites f_assumption",
                entity_id="madison",
                timepoint_id="tp_001",
                fact_id="f_assumption",
                repaired=True,
            ),
        ],
        usage=UsageSummary(
            calls=n_calls,
            prompt_tokens=sum(400 + 10 * i for i in range(n_calls)),
            completion_tokens=sum(120 + i for i in range(n_calls)),
            cost_usd=cost,
            by_action={"dialog_synthesis": ActionUsage(calls=1, cost_usd=cost / 3)},
        ),
        paths=[PathInfo(timeline_id="main", score=0.82, rank=1, pivots=["tp_001"])],
        extras={"note": "hand-built"},
        narrative="Jefferson, Hamilton and Madison dined.",
        summary="A compromise.",
    )


POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


def postgres_unavailable() -> str | None:
    """Why a private PostgreSQL cluster cannot be started here, or None when it can."""
    if not (POSTGRES_BIN / "initdb").exists() or not (POSTGRES_BIN / "pg_ctl").exists():
        return f"PostgreSQL binaries not found in {POSTGRES_BIN} (install postgresql-15)"
    if os.geteuid() == 0 and (shutil.which("su") is None or _no_user("postgres")):
        return "running as root but there is no 'postgres' user to run initdb as"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]')"
    return None


def _no_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return True
    return False


class PostgresCluster:
    """A throwaway PostgreSQL cluster on 127.0.0.1 and an ephemeral port, trust auth."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="timepoint-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._databases = 0

    def _run(self, *args: str) -> None:
        command = " ".join(args)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            argv = ["su", "postgres", "-c", command]
        else:
            argv = ["sh", "-c", command]
        subprocess.run(argv, check=True, capture_output=True, timeout=60)

    def start(self) -> PostgresCluster:
        bin_ = POSTGRES_BIN
        self._run(f"{bin_}/initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")  # fmt: skip
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(f"{bin_}/pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"),
                  "-o", f"'{options}'", "-w", "start")  # fmt: skip
        return self

    def new_database(self) -> str:
        """A fresh empty database; returns its URL."""
        import psycopg

        self._databases += 1
        name = f"store_{self._databases}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        try:
            self._run(f"{POSTGRES_BIN}/pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
