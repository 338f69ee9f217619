"""Kraken spot: request signing, market data and order entry.

``Signer``: ``API-Sign = base64(HMAC-SHA512(base64decode(secret), uri_path + SHA256(nonce + postdata)))``
for private REST calls, with nonces that always increase. ``Adapter`` (``"kraken"``, registered for
``tickwire.connect``): WebSocket v2 ``book``/``trade``. ``RestOrders``: spot order entry over REST.
``Orders`` (``SocketOrders``, what ``tickwire.trade`` uses): ``RestOrders`` plus the authenticated
WebSocket v2 socket — the ``executions`` channel (the private stream) and
``add_order``/``cancel_order``/``amend_order`` — whose token comes from REST ``GetWebSocketsToken``,
reused by a reconnect while it is young enough.

One package because the venue outgrew one module: ``signer``, ``market``, ``names``, ``orders``, ``ws``.
"""

from tickwire.venues.kraken.market import Adapter
from tickwire.venues.kraken.orders import Orders as RestOrders
from tickwire.venues.kraken.signer import Signer
from tickwire.venues.kraken.ws import SocketOrders

Orders = SocketOrders

__all__ = ["Adapter", "Orders", "RestOrders", "Signer", "SocketOrders"]
