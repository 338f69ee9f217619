"""Coinbase Advanced Trade: request signing, market data and order entry.

``Signer`` (CDP API keys): a fresh ES256 or EdDSA JWT per request and per WebSocket message.
``Adapter`` (``"coinbase"``, registered for ``tickwire.connect``): ``level2`` / ``market_trades`` /
``heartbeats``. ``Orders``: spot order entry over REST for ``tickwire.trade`` (``/api/v3/brokerage``
orders, fills, accounts, products) and the WebSocket ``user`` channel as the private stream.

One package because the venue outgrew one module: ``signer``, ``market`` (the adapter), ``orders``
(the REST grammar), ``user`` (the private stream), ``reading`` (answers, statuses, the
client id -> order id memory).
"""

from tickwire.venues.coinbase.market import Adapter
from tickwire.venues.coinbase.orders import Orders
from tickwire.venues.coinbase.signer import DEFAULT_HOST, Signer

__all__ = ["DEFAULT_HOST", "Adapter", "Orders", "Signer"]
