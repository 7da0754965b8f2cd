"""Connectors to prediction markets and forecasting sites (httpx): questions, reference
probabilities and resolutions from Polymarket (public, no key) and Metaculus (token
required; its terms restrict using its data to evaluate AI, see :mod:`.metaculus`).

Nothing is imported from either site unless asked for.
"""

from timepoint.calibrate.connectors.metaculus import METACULUS_TERMS, MetaculusClient
from timepoint.calibrate.connectors.polymarket import PolymarketClient

__all__ = ["METACULUS_TERMS", "MetaculusClient", "PolymarketClient"]
