"""``timepoint offline-server``: the offline model as an OpenAI-compatible HTTP endpoint."""

from __future__ import annotations

import argparse
import sys

from pydantic import BaseModel

from timepoint.calibrate.judge import OutcomeJudgement
from timepoint.engine.answering import AnswerDraft
from timepoint.fidelity.training import EnrichmentDraft
from timepoint.llm.drafts import (
    CrowdNamesDraft,
    DialogDraft,
    EntityDraft,
    EventDraft,
    SummaryDraft,
)
from timepoint.llm.offline import OfflineModel
from timepoint.llm.offline_server import OfflineEndpoint, OfflineServer
from timepoint.report.summary import ExecutiveSummary
from timepoint.scenario.sentence import ScenarioDraft
from timepoint.synthesis.animism import AnimisticBehaviorDraft
from timepoint.synthesis.on_demand import CrowdMemberDraft
from timepoint.synthesis.prospection import ProspectionDraft
from timepoint.time.expansion import SubMomentDraft
from timepoint.time.modes.branching_consequents import ConsequentSet
from timepoint.time.modes.cyclical import Prophecy
from timepoint.time.modes.directorial import NarrativePlan
from timepoint.time.modes.portal_drafts import (
    CandidateSet,
    CoherenceJudgement,
    ForwardJudgement,
    StateJudgement,
)


def answer_schemas() -> dict[str, type[BaseModel]]:
    """Every answer shape a run asks for, by class name (what a prompt's block names)."""

    classes: list[type[BaseModel]] = [
        AnimisticBehaviorDraft,
        AnswerDraft,
        CandidateSet,
        CoherenceJudgement,
        ConsequentSet,
        CrowdMemberDraft,
        CrowdNamesDraft,
        DialogDraft,
        EnrichmentDraft,
        EntityDraft,
        EventDraft,
        ExecutiveSummary,
        ForwardJudgement,
        NarrativePlan,
        OutcomeJudgement,
        Prophecy,
        ProspectionDraft,
        ScenarioDraft,
        StateJudgement,
        SubMomentDraft,
        SummaryDraft,
    ]
    return {cls.__name__: cls for cls in classes}


def offline_server(
    seed: int = 0,
    leak_rate: float = 0.0,
    latency_ms: float = 0.0,
    host: str = "127.0.0.1",
    port: int = 0,
) -> OfflineServer:
    """An (unstarted) server of the offline endpoint, which knows every answer shape of a run."""
    return OfflineServer(offline_endpoint(seed, leak_rate, latency_ms), host=host, port=port)


def offline_endpoint(
    seed: int = 0, leak_rate: float = 0.0, latency_ms: float = 0.0
) -> OfflineEndpoint:
    """The offline endpoint's answers without HTTP (for servers of other kinds and tests)."""
    model = OfflineModel(seed=seed, leak_rate=leak_rate, latency_ms=latency_ms)
    return OfflineEndpoint(model, answer_schemas())


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``offline-server`` arguments and handler."""
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8099, help="port (default 8099; 0: any)")
    parser.add_argument("--seed", type=int, default=0, help="the model's base seed")
    parser.add_argument(
        "--leak-rate",
        type=float,
        default=0.0,
        help="probability that a dialog turn uses a fact its speaker does not know",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="emulated latency")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    server = offline_server(args.seed, args.leak_rate, args.latency_ms, args.host, args.port)
    print(
        f"offline model at {server.url} (POST /chat/completions, GET /models); "
        f"use TIMEPOINT_LLM_BASE_URL={server.url} TIMEPOINT_LLM_API_KEY=any; Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    finally:
        server.stop()
    return 0
