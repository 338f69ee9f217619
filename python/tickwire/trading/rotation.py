"""Key rotation without downtime: a live session moves to new credentials.

From the moment ``rotate`` switches the signer, every request is signed with the new key; requests
already signed finish with the old one (their signature is made when they are sent, never later).
The sockets then re-authenticate one at a time, make-before-break: a new private stream is opened
and subscribed with the new key before the old one is closed, then the same for the order socket
(the old one closed once its pending requests are answered), so at no moment is there no stream or
no socket. Events the two streams both report meanwhile are applied once (the tracker is
idempotent), and the open orders are reconciled at the end for anything a switch could hide. The
rate-limit budget's account scope moves to the new key. The old key can be revoked once ``rotate``
returns.
"""

from __future__ import annotations

import logging
from typing import Any

from tickwire.trading.wire import key_hint

log = logging.getLogger("tickwire.trading")


async def rotate(session: Any, signer: Any) -> None:
    s = session
    old = s.signer
    s.clock.install(signer)  # the venue clock, unless the new signer brings its own
    ensure = getattr(signer, "ensure_token", None)  # an OAuth signer's first token (Tradefence)
    if ensure is not None:
        await ensure()
    # From here on, new requests are signed with the new key.
    s.signer = s.wire.signer = signer
    make_tokens = getattr(s.grammar, "token_auth", None)
    if make_tokens is not None:
        s.wire.tokens = make_tokens(signer)
    s.budget.rescope(account_scope(signer, s.budget.ip))
    ch = s.channels

    def swapped() -> None:
        s.stream = ch.stream
        s.orders_ws = s.wire.orders_ws = ch.orders_ws

    await ch.reopen(swapped)
    s.rotations = getattr(s, "rotations", 0) + 1
    s.audit.event("rotate", venue=s.venue, previous=_hint(old), api_key=_hint(signer))
    log.info("%s: credentials rotated (%s → %s)", s.venue, _hint(old), _hint(signer))
    await s.reconcile_open()


def account_scope(signer: Any, server: str) -> str:
    """The budget's account scope for ``signer``'s key on ``server`` (as the session builds it)."""
    return f"{getattr(signer, 'api_key', None) or id(signer)}@{server}"


def _hint(signer: Any) -> str:
    return key_hint(signer) or type(signer).__name__
