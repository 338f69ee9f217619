"""Tradefence (seed-venues.md and the seed document ``001_eef5d386b177e2c6.txt``).

- ``market``: the market-data ``Adapter`` (``"tradefence"``, registered for ``tickwire.connect``).
- ``signer``: ``Signer``, the OAuth 2.0 authorization-code flow and Bearer tokens.
- ``orders``: ``Orders``, the order-entry grammar for ``tickwire.trade("tradefence")``.
- ``account``: the account (balances, positions), the batch endpoint and AI recommendations, as
  typed frozen results.
- ``webhooks``: ``WebhookReceiver``, the endpoint the venue POSTs ``order.filled``,
  ``position.closed`` and ``alert.triggered`` to, feeding a session's tracker and event stream.

Each module says which parts the document states and which are tickwire's defaults.
"""

from tickwire.venues.tradefence.market import Adapter
from tickwire.venues.tradefence.orders import Orders
from tickwire.venues.tradefence.signer import AUTH_URL, SCOPE, Signer, Tokens

__all__ = ["AUTH_URL", "SCOPE", "Adapter", "Orders", "Signer", "Tokens"]
