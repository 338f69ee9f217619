"""Binance spot and USDⓈ-M futures: request signing and market data.

``Signer``: HMAC keys sign with the ``secret``; Ed25519 and RSA keys with ``private_key_pem`` (the type
is read from the PEM). ``rest_signature`` and ``ws_signature`` are direct calls into the Rust core.

Market-data adapters, registered for ``tickwire.connect``: ``Adapter`` (``"binance"``, spot JSON
combined streams), ``UsdmAdapter`` (``"binance-usdm"``) and ``SbeAdapter`` (``"binance-sbe"``, spot
SBE binary streams) — production hosts, stream names per channel, subscribe messages, REST depth
snapshot paths, server-time paths and the ``serverShutdown`` notice. (A/B lines are arbitrated in
Rust on the sequence numbers the decoder reads.)

``Orders``: spot order entry for ``tickwire.trade`` — REST calls and their WS API forms, the private
stream, readers of the venue's answers (orders, fills, balances, ``exchangeInfo`` filters, errors).
``UsdmOrders``: the same for USDⓈ-M futures (``tickwire.trade("binance-usdm")``), with positions and
the listenKey user data stream (``ListenKeyStream``). ``ORDER_GRAMMARS`` names each venue's grammar.

One package because the venue outgrew one module: ``signer``, ``market`` (the adapters), ``common``
(what both order grammars share), ``orders`` (spot), ``usdm`` and ``userstream`` (USDⓈ-M).
"""

from tickwire.venues.binance.market import Adapter, SbeAdapter, UsdmAdapter
from tickwire.venues.binance.orders import Orders
from tickwire.venues.binance.signer import API_KEY_HEADER, MAX_RECV_WINDOW, Signer
from tickwire.venues.binance.usdm import UsdmOrders
from tickwire.venues.binance.userstream import ListenKeyStream

ORDER_GRAMMARS = {Orders.venue: Orders, UsdmOrders.venue: UsdmOrders}

__all__ = [
    "API_KEY_HEADER",
    "MAX_RECV_WINDOW",
    "ORDER_GRAMMARS",
    "Adapter",
    "ListenKeyStream",
    "Orders",
    "SbeAdapter",
    "Signer",
    "UsdmAdapter",
    "UsdmOrders",
]
