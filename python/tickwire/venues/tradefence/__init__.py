"""Tradefence (seed-venues.md and the seed document ``001_eef5d386b177e2c6.txt``).

- ``market``: the market-data ``Adapter`` (``"tradefence"``, registered for ``tickwire.connect``).
- ``signer``: ``Signer``, the OAuth 2.0 authorization-code flow and Bearer tokens.
- ``orders``: ``Orders``, the order-entry grammar for ``tickwire.trade("tradefence")``.
- ``account``: the account (balances, positions), the batch endpoint and AI recommendations, as
  typed frozen results.
- ``webhooks``: ``WebhookReceiver``, the endpoint the venue POSTs ``order.filled``,
  ``position.closed`` and ``alert.triggered`` to, feeding a session's tracker and event stream.
- ``httpd``: the small strict HTTP/1.1 server behind the receiver and the OAuth loopback redirect.

Each module says which parts the document states and which are tickwire's defaults.
"""

from tickwire.trading.venue import Position
from tickwire.venues.tradefence.account import (
    Account,
    BatchResult,
    CancelOrder,
    CreateOrder,
    Recommendation,
    Recommendations,
    UpdatePosition,
    account,
    batch,
    recommendations,
)
from tickwire.venues.tradefence.market import Adapter
from tickwire.venues.tradefence.orders import Orders
from tickwire.venues.tradefence.signer import AUTH_URL, SCOPE, Signer, Tokens
from tickwire.venues.tradefence.webhooks import Alert, PositionClosed, WebhookReceiver

__all__ = [
    "AUTH_URL",
    "SCOPE",
    "Account",
    "Adapter",
    "Alert",
    "BatchResult",
    "CancelOrder",
    "CreateOrder",
    "Orders",
    "Position",
    "PositionClosed",
    "Recommendation",
    "Recommendations",
    "Signer",
    "Tokens",
    "UpdatePosition",
    "WebhookReceiver",
    "account",
    "batch",
    "recommendations",
]
