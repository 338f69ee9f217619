"""OKX v5: request signing, market data and spot order entry.

``Signer``: ``Base64(HMAC-SHA256(timestamp + METHOD + requestPath + body))`` for REST and WebSocket
logins. ``Adapter`` (``"okx"``, registered for ``tickwire.connect``): production host, ``books`` /
``trades`` subscriptions, the text ``ping`` keepalive, control events and the server-time path.

``Orders``: spot (``tdMode`` ``cash``) order entry for ``tickwire.trade`` — the JSON body or query of
each ``/api/v5/trade/…`` call and readers of the venue's answers (orders, fills, balances, instruments,
``code``/``sCode`` errors); on the logged-in ``/ws/v5/private`` socket the ``orders`` channel (the
private stream) and the ``order``/``cancel-order`` ops (WebSocket order entry).

One package because the venue outgrew one module: ``signer``, ``market`` (the adapter), ``orders``,
``limits``.
"""

from tickwire.venues.okx.market import Adapter
from tickwire.venues.okx.orders import Orders
from tickwire.venues.okx.signer import Signer

__all__ = ["Adapter", "Orders", "Signer"]
