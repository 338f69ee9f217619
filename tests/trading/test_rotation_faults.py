"""Key rotation's faults, against the simulator's own state (its orders, per-key request log, dead-man
countdowns): each case failed before its fix (findings of a review of ``tr.rotate``)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import tickwire
from session_cases import SimAccount, settle
from test_session_binance import BINANCE
from test_session_okx import OKX
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.trading.session import TradingSession
from tickwire.venues import binance, okx


def _another_accounts_key(venue: str) -> tuple[Any, Any]:
    """A key the venue knows, of an account of its own (funded): its signer, and how to add it."""
    if venue == "okx":
        return okx.Signer("other-okx", "other-secret", "other pass"), lambda v: v.add_key(
            "other-okx", "other-secret", "other pass"
        )
    return binance.Signer("other-key", "other-secret"), lambda v: v.add_key(
        ApiKey("other-key", secret=b"other-secret")
    )


@pytest.mark.parametrize("a", [BINANCE, OKX], ids=["binance", "okx"])
def test_a_rotation_to_a_key_of_another_account_is_refused_and_keeps_the_orders_open(a: SimAccount) -> None:
    """A key the venue knows, but of another account: before, the rotation went through and its
    reconciliation asked the new key about the session's orders — unknown to it — and settled each
    "expired, no longer known to the venue" while it still rested at the venue on the first account
    (out of the session's open orders, risk counts and cancel-all). Now ``rotate`` raises
    ``AuthError`` and the session stays on the old key with its orders tracked open."""
    other, add = _another_accounts_key(a.venue)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        v: Any = sim.venue(a.venue)
        add(v)  # its own account
        sim.fund(a.venue, other.api_key, a.funds)
        old = tr.signer
        o = await a.rest_below(sim, tr, 25)
        with pytest.raises(tickwire.errors.AuthError):
            await tr.rotate(other)
        assert tr.signer is old and tr.budget.account.startswith(a.key + "@")
        assert tr.health()["rotations"] == 0
        [theirs] = a.orders(sim, o.client_id)
        assert theirs.open and theirs.account == a.key
        assert [x.client_id for x in tr.tracker.open_orders()] == [o.client_id], tr.tracker.get(o.client_id)
        await tr.cancel_all(a.symbol)
        assert a.open(sim) == []

    a.run(body)


def test_a_rotated_sessions_clean_close_keeps_the_countdown_another_session_of_the_account_keeps() -> None:
    """OKX's cancel-all-after is the account's, whatever key armed it. Two sessions keep it on key 1;
    one rotates to key 2 (the same account) and closes cleanly. Its close must leave the countdown
    armed for the other session (as a close of a session on the same key does); before, it counted the
    other session as another account's (the key each was on), disarmed the account's countdown, and
    left the other session's orders with no switch until its next refresh — for good should its
    process die first."""
    from kill_cases import ACCOUNTS, funded, trade

    key, signer, _ = ACCOUNTS["okx"]

    async def go() -> None:
        async with funded("okx", profile={"dead_man_min_s": 1}) as sim:
            v: Any = sim.venue("okx")
            v.add_key("kill-okx-2", "kill-secret-2", "kill pass 2", account=key)
            url = sim.urls()["okx"]
            async with trade("okx", credentials=signer, endpoints=url, dead_man=60.0) as keeper:
                tr = trade("okx", credentials=signer, endpoints=url, dead_man=60.0)
                await tr.start()
                await tr.rotate(okx.Signer("kill-okx-2", "kill-secret-2", "kill pass 2"))
                assert v.trade.dead_man.armed(key)
                await tr.close()
                # The keeper's countdown stands at the venue (not disarmed by the rotated session).
                assert v.trade.dead_man.armed(key), "the account's countdown was disarmed"
                assert keeper.dead_man is not None and keeper.dead_man.task is not None

    asyncio.run(go())


def test_a_rotation_to_a_refused_key_with_no_socket_to_log_in_raises_and_keeps_the_old_key() -> None:
    """No private stream, REST orders, nothing open: no new socket logs in with the new key, so nothing
    met the venue's refusal of it. Before, ``rotate`` returned as done on a key the venue refuses and
    every request after it was refused (``AuthError``) — the old key, still good, dropped. Now the
    rotation asks the venue once with the new key, raises its ``AuthError``, and the session trades on
    the old key."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        old = tr.signer
        with pytest.raises(tickwire.errors.AuthError):
            await tr.rotate(binance.Signer("never-registered", "nope"))
        assert tr.signer is old and tr.health()["rotations"] == 0
        o = await a.rest_below(sim, tr, 25)
        assert o.status == "new" and len(a.orders(sim, o.client_id)) == 1

    a.run(body, private_stream=False)


def test_a_threaded_rotation_slower_than_a_query_is_waited_for_not_reported_timed_out() -> None:
    """``ThreadedTrading.rotate`` waited as a query does (``2 t + 4 (t + 0.2)`` s), though a
    rotation is two log-ins, the old order socket's drain and one query per open order, each within
    the request time-out ``t``. With twelve orders open on a venue answering in 0.18 s (``t`` 0.2 s),
    it raised ``RequestTimeoutError`` while the rotation went on behind it and was done a moment later
    — the caller told it failed (and likely to revoke the new key, or rotate again over it) of a
    session now on the new key. Now it is waited for to its end, like an order call."""
    from test_threaded_trading import SYMBOL, simulator

    with simulator() as st:
        st.run(
            lambda: st.sim.venue("binance").add_key(
                ApiKey("threaded-key-2", secret=b"s2", account="threaded-key")
            )
        )
        tr = st.handle(timeout=0.2, private_stream=False).start(10.0)
        try:
            price, qty = st.resting(tr)
            for _ in range(12):
                tr.place_order(SYMBOL, "buy", "limit", qty, price)
            st.run(lambda: st.sim.endpoint("binance", 0).delay(0.18))
            new = binance.Signer("threaded-key-2", "s2")
            try:
                tr.rotate(new)
                outcome = "rotated"
            except tickwire.errors.TickwireError as e:
                outcome = f"{type(e).__name__}: {e}"
            end = time.monotonic() + 1.0  # a rotation still running behind an error: its end
            while tr.session.signer.api_key != "threaded-key-2" and time.monotonic() < end:
                time.sleep(0.01)
            now_on = tr.session.signer.api_key
            assert (outcome, now_on) == ("rotated", "threaded-key-2"), (outcome, now_on)
        finally:
            st.run(lambda: st.sim.endpoint("binance", 0).delay(0))
            tr.close()


def test_a_rotation_on_kraken_starts_the_new_keys_rest_counter_at_its_own_count() -> None:
    """Kraken's REST call counter is the key's ("Each API key's counter is separate", Spot REST Rate
    Limits). Twelve queries on the old key, a rotation, then five on the new: the simulator's counter
    of the new key holds those (and the rotation's one), well under its 15. Before, the budget carried
    the old key's twelve onto the new key's window as if the venue counted per account, and the five
    waited out the old key's window (here: ``RateLimitError`` past ``rate_wait``) for room the venue
    had."""
    from test_session_kraken import KRAKEN
    from tickwire.venues import kraken

    a = KRAKEN
    secret2 = "dGhlIHNlY29uZCBrZXkncyBzZWNyZXQsIGJhc2U2NCBlbmNvZGVkIGhlcmU="

    async def body(sim: Simulator, tr: TradingSession) -> None:
        v: Any = sim.venue(a.venue)
        v.add_key("kraken-key-2", secret2)
        for _ in range(12):
            await tr.balances()
        await tr.rotate(kraken.Signer("kraken-key-2", secret2))
        for _ in range(5):
            await tr.balances()
        used = v.limits.rest["kraken-key-2"].used
        assert used <= 6, used

    a.run(body, private_stream=False, rate_wait=0.5)


def test_a_rotation_after_the_close_is_refused_and_opens_nothing() -> None:
    """A session closed (a shutdown racing a scheduled rotation, say) is asked to rotate. Before, the
    rotation went through on it: a new private stream opened and logged in with the new key, left
    connected at the venue for the process's life with nothing to close it, and ``rotate`` returned
    as done. Now it raises ``TransportError`` and opens nothing."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        v: Any = sim.venue(a.venue)
        v.add_key(ApiKey("trade-key-2", secret=b"trade-secret-2", account=a.key))
        old = tr.signer
        await tr.close()
        await asyncio.sleep(0.05)
        before = len(sim.endpoint(a.venue, 0).conns)
        with pytest.raises(tickwire.errors.TransportError):
            await tr.rotate(binance.Signer("trade-key-2", "trade-secret-2"))
        await asyncio.sleep(0.05)
        assert len(sim.endpoint(a.venue, 0).conns) == before, "a socket opened after the close"
        assert tr.signer is old and tr.health()["rotations"] == 0

    a.run(body)


def test_after_a_rotation_two_sessions_of_the_account_keep_one_order_count() -> None:
    """Binance counts new orders per account, whichever of its keys sent them. Two sessions on one key
    share one window of the account's order count; after one rotates to a second key of the account
    they must still. Before, the rotated one counted in a window of the new key's own: two bursts at
    once, one from each, each admitted by its own window, together crossed the venue's count and the
    venue refused orders (-1015) that the shared window would have held back."""
    a = BINANCE
    refused: list[str] = []

    async def go() -> None:
        profile = {"order_limit_10s": 10, "order_window_s": 1}
        async with Simulator([a.venue], seed=31, rate=0, depth=20, profiles={a.venue: profile}) as sim:
            v: Any = sim.venue(a.venue)
            a.register(v)
            v.add_key(ApiKey("trade-key-2", secret=b"trade-secret-2", account=a.key))
            sim.fund(a.venue, a.key, a.funds)
            count = v.orders.count_order

            def counted(account: str) -> Any:
                answer, headers = count(account)
                if answer is not None:
                    refused.append(account)
                return answer, headers

            v.orders.count_order = counted
            url = sim.urls()[a.venue]
            kw: dict[str, Any] = {"endpoints": url, "private_stream": False}
            async with tickwire.trade(a.venue, credentials=a.signer, **kw) as b:
                async with tickwire.trade(a.venue, credentials=a.signer, **kw) as tr:
                    await tr.rotate(binance.Signer("trade-key-2", "trade-secret-2"))
                    burst = [a.rest_below(sim, s, 40) for s in (tr, b) for _ in range(7)]
                    got = await asyncio.gather(*burst, return_exceptions=True)
            assert refused == [], f"the venue refused {len(refused)} order(s) over the account's count"
            assert all(not isinstance(o, BaseException) for o in got), got

    asyncio.run(go())


def test_a_kraken_rotation_that_fails_leaves_the_order_socket_on_the_old_keys_token() -> None:
    """Kraken's order socket carries the WebSocket token in every request, and the token is the
    grammar's, shared by the stream and the socket. A rotation whose new stream fetched the new key's
    token but whose new order socket could not connect (the venue refusing connections) is undone —
    yet before, the token stayed the new key's: the old socket, the one the session kept, sent every
    order after it with the key the session had given up (one the user would now discard). The
    simulator keeps each Kraken key's orders apart, so the order lands under the key whose token it
    carried. Now the old key's token is put back with the old key."""
    from test_session_kraken import KRAKEN
    from tickwire.venues import kraken

    a = KRAKEN
    secret2 = "dGhlIHNlY29uZCBrZXkncyBzZWNyZXQsIGJhc2U2NCBlbmNvZGVkIGhlcmU="

    async def body(sim: Simulator, tr: TradingSession) -> None:
        v: Any = sim.venue(a.venue)
        v.add_key("kraken-key-2", secret2)
        sim.fund(a.venue, "kraken-key-2", a.funds)
        accept, opened = v.accept, []

        def refusing(conn: Any) -> Any:  # the rotation's new stream connects; its order socket cannot
            if conn.path == "/auth/v2":
                opened.append(conn)
                if len(opened) > 1:
                    return 503, b"busy"
            return accept(conn)

        v.accept = refusing
        old = tr.signer
        with pytest.raises(tickwire.errors.TransportError):
            await tr.rotate(kraken.Signer("kraken-key-2", secret2))
        v.accept = accept
        assert tr.signer is old and tr.health()["rotations"] == 0
        assert tr.orders_ws is not None and tr.orders_ws.connected
        rest_places = [e for e in sim.endpoint(a.venue, 0).exchanges if e[1] == a.place_op]
        o = await a.rest_below(sim, tr, 25)
        assert [e for e in sim.endpoint(a.venue, 0).exchanges if e[1] == a.place_op] == rest_places
        [theirs] = a.orders(sim, o.client_id)
        assert theirs.account == a.key, f"the order went out under {theirs.account}, not the session's key"
        assert o.status == "new" and theirs.open

    a.run(body, transport="ws", timeout=1.0)


def test_a_clean_close_during_a_rotation_to_a_refused_key_disarms_the_countdown() -> None:
    """A close racing a rotation (a shutdown beside a scheduled rotation) whose new key the venue
    refuses. The rotation signs with the new key from its start, so before, the close's disarm of the
    dead-man countdown went out signed with it while the rotation still asked the venue about the
    key: refused (-2015), "not disarmed", and the countdown ran out at the venue and cancelled the
    orders the clean close had left. Now the close stops the rotation first (the session back on the
    old key) and disarms with the key the venue takes. The simulator holds its answer to the
    rotation's query (of the open order, with the new key) until the close is over."""
    from kill_cases import ACCOUNTS, funded, open_at_venue, rest_buy, trade

    venue = "binance-usdm"
    key, signer, _ = ACCOUNTS[venue]

    async def go() -> None:
        async with funded(venue) as sim:
            sw: Any = sim.venue(venue).futures_orders.dead_man
            tr = trade(venue, credentials=signer, endpoints=sim.urls()[venue], dead_man=1.0)
            await tr.start()
            await rest_buy(sim, tr, "BTCUSDT")
            closed = asyncio.Event()
            sim.endpoint(venue, 0).hold_answer("GET /fapi/v1/order", closed.wait)
            rotation = asyncio.ensure_future(tr.rotate(binance.Signer("never-registered", "nope")))
            await settle(lambda: "GET /fapi/v1/order" in sim.endpoint(venue, 0).handling(), "the query")
            await tr.close()
            closed.set()
            with pytest.raises(tickwire.errors.TickwireError):
                await rotation
            assert sw.armed(key) == {}, "the clean close left the countdown armed"
            await asyncio.sleep(2.0)  # past the countdown: nothing fires, the order stays
            assert sw.fired == [] and len(open_at_venue(sim, venue)) == 1

    asyncio.run(go())
