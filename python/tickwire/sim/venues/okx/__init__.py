"""OKX v5 (venues.md §2), the venue class in ``market.py``.

Public market data on ``/ws/v5/public`` (§2.2, §2.3): ``books``, ``books50-l2-tbt``, ``books-l2-tbt``
as a snapshot then increments chained by ``prevSeqId``/``seqId`` with the CRC32 checksum of the top 25
levels, ``books5``, ``bbo-tbt``, ``trades``; REST ``/api/v5/market/books`` and ``public/time``.
Private ``/ws/v5/private``: login (the WebSocket signature), order entry and the ``orders`` channel
(§2.4, §2.5, ``trade.py``), also over signed REST ``/api/v5/trade/…`` (with batch operations);
fills (``history.py``); instruments ``/api/v5/public/instruments`` (``metadata.py``); balances on
``/api/v5/account/balance``. The order part takes a ``VenueContext`` and never imports ``market.py``.
"""

from __future__ import annotations

from tickwire.sim.venues.okx.market import Okx, okx_checksum

__all__ = ["Okx", "okx_checksum"]
