"""Kraken spot (venues.md §4), the venue class in ``market.py``.

Public market data on WebSocket v2 (``/v2``) and v1 (``/``): book channels with the CRC32 checksum of
the top 10 levels, v2 ``trade``, heartbeats (§4.2); REST ``/0/public/Time``, ``AssetPairs`` (the
precisions a v2 client needs for the checksum) and ``Depth``. Private: ``/auth/v2`` order methods and
the ``executions`` channel, and the API-Sign REST methods under ``/0/private/`` (``trade.py``; a
WebSocket token from ``GetWebSocketsToken``). The order part takes a ``VenueContext`` and never
imports ``market.py``.
"""

from __future__ import annotations

from tickwire.sim.venues.kraken.market import Kraken, kraken_checksum

__all__ = ["Kraken", "kraken_checksum"]
