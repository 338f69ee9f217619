"""Key rotation without downtime: a live session moves to new credentials.

From the moment ``rotate`` switches the signer, every request is signed with the new key; requests
already signed finish with the old one (their signature is made when they are sent, never later).
The sockets are then replaced make-before-break: a new private stream and a new order socket are
opened and authenticated with the new key, both, before they take the old ones' place; the old
stream is then closed, and the old order socket once its pending requests are answered, so at no
moment is there no stream or no socket. Events the two streams both report meanwhile are applied
once (the tracker is idempotent), and the open orders are reconciled at the end for anything a
switch could hide. The rate-limit budget's account scope moves to the new key. The old key can be
revoked once ``rotate`` returns. If a new socket cannot start (the venue refuses the new key), the
ones that did are closed and the session is put back on the old key, its tokens (Kraken's WebSocket
token, which the kept order socket sends with every order, too), budget scope and sockets as they
were, and the error is raised. A close stops a rotation under way before it disarms the dead-man
switch, so the disarm is signed with a key the venue took. Before any socket is replaced the new key is asked
about one open order (``_check_new_key``): a key of another account is refused (``AuthError``), and
with no socket to log in and nothing open one signed query meets a key the venue refuses.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from tickwire.errors import AuthError, OrderNotFound, TransportError
from tickwire.trading.wire import key_hint

log = logging.getLogger("tickwire.trading")


async def rotate(session: Any, signer: Any) -> None:
    s = session
    if s.closing or s.wire.http is None:
        # Nothing would close the sockets it opens (a closed session's close is over, a session not
        # started has none to replace): refused, nothing opened, the signer as it is.
        state = "closed" if s.closing else "not started"
        raise TransportError(f"{s.venue}: the session is {state}: its key is not rotated")
    old = s.signer
    s.clock.install(signer)  # the venue clock, unless the new signer brings its own
    ensure = getattr(signer, "ensure_token", None)  # an OAuth signer's first token (Tradefence)
    if ensure is not None:
        await ensure()
    old_tokens, old_account = s.wire.tokens, s.budget.account
    ch = s.channels
    login_state = getattr(s.grammar, "login_state", None)  # Kraken's token, shared by the sockets
    login = login_state() if login_state is not None else None

    done: list[bool] = []

    def swapped() -> None:
        s.stream = ch.stream
        s.orders_ws = s.wire.orders_ws = ch.orders_ws
        done.append(True)

    async def steps() -> None:
        # From here on, new requests are signed with the new key (the new sockets' own REST steps too).
        _sign_with(s, signer, account_scope(signer, s.budget.ip))
        await _check_new_key(s, old, old_account, old_tokens, signer)
        await ch.reopen(swapped)

    # In a task of its own, which a close stops (``lifecycle.close``) before it disarms the dead-man
    # switch: else the new sockets would be started behind the close and left open, and the disarm
    # signed with a key the venue may yet refuse (the countdown then cancelling the orders a clean
    # close leaves). The old sockets are the close's to end should it stop the task as they are
    # being retired.
    job = asyncio.ensure_future(steps())
    s.rotating, s.retiring = job, [c for c in (ch.stream, ch.orders_ws) if c is not None]
    try:
        await job
    except BaseException:
        if not done:
            # The venue refused the key, or a new socket would not start: the session goes on as it
            # was, on the old key and its sockets, rather than half on each.
            _sign_with(s, old, old_account, old_tokens)
            if login is not None:  # a new socket's log-in fetched with the new key is not kept
                s.grammar.restore_login(login)
            log.warning(
                "%s: credential rotation to %s failed; still on %s", s.venue, _hint(signer), _hint(old)
            )
        task = asyncio.current_task()
        if s.closing and job.cancelled() and not (task is not None and task.cancelling()):
            raise TransportError(f"{s.venue}: the session was closed while its key was rotated") from None
        raise
    finally:
        s.rotating, s.retiring = None, []
    s.rotations = getattr(s, "rotations", 0) + 1
    # The one account's, both keys: what another session on the old key keeps (the dead-man switch's
    # countdown, the venue's for the account) is this one's to keep too.
    s.account_scopes = {*getattr(s, "account_scopes", ()), old_account, s.budget.account}
    s.audit.event("rotate", venue=s.venue, previous=_hint(old), api_key=_hint(signer))
    log.info("%s: credentials rotated (%s → %s)", s.venue, _hint(old), _hint(signer))
    await s.reconcile_open()


async def _check_new_key(s: Any, old: Any, old_account: str, old_tokens: Any, signer: Any) -> None:
    """Raises the venue's refusal of the new key where no new socket's log-in would meet it, and
    ``AuthError`` for a new key the venue does not know one of the session's open orders by where the
    old key still finds it: the key of another account, which would reconcile every order of this one
    as "no longer known" — dropped from the session (its risk counts, cancel-all, kill) while
    still resting at the venue. Asked with the new key first (the session now signs with it), and with
    the old one only if that finds nothing; an order neither finds proves nothing."""
    probe = next((o for o in s.tracker.open_orders() if o.order_id), None)
    if probe is None:
        balances = getattr(s.grammar, "balances", None)
        if balances is not None and s.channels.stream is None and s.channels.orders_ws is None:
            # No socket will log in with the new key and refuse it: one signed query does, before
            # the rotation is done (else a key the venue refuses was taken, and every request after
            # it refused, the old key perhaps revoked already).
            await s.send(balances())
        return
    call = s.grammar.status(probe.symbol, probe.client_id, probe.order_id)
    try:
        await s.send(call)
        return
    except OrderNotFound:
        pass
    _sign_with(s, old, old_account, old_tokens)
    try:
        await s.send(call)
    except OrderNotFound:
        _sign_with(s, signer, account_scope(signer, s.budget.ip))
        return
    raise AuthError(
        f"{s.venue}: the new key {_hint(signer)} does not know order {probe.client_id} of this session's "
        f"account (its key {_hint(old)} does): a key of another account; not rotated"
    )


def _sign_with(s: Any, signer: Any, account: str, tokens: Any = None) -> None:
    """Requests signed with ``signer`` from now on, its tokens (fresh ones unless ``tokens``) and the
    budget's account scope ``account``."""
    s.signer = s.wire.signer = signer
    make_tokens = getattr(s.grammar, "token_auth", None)
    if make_tokens is not None:
        s.wire.tokens = tokens if tokens is not None else make_tokens(signer)
    if s.budget.account != account:
        s.budget.rescope(account)


def account_scope(signer: Any, server: str) -> str:
    """The budget's account scope for ``signer``'s key on ``server`` (as the session builds it)."""
    return f"{getattr(signer, 'api_key', None) or id(signer)}@{server}"


def _hint(signer: Any) -> str:
    return key_hint(signer) or type(signer).__name__
