"""Aggregate LLM call records into the run's usage summary."""

from __future__ import annotations

from collections.abc import Iterable

from timepoint.llm.base import CallRecord
from timepoint.world.record import ActionUsage, UsageSummary


def _add(bucket: ActionUsage, call: CallRecord) -> ActionUsage:
    return ActionUsage(
        calls=bucket.calls + 1,
        prompt_tokens=bucket.prompt_tokens + call.prompt_tokens,
        completion_tokens=bucket.completion_tokens + call.completion_tokens,
        cost_usd=round(bucket.cost_usd + call.cost_usd, 8),
    )


def summarize_calls(calls: Iterable[CallRecord]) -> UsageSummary:
    """Totals, by action and by model. Cache hits count as calls with zero new tokens."""
    summary = UsageSummary()
    by_action: dict[str, ActionUsage] = {}
    by_model: dict[str, ActionUsage] = {}
    totals = {
        "calls": 0,
        "cache_hits": 0,
        "prompt": 0,
        "completion": 0,
        "cost": 0.0,
        "generation": 0,
        "on_demand": 0,
        "on_demand_calls": 0,
        "on_demand_cost": 0.0,
    }
    for call in calls:
        if call.outcome == "refused":
            continue
        totals["calls"] += 1
        totals["cache_hits"] += call.outcome == "cache_hit"
        totals["prompt"] += call.prompt_tokens
        totals["completion"] += call.completion_tokens
        totals["cost"] += call.cost_usd
        tokens = call.prompt_tokens + call.completion_tokens
        totals["on_demand" if call.on_demand else "generation"] += tokens
        totals["on_demand_calls"] += call.on_demand
        totals["on_demand_cost"] += call.cost_usd if call.on_demand else 0.0
        by_action[call.action] = _add(by_action.get(call.action, ActionUsage()), call)
        by_model[call.model] = _add(by_model.get(call.model, ActionUsage()), call)
    return summary.model_copy(
        update={
            "calls": totals["calls"],
            "cache_hits": totals["cache_hits"],
            "prompt_tokens": totals["prompt"],
            "completion_tokens": totals["completion"],
            "cost_usd": round(totals["cost"], 8),
            "generation_tokens": totals["generation"],
            "on_demand_tokens": totals["on_demand"],
            "on_demand_calls": totals["on_demand_calls"],
            "on_demand_cost_usd": round(totals["on_demand_cost"], 8),
            "by_action": by_action,
            "by_model": by_model,
        }
    )
