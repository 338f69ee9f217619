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

import asyncio
import logging
import time
from typing import Any

from tickwire.trading.stream import KeptSocket, OrderSocket
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
    if ch.stream is not None:
        stream = ch._private_stream()
        if stream is not None:
            stream.rest = s.send_rest
            await stream.start(s.timeout)
            previous, ch.stream = ch.stream, stream
            s.stream = stream
            await previous.close()
    if ch.orders_ws is not None:
        url = s.endpoint.ws.get(getattr(s.grammar, "ws_label", ""), "")
        sock = OrderSocket(s.grammar, signer, url, timeout=s.timeout)
        sock.rest = s.send_rest
        await sock.start(s.timeout)
        previous_ws, ch.orders_ws = ch.orders_ws, sock
        s.orders_ws = s.wire.orders_ws = sock
        await _drained(previous_ws, s.timeout)
        await previous_ws.close()
    s.rotations = getattr(s, "rotations", 0) + 1
    s.audit.event("rotate", venue=s.venue, previous=_hint(old), api_key=_hint(signer))
    log.info("%s: credentials rotated (%s → %s)", s.venue, _hint(old), _hint(signer))
    await s.reconcile_open()


def account_scope(signer: Any, server: str) -> str:
    """The budget's account scope for ``signer``'s key on ``server`` (as the session builds it)."""
    return f"{getattr(signer, 'api_key', None) or id(signer)}@{server}"


async def _drained(sock: KeptSocket, timeout: float) -> None:
    """Waits (at most ``timeout``) until the order socket has no request awaiting its answer."""
    deadline = time.monotonic() + timeout
    while getattr(sock, "_pending", None) and time.monotonic() < deadline:
        await asyncio.sleep(0.005)


def _hint(signer: Any) -> str:
    return key_hint(signer) or type(signer).__name__
