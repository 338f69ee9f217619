"""Coinbase Advanced Trade (venues.md §5), the venue class in ``market.py``.

Market data WebSocket (§5.2): ``level2`` (channel ``l2_data``), ``heartbeats``, ``market_trades``, every
message numbered per connection. The ``user`` channel (``/user``, or the market path) needs a valid
CDP JWT. REST ``/api/v3/brokerage/…`` with a JWT per request (the ``uri`` claim checked) and a per-key
rate limit: ``accounts``, and order entry (``trade.py``: request and response shapes from the public
API reference, since venues.md §5.2 names only the endpoint); products, fills and order listings in
``metadata.py`` (``market/products`` is public). The order part takes a ``VenueContext`` and never
imports ``market.py``.
"""

from __future__ import annotations

from tickwire.sim.venues.coinbase.market import Coinbase

__all__ = ["Coinbase"]
