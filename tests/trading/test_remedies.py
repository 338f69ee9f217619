"""Refusals with a remedy, against the simulator: a skewed venue clock (Binance -1021, OKX 50102, Bybit
10002) is re-measured and the request resent once; a bad signature with a sound clock (Binance -1022),
a stale nonce (Kraken) and an expired token (Tradefence 1001) are resent once after their remedy; a
closed market (Tradefence 1003) is a typed error, never resent. Counted against the simulator's own
request log (``VenueServer.exchanges``) and order list."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tickwire
from session_cases import SimAccount
from test_session_binance import BINANCE
from test_session_bybit import BYBIT
from test_session_coinbase import COINBASE
from test_session_htx import HTX
from test_session_kraken import KRAKEN
from test_session_kraken import SECRET as KRAKEN_SECRET
from test_session_okx import OKX
from test_session_tradefence import TRADEFENCE
from tickwire.errors import AuthError, MarketClosed, TickwireError
from tickwire.sim import Simulator
from tickwire.trading.remedy import RESYNC_ROUNDS
from tickwire.trading.session import TradingSession
from tickwire.venues import binance, kraken

ACCOUNTS = {"binance": BINANCE, "okx": OKX, "bybit": BYBIT}
TIME_OP = {"binance": "GET /api/v3/time", "okx": "GET /api/v5/public/time", "bybit": "GET /v5/market/time"}


def ops(sim: Simulator, venue: str, since: int = 0) -> list[tuple[str, int]]:
    """Every REST request the venue received (after the first ``since``): (operation, HTTP status)."""
    return [(op, status) for _, op, status, _ in list(sim.endpoint(venue, 0).exchanges)[since:]]


async def place_skewed(
    a: SimAccount, sim: Simulator, tr: TradingSession, skew: int, n: int, *, together: bool = False
) -> int:
    """One order placed, then the venue's clock skewed by ``skew`` ms and ``n`` orders placed (one
    after the other, or all at once): each must be placed, exactly once at the venue. Returns where
    the venue's request log stood at the skew."""
    await a.rest_below(sim, tr, 40)
    for ep in sim.venue(a.venue).endpoints:
        ep.skew(skew)
    before = len(sim.endpoint(a.venue, 0).exchanges)
    if together:
        placed = list(await asyncio.gather(*(a.rest_below(sim, tr, 41 + i) for i in range(n))))
    else:
        placed = [await a.rest_below(sim, tr, 41 + i) for i in range(n)]
    assert all(o.status == "new" for o in placed)
    assert all(len(a.orders(sim, o.client_id)) == 1 for o in placed)
    return before


# The venues' windows (the simulator's, as documented): Binance and Bybit take a timestamp at most
# 1 s ahead of their clock and at most recvWindow (5 s) behind it, so a venue clock 2 s behind ours
# refuses and one 2 s ahead does not; OKX takes 30 s either way, so ±2 s passes and ±40 s does not.
SKEWS = [
    ("binance", -2000, True),
    ("binance", 2000, False),
    ("bybit", -2000, True),
    ("bybit", 2000, False),
    ("okx", -2000, False),
    ("okx", 2000, False),
    ("okx", -40_000, True),
    ("okx", 40_000, True),
]


@pytest.mark.parametrize(("venue", "skew", "refused"), SKEWS)
def test_a_clock_skewed_mid_session_is_remedied_once_and_no_refusal_reaches_the_caller(
    venue: str, skew: int, refused: bool
) -> None:
    a = ACCOUNTS[venue]

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.health()["clock_offset_ms"] is not None  # measured at start
        # Every order placed exactly once at the venue, none refused on the caller's side.
        before = await place_skewed(a, sim, tr, skew, 5)
        seen = [op for op, _ in ops(sim, venue, before)]
        # The first order after the skew is sent twice (refused, resent); every later one once.
        assert seen.count(a.place_op) == 5 + refused
        assert seen.count(TIME_OP[venue]) == (RESYNC_ROUNDS if refused else 0)
        if refused:
            first = seen.index(a.place_op)
            # Refused, the clock measured, then resent: in that order at the venue.
            assert seen[first + 1 : first + 1 + RESYNC_ROUNDS] == [TIME_OP[venue]] * RESYNC_ROUNDS
            assert seen[first + 1 + RESYNC_ROUNDS] == a.place_op
            assert abs(tr.health()["clock_offset_ms"] - skew) < 200
        h = tr.health()
        assert (h["clock_resyncs"], h["clock_retries"]) == ((1, 1) if refused else (0, 0))

    a.run(body)


