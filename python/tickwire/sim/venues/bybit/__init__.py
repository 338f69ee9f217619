"""Bybit v5 (venues.md §3), the venue class in ``market.py``.

Public market data on ``/v5/public/{spot,linear,inverse}`` (§3.2, §3.3): ``orderbook.<depth>.<sym>``
snapshot then deltas, ``publicTrade.<sym>``; REST ``/v5/market/orderbook`` and ``/v5/market/time``.
Private ``/v5/private`` (auth, the ``order`` and ``execution`` topics) and order entry on ``/v5/trade``
and signed REST ``/v5/order/…`` (§3.4, ``trade.py``), with the per-UID rate limits and their ``X-Bapi-Limit*``
headers; wallet balance on ``/v5/account/wallet-balance``; instruments-info and the execution list
(``metadata.py``). Both signatures (WebSocket ``auth``, REST
``X-BAPI-*``) are checked in ``auth.py``. The order part takes a ``VenueContext`` and never imports
``market.py``.
"""

from __future__ import annotations

from tickwire.sim.venues.bybit.market import Bybit

__all__ = ["Bybit"]
