"""Timepoint as a service: the REST API (``timepoint serve``), its worker, webhooks, MCP.

Modules: :mod:`~timepoint.service.keys` (API keys: made, hashed, checked),
:mod:`~timepoint.service.limits` (per-key rate limits and monthly quotas),
:mod:`~timepoint.service.problems` (RFC 9457 problem details),
:mod:`~timepoint.service.requests` (request and response bodies, scenario checks),
:mod:`~timepoint.service.app` (the FastAPI application), :mod:`~timepoint.service.worker`
(the process that does queued work on the batch backends), :mod:`~timepoint.service.webhooks`
(signed event deliveries) and :mod:`~timepoint.service.mcp` (the MCP server).

The web process never simulates: it checks a request, writes it to the store as queued work
and answers; a worker process claims the work under a lease and runs it with
:func:`timepoint.run_batch`. A restarted server or worker loses nothing that was accepted.
"""
