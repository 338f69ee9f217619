"""Clarofinlore (seed-venues.md; the document verbatim in ../shared/seeds/000_*.txt).

- ``Signer`` (``signer.py``): the documented HMAC-SHA256 request signature (composition a profile
  setting), ``X-API-Key``/``X-Timestamp``/``X-Nonce``/``X-Signature`` headers.
- ``Adapter`` (``market.py``, ``"clarofinlore"`` for ``tickwire.connect``): the compressed market-data
  stream.
- ``Orders`` (``orders.py``): the order-entry grammar of ``tickwire.trade("clarofinlore")`` — orders
  with idempotent client ids, status, open orders, cancel, cancel-all, fills, account (balances,
  positions, margin), instruments, error codes — and ``Account``.
- ``Session`` (``session.py``): the trading session ``tickwire.trade`` builds for this venue — JWT
  log-in and refresh (``tokens.py``), ``Retry-After`` on 429, mutual TLS, the kill switch, TWAP
  (``twap.py``) and the idempotent resend of an unknown order.

Each module says which of its parts the document states and which are tickwire's defaults (the
simulator's, ``tickwire.sim.venues.clarofinlore``).
"""

from tickwire.venues.clarofinlore.market import Adapter
from tickwire.venues.clarofinlore.orders import Account, Orders
from tickwire.venues.clarofinlore.security import SecurityAlert, SecurityWatch
from tickwire.venues.clarofinlore.session import Session
from tickwire.venues.clarofinlore.signer import DEFAULT_PARTS, Signer
from tickwire.venues.clarofinlore.tokens import TokenAuth
from tickwire.venues.clarofinlore.twap import Twap

__all__ = [
    "DEFAULT_PARTS",
    "Account",
    "Adapter",
    "Orders",
    "SecurityAlert",
    "SecurityWatch",
    "Session",
    "Signer",
    "TokenAuth",
    "Twap",
]
