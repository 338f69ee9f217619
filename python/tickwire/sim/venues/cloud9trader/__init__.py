"""Cloud9Trader (seed-venues.md), the venue class in ``market.py``: one WebSocket on ``/`` whose upgrade
is authenticated by HMAC headers (key, nonce, signature), then ``book.<SYMBOL>`` and ``trades.<SYMBOL>``
channels. Market data only: no REST, no order entry.
"""

from __future__ import annotations

from tickwire.sim.venues.cloud9trader.market import Cloud9Trader

__all__ = ["Cloud9Trader"]
