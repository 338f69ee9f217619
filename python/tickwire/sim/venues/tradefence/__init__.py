"""Tradefence (seed-venues.md), the venue class in ``market.py``.

Market data on ``/market-data`` (``book`` snapshot then updates, ``quote``, ``trade``); OAuth 2.0
authorization code flow (``/authorize``, ``/token``) giving Bearer tokens for the REST API, with a
per-client rate limit. Orders, batches, positions, the account and AI recommendations (``trade.py``);
webhooks and price alerts (``hooks.py``). Where the document is silent each module says which default
it picked. The parts take a ``VenueContext`` and never import ``market.py``.
"""

from __future__ import annotations

from tickwire.sim.venues.tradefence.market import Tradefence

__all__ = ["Tradefence"]