# Venues that refuse a stale timestamp with the code of a bad signature: Coinbase a JWT whose ``nbf``
# is over a second ahead of its clock (401 UNAUTHENTICATED), HTX a ``Timestamp`` over 5 min off.
SIGNED_TIMES = [(COINBASE, "GET /api/v3/brokerage/time", -2000), (HTX, "GET /v1/common/timestamp", -400_000)]


@pytest.mark.parametrize(("a", "time_op", "skew"), SIGNED_TIMES, ids=["coinbase", "htx"])
def test_a_clock_stepped_on_a_venue_that_calls_it_a_bad_signature_is_remedied_once(
    a: SimAccount, time_op: str, skew: int
) -> None:
    """The venue's clock steps back mid-session past its window on a venue whose refusal of the
    timestamp is its bad-signature answer: the first order is refused once, the clock measured, the
    order resent; every order placed once at the venue, no later one refused (before: no remedy —
    ``AuthError`` for every order, the clock never measured again)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        before = await place_skewed(a, sim, tr, skew, 3)
        seen = ops(sim, a.venue, before)
        assert [st for op, st in seen if op == a.place_op][1:] == [200] * 3
        assert [op for op, _ in seen].count(a.place_op) == 3 + 1
        assert [op for op, _ in seen].count(time_op) == RESYNC_ROUNDS
        assert abs(tr.health()["clock_offset_ms"] - skew) < 1000

    a.run(body)


@pytest.mark.parametrize("path", ["place_order", "template"])
def test_an_order_refused_for_its_timestamp_whose_clock_reading_times_out_is_refused_not_lost(
    path: str,
) -> None:
    """Binance, the venue's clock stepped 2 s back: the order is refused (-1021) and the clock reading
    the remedy takes gets no answer within the time-out. The venue's refusal is the call's answer:
    nothing is looked for at the venue, the caller gets the -1021, nothing placed (before: the
    reading's time-out was taken as the order's answer lost — the order unknown, reconciled for
    recvWindow's 5 s with 16 queries, then "not placed" for a time-out of a GET; a template's order
    was left pending, the reading's time-out raised past its rejection)."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        await a.rest_below(sim, tr, 40)
        tmpl = tr.template(a.symbol, "buy")
        ep = sim.endpoint(a.venue, 0)
        ep.skew(-2000)
        ep.hold_answer(TIME_OP[a.venue], lambda: asyncio.sleep(1.0))
        before = len(ep.exchanges)
        with pytest.raises(TickwireError) as e:
            if path == "template":
                price = a.touch(sim)[0] - 41 * tr.rules[a.symbol].tick_size
                await tmpl.send(price, a.size(tr, price))
            else:
                await a.rest_below(sim, tr, 41)
        assert getattr(e.value, "code", None) == -1021, e.value
        assert {o.status for o in tr.tracker if o.status != "new"} == {"rejected"}
        seen = [op for op, _ in ops(sim, a.venue, before)]
        assert seen.count(a.place_op) == 1 and "GET /api/v3/order" not in seen, seen
        assert len(a.orders(sim)) == 1  # the first order only

    a.run(body, timeout=0.5)


def test_orders_refused_together_share_one_clock_measurement() -> None:
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        before = await place_skewed(a, sim, tr, -2000, 10, together=True)
        seen = [op for op, _ in ops(sim, a.venue, before)]
        assert seen.count(TIME_OP[a.venue]) == RESYNC_ROUNDS
        refused = sum(1 for op, st in ops(sim, a.venue, before) if op == a.place_op and st != 200)
        h = tr.health()
        assert h["clock_resyncs"] == 1 and h["clock_retries"] == refused >= 1
        assert seen.count(a.place_op) == 10 + refused

    a.run(body)


def test_over_the_order_socket_a_skewed_clock_is_remedied_once() -> None:
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        await place_skewed(a, sim, tr, -2000, 3)
        assert a.place_op not in [op for op, _ in ops(sim, a.venue)]  # all on the socket
        h = tr.health()
        assert (h["clock_resyncs"], h["clock_retries"], h["socket_connected"]) == (1, 1, True)

    a.run(body, transport="ws")


@pytest.mark.parametrize("socket", ["private stream", "order socket"])
def test_a_socket_log_in_refused_for_a_clock_stepped_mid_session_is_remedied_before_the_next(
    socket: str,
) -> None:
    """OKX: the venue's clock steps 40 s ahead mid-session (past its 30 s window) and the sockets
    drop. A log-in is refused (60006), the venue clock is measured again — once, however many
    sockets were refused — and the next log-in of each is accepted: at most one refusal per socket,
    every socket up again (before: every log-in was signed on the stale offset and refused, the
    sockets never came back up — nothing measured the clock again, no REST request being refused)."""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        v: Any = sim.venue(a.venue)
        socks = [s for s in (tr.stream, tr.orders_ws) if s is not None]
        assert len(socks) == (2 if socket == "order socket" else 1)
        assert all(s.connected and s.connects == 1 for s in socks)
        refused: list[str] = []
        error = v._error

        def counted(conn: Any, code: str, msg: str) -> None:
            refused.append(code)
            error(conn, code, msg)

        v._error = counted
        for ep in v.endpoints:
            ep.skew(40_000)
        before = len(sim.endpoint(a.venue, 0).exchanges)
        for ep in v.endpoints:
            ep.drop()
        for _ in range(200):
            if all(s.connects == 2 and s.connected for s in socks):
                break
            await asyncio.sleep(0.025)
        assert all(s.connects == 2 and s.connected for s in socks), ([s.last_error for s in socks], refused)
        assert 1 <= len(refused) <= len(socks) and set(refused) == {"60006"}, refused
        assert [op for op, _ in ops(sim, a.venue, before)].count(TIME_OP[a.venue]) == RESYNC_ROUNDS
        assert abs(tr.health()["clock_offset_ms"] - 40_000) < 1000

    a.run(body, transport="ws" if socket == "order socket" else "rest")


def test_a_bad_signature_with_a_sound_clock_is_resent_once_then_reaches_the_caller() -> None:
    """Binance -1022: the clock is re-measured (unchanged), the request signed anew once; a signer
    that still signs wrongly gets the AuthError, and the order is rejected, never placed."""
    a = BINANCE
    bad = SimAccount(**{**a.__dict__, "signer": binance.Signer(a.key, "not-the-secret")})

    async def body(sim: Simulator, tr: TradingSession) -> None:
        before = len(sim.endpoint(a.venue, 0).exchanges)
        with pytest.raises(AuthError):
            await tr.place_order(a.symbol, "buy", "limit", "0.01", "1000")
        seen = ops(sim, a.venue, before)
        assert [s for op, s in seen if op == a.place_op] == [400, 400]
        assert [op for op, _ in seen].count(TIME_OP[a.venue]) == RESYNC_ROUNDS
        assert a.orders(sim) == []
        h = tr.health()
        assert (h["clock_resyncs"], h["relogins"]) == (1, 1)

    # No private stream, no listing of open orders to adopt at start: both are signed too, would
    # never be accepted, and would count remedies of their own.
    bad.run(body, private_stream=False, adopt=False)


def test_a_stale_kraken_nonce_is_resent_once_with_a_fresh_one() -> None:
    a = KRAKEN
    now = [10**13]  # a frozen clock: nonces then only grow by one per request
    signer = kraken.Signer(a.key, KRAKEN_SECRET, clock=lambda: now[0])
    acct = SimAccount(**{**a.__dict__, "signer": signer})

    async def body(sim: Simulator, tr: TradingSession) -> None:
        # Another client of the same key used the next nonce: ours is refused once, then the next one
        # (one higher) is accepted.
        sim.venue(a.venue).last_nonce[a.key] = signer._last_nonce + 1  # type: ignore[attr-defined]
        before = len(sim.endpoint(a.venue, 0).exchanges)
        o = await a.rest_below(sim, tr, 40)
        assert o.status == "new" and len(a.orders(sim, o.client_id)) == 1
        assert [op for op, _ in ops(sim, a.venue, before)].count(a.place_op) == 2
        assert tr.health()["nonce_retries"] == 1

    acct.run(body)


def test_an_expired_tradefence_token_is_refreshed_and_the_request_resent_once() -> None:
    a = TRADEFENCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        v: Any = sim.venue(a.venue)
        v.tokens.clear()  # the venue forgets every access token: the next request gets 1001
        before = len(sim.endpoint(a.venue, 0).exchanges)
        o = await a.rest_below(sim, tr, 40)
        assert o.status == "new" and len(a.orders(sim, o.client_id)) == 1
        seen = ops(sim, a.venue, before)
        assert [s for op, s in seen if op == a.place_op] == [401, 201]
        assert ("POST /token", 200) in seen
        assert tr.health()["relogins"] == 1

    a.run(body)


def test_a_closed_market_is_a_typed_error_and_is_not_resent() -> None:
    a = TRADEFENCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        before = len(sim.endpoint(a.venue, 0).exchanges)
        with pytest.raises(MarketClosed) as e:
            await a.rest_below(sim, tr, 40)
        assert e.value.code == 1003  # type: ignore[attr-defined]
        assert [op for op, _ in ops(sim, a.venue, before)].count(a.place_op) == 1
        assert a.orders(sim) == []
        h = tr.health()
        assert (h["relogins"], h["clock_resyncs"], h["rate_resends"]) == (0, 0, 0)

    a.run(body, sim_profile={"market_open": False})


def test_health_reports_requests_orders_and_sockets() -> None:
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        h0 = tr.health()
        o = await a.rest_below(sim, tr, 40)
        h = tr.health()
        assert h["requests"] >= h0["requests"] + 1
        assert (h["open_orders"], h["unknown_outcomes"]) == (1, 0)
        assert (h["stream_connected"], h["socket_connected"]) == (True, None)
        await tr.cancel_order(a.symbol, client_id=o.client_id)
        assert tr.health()["open_orders"] == 0
        assert "key" not in repr(h).lower() or a.key not in repr(h)

    a.run(body)


def test_a_signer_with_its_own_clock_keeps_it() -> None:
    async def go() -> None:
        async with Simulator(["binance"], seed=31, rate=0, depth=20) as sim:
            BINANCE.register(sim.venue("binance"))
            own = binance.Signer(BINANCE.key, "x", clock=lambda: 42)
            tr = tickwire.trade("binance", credentials=own, endpoints=sim.urls()["binance"])
            assert own.clock() == 42  # type: ignore[attr-defined]
            assert tr.health()["clock_offset_ms"] is None

    asyncio.run(go())


def test_the_threaded_handle_reports_health() -> None:
    from simproc import control, sim_process
    from test_session_binance import SECRET

    a = BINANCE
    with sim_process("--venue", "binance", "--rate", "0", "--depth", "20") as urls:
        asyncio.run(control(urls, "/keys", {"venue": "binance", "args": {"key": a.key, "secret": SECRET}}))
        signer = binance.Signer(a.key, SECRET)
        tr = tickwire.trade_threaded("binance", credentials=signer, endpoints=urls["binance"])
        try:
            h = tr.health()
            assert h["requests"] >= 2 and h["stream_connected"] is True and h["open_orders"] == 0
            assert h["clock_offset_ms"] is not None
        finally:
            tr.close()


def test_a_time_endpoint_failing_at_start_leaves_the_local_clock_and_the_session_starts() -> None:
    a = BINANCE

    async def go() -> None:
        async with Simulator([a.venue], seed=31, rate=0, depth=20) as sim:
            a.register(sim.venue(a.venue))
            sim.fund(a.venue, a.key, a.funds)
            sim.endpoint(a.venue, 0).fail(1)  # the session's first request: the clock reading
            async with tickwire.trade(a.venue, credentials=a.signer, endpoints=sim.urls()[a.venue]) as tr:
                assert ops(sim, a.venue)[0] == (TIME_OP[a.venue], 503)
                assert tr.health()["clock_offset_ms"] is None
                o = await a.rest_below(sim, tr, 40)
                assert o.status == "new" and len(a.orders(sim, o.client_id)) == 1

    asyncio.run(go())


@pytest.mark.parametrize("transport", ["rest", "ws"])
def test_a_template_order_refused_for_a_skewed_clock_is_remedied_and_placed_once(transport: str) -> None:
    """The template path has the request path's remedies: -1021 → the venue clock re-measured, the
    same order (same client id) signed anew with the corrected time and sent once more."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tmpl = tr.template(a.symbol, "buy")
        bid, _ = a.touch(sim)
        price = bid - 40 * tr.rules[a.symbol].tick_size
        await tmpl.send(price, a.size(tr, price))  # the clock measured and sound
        for ep in sim.venue(a.venue).endpoints:
            ep.skew(-2000)
        placed = [await tmpl.send(price, a.size(tr, price)) for _ in range(3)]
        assert all(o.status == "new" and len(a.orders(sim, o.client_id)) == 1 for o in placed)
        h = tr.health()
        assert (h["clock_resyncs"], h["clock_retries"]) == (1, 1)
        assert abs(h["clock_offset_ms"] + 2000) < 200
        if transport == "rest":
            seen = [op for op, _ in ops(sim, a.venue)]
            first_refused = next(
                i for i, (op, st) in enumerate(ops(sim, a.venue)) if op == a.place_op and st != 200
            )
            assert (
                seen[first_refused + 1 : first_refused + 1 + RESYNC_ROUNDS]
                == [TIME_OP[a.venue]] * RESYNC_ROUNDS
            )
            assert seen.count(a.place_op) == 4 + 1  # four orders, the first after the skew twice

    a.run(body, transport=transport)
