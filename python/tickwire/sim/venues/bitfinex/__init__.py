"""Bitfinex (venues.md §7), the venue class in ``market.py``: the WebSocket v2 ``book`` channel on
``/ws/2`` with the ``conf`` checksum flag and ``[chanId, "cs", checksum]`` after every update,
heartbeats and ping. Market data only: no REST, no order entry.
"""

from __future__ import annotations

from tickwire.sim.venues.bitfinex.market import Bitfinex, bitfinex_checksum

__all__ = ["Bitfinex", "bitfinex_checksum"]
