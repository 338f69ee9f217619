"""Key rotation without downtime, against the simulator: ``tr.rotate(new_signer)`` while a task places
a burst of orders — every order placed, exactly once at the venue, none failed — then the old key is
revoked at the simulator and the session keeps trading, its private stream (and order socket) on the
new key."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
import tickwire
from session_cases import SimAccount, settle
from test_session_binance import BINANCE
from test_session_okx import OKX, PASSPHRASE
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.trading.session import TradingSession
from tickwire.venues import binance, okx

BURST = 40
# At most this many: the venue's 10-second order count (100 on Binance spot) is never met.
MOST = 90


@dataclass(frozen=True)
class NewKey:
    """The account's second key: ``add`` registers it at the simulator for the same account,
    ``revoke`` removes the old one from the venue's key registry."""

    signer: Any
    add: Any
    revoke: Any


def _binance_key() -> NewKey:
    key, secret = "trade-key-2", "trade-secret-2"
    return NewKey(
        binance.Signer(key, secret),
        lambda v: v.add_key(ApiKey(key, secret=secret.encode(), account=BINANCE.key)),
        lambda v: v.keys.pop(BINANCE.key),
    )


def _okx_key() -> NewKey:
    key, secret, phrase = "okx-trade-key-2", "okx-trade-secret-2", PASSPHRASE + " 2"
    return NewKey(
        okx.Signer(key, secret, phrase),
        lambda v: v.add_key(key, secret, phrase, account=OKX.key),
        lambda v: v.keys.pop(OKX.key),
    )


CASES = [(BINANCE, _binance_key, "rest"), (BINANCE, _binance_key, "ws"), (OKX, _okx_key, "rest")]


@pytest.mark.parametrize(("a", "new_key", "transport"), CASES, ids=["binance", "binance-ws", "okx"])
def test_rotation_during_a_burst_loses_nothing_and_survives_the_old_keys_revocation(
    a: SimAccount, new_key: Any, transport: str
) -> None:
    new: NewKey = new_key()

    async def go() -> None:
        async with Simulator([a.venue], seed=31, rate=0, depth=20) as sim:
            v: Any = sim.venue(a.venue)
            a.register(v)
            new.add(v)
            sim.fund(a.venue, a.key, a.funds)
            async with tickwire.trade(
                a.venue, credentials=a.signer, endpoints=sim.urls()[a.venue], transport=transport
            ) as tr:
                await body(sim, tr, v)

    async def body(sim: Simulator, tr: TradingSession, v: Any) -> None:
        old_stream, old_socket = tr.stream, tr.orders_ws
        placed: list[Any] = []
        signed_by: list[str] = []  # the key each order of the burst went out with

        async def burst() -> None:
            # BURST orders, and on past the rotation (a loaded machine may take longer to rotate
            # than to place them) until a few went out with the new key.
            i = after = 0
            while (i < BURST or after < 3) and i < MOST:
                signed_by.append(tr.signer.api_key)
                after += signed_by[-1] == new.signer.api_key
                placed.append(await a.rest_below(sim, tr, 30 + i % 20))
                i += 1

        task = asyncio.create_task(burst())
        await settle(lambda: len(placed) >= 5, "the burst to start")
        await tr.rotate(new.signer)
        await task
        # The rotation ran while the burst did: it went out with both keys.
        assert {signed_by[0], signed_by[-1]} == {a.key, new.signer.api_key}
        # Zero failures; each order exactly once at the venue, all on the one account.
        assert len(placed) >= BURST and all(o.status == "new" for o in placed)
        for o in placed:
            [theirs] = a.orders(sim, o.client_id)
            assert theirs.open and theirs.account == a.key
        # The sockets are new ones, on the new key; the budget counts against the new key.
        assert tr.stream is not old_stream and tr.stream is not None and tr.stream.connected
        assert old_stream is not None and not old_stream.connected
        if transport == "ws":
            assert tr.orders_ws is not old_socket and tr.orders_ws is not None and tr.orders_ws.connected
            assert old_socket is not None and not old_socket.connected
        assert tr.budget.account.startswith(new.signer.api_key + "@")
        assert tr.health()["rotations"] == 1

        new.revoke(v)
        # Still trading: place, hear it on the private stream, cancel, cancel every order of the burst.
        events = tr.stream.events
        o = await a.rest_below(sim, tr, 25)
        assert o.status == "new" and len(a.orders(sim, o.client_id)) == 1
        await settle(lambda: tr.stream is not None and tr.stream.events > events, "the new stream's event")
        await tr.cancel_order(a.symbol, client_id=o.client_id)
        await tr.cancel_all(a.symbol)
        assert a.open(sim) == []
        h = tr.health()
        assert (h["open_orders"], h["unknown_outcomes"], h["stream_connected"]) == (0, 0, True)

    asyncio.run(go())


def test_a_session_on_a_revoked_key_is_refused_so_the_revocation_is_real() -> None:
    """The control: without rotation, revoking the session's key stops it (the venue's AuthError)."""
    a, new = BINANCE, _binance_key()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        new.revoke(sim.venue(a.venue))
        with pytest.raises(tickwire.errors.AuthError):
            await a.rest_below(sim, tr, 25)

    a.run(body, private_stream=False)


@pytest.mark.parametrize("transport", ["rest", "ws"])
def test_a_rotation_the_venue_refuses_leaves_the_session_as_it_was(transport: str) -> None:
    """A new key the venue does not know: its stream (and order socket) cannot log in, ``rotate``
    raises the venue's refusal, and the session goes on exactly as before — the old key signing, the
    old stream and order socket open and in use, the budget on the old key, no rotation counted —
    rather than half on each key (REST signed with a key no socket could use)."""
    a = BINANCE
    unknown = binance.Signer("never-registered", "nope")

    async def body(sim: Simulator, tr: TradingSession) -> None:
        before = (tr.signer, tr.wire.signer, tr.stream, tr.orders_ws, tr.wire.orders_ws, tr.budget.account)
        # Refused at log-in, or never answered (the simulator's Binance stream ignores an unknown key).
        with pytest.raises((tickwire.errors.AuthError, tickwire.errors.TransportError)):
            await tr.rotate(unknown)
        assert (
            tr.signer,
            tr.wire.signer,
            tr.stream,
            tr.orders_ws,
            tr.wire.orders_ws,
            tr.budget.account,
        ) == before
        assert tr.stream is not None and tr.stream.connected and tr.health()["rotations"] == 0
        assert (
            tr.orders_ws is None
            if transport == "rest"
            else tr.orders_ws is not None and tr.orders_ws.connected
        )
        events = tr.stream.events
        o = await a.rest_below(sim, tr, 25)  # over the order socket where there is one
        assert o.status == "new" and len(a.orders(sim, o.client_id)) == 1
        await settle(lambda: tr.stream is not None and tr.stream.events > events, "the stream's event")
        await tr.cancel_order(a.symbol, client_id=o.client_id)
        assert a.open(sim) == []

    a.run(body, transport=transport, timeout=1.0)
