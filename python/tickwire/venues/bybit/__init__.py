"""Bybit v5: request signing, market data and spot order entry.

``Signer``: hex HMAC-SHA256 of ``timestamp + api_key + recv_window + payload`` (REST headers), of
``GET/realtime<expires>`` (WebSocket ``auth``). ``Adapter`` (``"bybit"``, registered for
``tickwire.connect``): production URLs per category, ``orderbook`` / ``publicTrade`` topics, the
``{"op":"ping"}`` keepalive, op responses, the server-time path.

``Orders``: spot order entry for ``tickwire.trade`` — the ``/v5/order/…`` REST calls and readers of the
venue's answers; on ``/v5/private`` (after ``auth``) the ``order`` and ``execution`` topics (the private
stream); on ``/v5/trade`` (after ``auth``) the ``order.create``/``order.amend``/``order.cancel`` ops
(WebSocket order entry).

One package because the venue outgrew one module: ``signer``, ``market`` (the adapter), ``orders``.
"""

from tickwire.venues.bybit.market import Adapter
from tickwire.venues.bybit.orders import Orders
from tickwire.venues.bybit.signer import DEFAULT_RECV_WINDOW, MAX_RECV_WINDOW, Signer

__all__ = ["DEFAULT_RECV_WINDOW", "MAX_RECV_WINDOW", "Adapter", "Orders", "Signer"]
