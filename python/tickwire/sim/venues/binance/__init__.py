"""Binance spot and USDⓈ-M futures (venues.md §1), one venue class each (``market.py``, ``market_usdm.py``).

Market data (§1.4, §1.6): ``/ws/<stream>``, ``/stream?streams=a/b`` (wrapped ``{"stream","data"}``)
and live SUBSCRIBE/UNSUBSCRIBE; ``<sym>@depth[@100ms|@1000ms]`` diffs chained by U/u (``pu`` on
futures), ``@depth<5|10|20>`` partial snapshots, ``@bookTicker``, ``@trade``; REST ``depth`` at the same
update id as the stream; the messages' shapes in ``messages.py``. Spot also serves the SBE stream
host under ``/sbe/`` (§1.5, ``sbe.py``).
Spot orders over signed REST (``trade.py``; signing §1.1 in ``auth.py``) and over the WebSocket API
on ``/ws-api/v3`` (§1.3, ``wsapi.py``); futures orders, balances and positions on ``/fapi`` (§1.6,
``futures.py``); USDⓈ-M user data streams by listenKey (``userdata.py``; spot's retired, venues.md
§9); instrument metadata ``exchangeInfo`` (``metadata.py``); trade history ``myTrades``/``allOrders``
(``history.py``). Request weight, order-count and
connection limits per server, as the docs list them. Execution reports follow the public
user-data-stream reference (venues.md does not list their fields).

The parts take a ``VenueContext`` and never import ``market.py``.
"""

from __future__ import annotations

from tickwire.sim.venues.binance.market import BinanceSpot
from tickwire.sim.venues.binance.market_usdm import BinanceUsdm

__all__ = ["BinanceSpot", "BinanceUsdm"]
