"""HTX (Huobi) spot: request signing, market data and order entry.

``Signer``: REST signature version 2 (signed query string), WebSocket v2 version 2.1 auth.
``Adapter`` (``"htx"``, registered for ``tickwire.connect``): production hosts, ``mbp`` topics and
``req`` snapshot requests on the ``/feed`` socket, gzip control frames, ``{"pong": n}`` answers, the
server-time path.

``Orders``: spot order entry for ``tickwire.trade`` — the REST v1 calls, readers of HTX's answers
(orders, match results, balances, ``/v1/common/symbols``, ``err-code`` errors) and the ``/ws/v2``
``orders#*`` private stream (its ``setup`` looks up the spot account id once per session).

One package because the venue outgrew one module: ``signer``, ``market``, ``orders``.
"""

from tickwire.venues.htx.market import Adapter
from tickwire.venues.htx.orders import Orders
from tickwire.venues.htx.signer import DEFAULT_HOST, Signer

__all__ = ["DEFAULT_HOST", "Adapter", "Orders", "Signer"]
