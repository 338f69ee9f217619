"""HTX (Huobi) spot (venues.md §6), the venue class in ``market.py``.

Market WebSocket (§6.2), every server frame gzip-compressed JSON: ``/feed`` ``market.<sym>.mbp.<n>``
increments chained by ``prevSeqNum``/``seqNum`` with the ``req`` refresh; ``/ws`` ``mbp.refresh``,
``depth.stepN``, ``bbo``, ``trade.detail``; server pings every 5 s. Private ``/ws/v2``: Signature V2.1
auth and the ``orders#<symbol>`` topic (§6.3). REST v1 with Signature V2 (``auth.py``): accounts,
balances and spot order entry (``trade.py``). The order part takes a ``VenueContext`` and never
imports ``market.py``.
"""

from __future__ import annotations

from tickwire.sim.venues.htx.market import Htx

__all__ = ["Htx"]
