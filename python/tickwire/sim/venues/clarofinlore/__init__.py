"""Clarofinlore (seed-venues.md), the venue class in ``market.py``.

Market data on ``/v1/stream``: compressed JSON (profile ``compression``) with updates merged every
100 ms, RFC 6455 pings. REST signed with HMAC-SHA256 plus nonce and timestamp, access tokens (JWT) and
refresh tokens, a per-key rate limit, the IP whitelist, the security log and the per-key socket limit
(``auth.py``); orders with idempotent client ids and the kill switch (``trade.py``); TWAP parents
(``twap.py``). Mutual TLS 1.3 when given a TLS context. Where the document is silent each module says
which default it picked. The parts take a ``VenueContext`` and never import ``market.py``.
"""

from __future__ import annotations

from tickwire.sim.venues.clarofinlore.market import Clarofinlore

__all__ = ["Clarofinlore"]
