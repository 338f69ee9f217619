"""``tickwire.trade("clarofinlore")`` against the simulator: the shared cases (``session_cases``) and
Clarofinlore's own — the JWT log-in and its refresh, ``Retry-After`` on 429, the documented
idempotent client order id (a resend makes exactly one order), TWAP, the kill switch, positions and
margin — each checked against the simulator's own order list, TWAPs and ledger; and the documented
request shapes."""

from __future__ import annotations

import asyncio
import decimal
from collections.abc import Awaitable, Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import orjson
import pytest
import tickwire
from certs import Ca
from session_cases import SessionCases, SimAccount
from tickwire.errors import (
    AuthError,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    OrderRejected,
    RateLimitError,
    TradingHalted,
    TransportError,
    UnknownOutcome,
)
from tickwire.limits import Limit
from tickwire.sim import Simulator
from tickwire.sim.tls import server_context
from tickwire.trading.orders import Order
from tickwire.trading.session import TradingSession
from tickwire.trading.unsent import was_unsent
from tickwire.transport.ws import tls_context
from tickwire.venues import clarofinlore

KEY, SECRET = "claro-trade-key", "claro-trade-secret"

CLARO = SimAccount(
    venue="clarofinlore",
    symbol="btc-usdt",
    key=KEY,
    signer=clarofinlore.Signer(KEY, SECRET),
    register=lambda v: v.add_key(KEY, SECRET),
    place_op="POST /v1/orders",
    unknown_symbol="nope-usdt",
    # Margin at 10x: 100,000 USDT carries about 16 BTC at 60,000, so selling the 110 the shared
    # refusal case asks for is the venue's 1001.
    funds={"USDT": "100000", "BTC": "100"},
)


class TestClarofinlore(SessionCases):
    """The shared cases. ``AckCases`` do not apply: every Clarofinlore answer states the order's whole
    state, so no status query follows a place (its loss cannot be staged), and a margin venue's market
    buy moves collateral, not the base asset; their not-found case is below."""

    acct = CLARO


def test_cancelling_a_closed_order_and_the_status_of_an_unknown_one_are_order_not_found() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await CLARO.rest_below(sim, tr, 10)
        await tr.cancel_order(CLARO.symbol, client_id=o.client_id)
        with pytest.raises(OrderNotFound):
            await tr.cancel_order(CLARO.symbol, client_id=o.client_id)
        with pytest.raises(OrderNotFound):
            await tr.cancel_order(CLARO.symbol, order_id=o.order_id)
        with pytest.raises(OrderNotFound):
            await tr.order_status(CLARO.symbol, client_id="neverplaced1")
        assert not CLARO.orders(sim, o.client_id)[0].open and len(CLARO.orders(sim)) == 1

    CLARO.run(body)


async def _session(sim: Simulator, **kw: Any) -> clarofinlore.Session:
    CLARO.register(sim.venue(CLARO.venue))
    sim.fund(CLARO.venue, KEY, CLARO.funds)
    tr = tickwire.trade(CLARO.venue, credentials=CLARO.signer, endpoints=sim.urls()[CLARO.venue], **kw)
    assert isinstance(tr, clarofinlore.Session)
    return await tr.start()


def _run(
    body: Callable[[Simulator, clarofinlore.Session], Awaitable[None]], sim_kw: Any = None, **kw: Any
) -> None:
    async def go() -> None:
        async with Simulator([CLARO.venue], seed=31, rate=0, depth=20, **(sim_kw or {})) as sim:
            tr = await _session(sim, **kw)
            try:
                await body(sim, tr)
            finally:
                await tr.close()
            assert not sim.errors

    asyncio.run(go())


# log-in ----------------------------------------------------------------------------------------------


def test_the_session_logs_in_once_refreshes_before_expiry_and_logs_in_again_after_a_refused_token() -> None:
    async def body(sim: Simulator, tr: clarofinlore.Session) -> None:
        venue_auth = sim.venue(CLARO.venue).auth  # type: ignore[attr-defined]
        assert (tr.auth.logins, tr.auth.refreshes) == (1, 0)
        first = tr.auth.token
        assert venue_auth.bearer(sim.endpoint(CLARO.venue), f"Bearer {first}") == KEY
        await tr.open_orders(CLARO.symbol)
        assert (tr.auth.logins, tr.auth.refreshes) == (1, 0), "a fresh token is reused"
        # The venue states exp in whole seconds, so a 3 s token lives 2-3 s; the session renews a
        # quarter of the stated life plus that second early (1.25 s): at 1.4 s it refreshes.
        await asyncio.sleep(1.4)
        await tr.open_orders(CLARO.symbol)
        assert (tr.auth.logins, tr.auth.refreshes) == (1, 1) and tr.auth.token != first
        assert len(venue_auth.refresh_tokens) == 1, "the venue retired the used refresh token"
        # The venue forgets every token (a restart): the refused request is signed anew and sent
        # again after a new log-in (the refresh token is gone too, so a full one).
        venue_auth.jwt_key = b"restarted"
        venue_auth.refresh_tokens.clear()
        o = await CLARO.rest_below(sim, tr, 10)
        assert (tr.auth.logins, tr.auth.refreshes) == (2, 1)
        assert len(CLARO.orders(sim)) == 1 and o.order_id == str(CLARO.orders(sim)[0].id)
        failed = [e for e in venue_auth.security_log if e["api_key"] == KEY]
        # The stale token, then the refresh token tried before a full log-in: nothing else refused.
        assert [e["code"] for e in failed] == [4015, 4016]
        logged = await tr.security_logs()
        assert [(e["event"], e["code"]) for e in logged] == [("request_denied", 4015), ("login_failed", 4016)]

    _run(body, {"timeouts": {"token_ttl": 3.0}})


def test_a_429_pauses_for_retry_after_then_resends_and_the_order_exists_once() -> None:
    async def body(sim: Simulator, tr: clarofinlore.Session) -> None:
        loop = asyncio.get_running_loop()
        # Log-in and instruments used 2 of the 3 requests a second: the first order fits, the second
        # gets a 429 with Retry-After (whole seconds) and goes through after that pause.
        t0 = loop.time()
        a = await CLARO.rest_below(sim, tr, 10)
        b = await CLARO.rest_below(sim, tr, 11)
        c = await CLARO.rest_below(sim, tr, 12)
        assert loop.time() - t0 >= 0.9
        assert sorted(o.client_id for o in CLARO.orders(sim)) == sorted(
            [a.client_id, b.client_id, c.client_id]
        )
        tr.budget.max_wait_s = 0.0  # a pause longer than the caller allows: the typed error instead
        with pytest.raises(RateLimitError) as e:
            for _ in range(5):
                await tr.open_orders(CLARO.symbol)
        assert e.value.retry_after >= 1.0 and e.value.status == 429

    _run(body, {"profiles": {"clarofinlore": {"rate_limit": 3}}})


# idempotent client order id --------------------------------------------------------------------------


def test_an_unknown_order_is_resent_with_its_client_id_and_the_venue_holds_exactly_one() -> None:
    async def body(sim: Simulator, tr: clarofinlore.Session) -> None:
        ep = sim.endpoint(CLARO.venue)
        bid, _ = CLARO.touch(sim)
        price = bid - 10 * tr.rules[CLARO.symbol].tick_size
        qty = CLARO.size(tr, price)
        # Placed, but the answer is lost and so is the reconciliation's status query: unknown.
        ep.lose_answer("POST /v1/orders")
        ep.lose_answer("GET /v1/orders/client/resend-1")
        with pytest.raises(UnknownOutcome):
            await tr.place_order(CLARO.symbol, "buy", "limit", qty, price, client_id="resend-1")
        assert tr.tracker.get("resend-1").status == "unknown"  # type: ignore[union-attr]
        got = await tr.resend("resend-1")
        [theirs] = CLARO.orders(sim)
        assert got.status == "new" and got.order_id == str(theirs.id) and theirs.client_id == "resend-1"
        with pytest.raises(InvalidOrder):
            await tr.resend("resend-1")  # known now: nothing to resend
        # Never reached the venue, and the status query timed out too: the resend places it, once.
        ep.fail(2, timeout=True)
        with pytest.raises(UnknownOutcome):
            await tr.place_order(CLARO.symbol, "buy", "limit", qty, price, client_id="resend-2")
        assert CLARO.orders(sim, "resend-2") == []
        ep.lose_answer("POST /v1/orders")
        with pytest.raises(TransportError):
            await tr.resend("resend-2")  # placed now, answer lost again: still unknown
        assert (await tr.resend("resend-2")).status == "new"
        assert len(CLARO.orders(sim, "resend-2")) == 1 and len(CLARO.orders(sim)) == 2
        assert ep.lost == ["POST /v1/orders", "GET /v1/orders/client/resend-1", "POST /v1/orders"]

    _run(body, timeout=0.5)


# TWAP ------------------------------------------------------------------------------------------------


def test_twap_slices_reach_the_simulators_order_list_and_a_lost_answer_starts_one_twap() -> None:
    async def body(sim: Simulator, tr: clarofinlore.Session) -> None:
        venue = sim.venue(CLARO.venue)
        lot = tr.rules[CLARO.symbol].lot_size
        with pytest.raises(InvalidOrder) as e:
            await tr.twap(CLARO.symbol, "buy", 3 * lot, duration_s=0.2, slices=4)  # under a lot a slice
        assert e.value.rule == "slices"
        with pytest.raises(InvalidOrder) as e:
            await tr.twap(CLARO.symbol, "buy", lot * Decimal("10.5"), duration_s=0.2, slices=2)
        assert e.value.rule == "lot_size"
        assert venue.twap.twaps == {}  # type: ignore[attr-defined]
        sim.endpoint(CLARO.venue).lose_answer("POST /v1/orders/twap")
        t = await tr.twap(CLARO.symbol, "buy", 11 * lot, duration_s=0.2, slices=4)
        [theirs] = venue.twap.twaps.values()  # type: ignore[attr-defined]
        assert theirs.id == t.twap_id and theirs.client_id == t.client_id and t.qty == 11 * lot
        while t.running:
            await asyncio.sleep(0.03)
            t = await tr.twap_status(t.twap_id)
        assert t.status == "done" and t.filled == 11 * lot and t.slices_done == 4
        children = [o for o in CLARO.orders(sim) if o.client_id.startswith(t.client_id + ".")]
        assert [o.qty for o in children] == [3, 3, 3, 2] and len(CLARO.orders(sim)) == 4
        assert [o.order_id for o in t.orders] == [str(o.id) for o in children]
        pos = await tr.positions()
        assert pos[CLARO.symbol].qty == 11 * lot == venue.engine.position(KEY, CLARO.symbol) * lot
        slow = await tr.twap(CLARO.symbol, "sell", 10 * lot, duration_s=30, slices=5)
        stopped = await tr.cancel_twap(slow.twap_id)
        assert stopped.status == "cancelled" and stopped.slices_done == 1
        assert venue.twap.twaps[slow.twap_id].status == "cancelled"  # type: ignore[attr-defined]

    _run(body)


def test_a_twap_quantity_off_the_lot_grid_is_refused_under_a_callers_low_decimal_precision() -> None:
    """1000.5 lots is off the lot grid whatever the caller's decimal context: refused with the lot
    rule and no TWAP request written (before: under a context of 3 digits ``q / lot`` rounded to a
    whole 1000 lots, the check passed and the off-lot quantity went to the venue)."""

    async def body(sim: Simulator, tr: clarofinlore.Session) -> None:
        lot = tr.rules[CLARO.symbol].lot_size
        q = lot * Decimal("1000.5")  # in the default context: exact
        assert Fraction(q) / Fraction(lot) == Fraction(2001, 2)  # independently: not whole lots
        with decimal.localcontext() as ctx:
            ctx.prec = 3  # the caller's own setting
            with pytest.raises(InvalidOrder) as e:
                await tr.twap(CLARO.symbol, "buy", q, duration_s=0.2, slices=10)
        assert e.value.rule == "lot_size"
        assert sim.venue(CLARO.venue).twap.twaps == {}  # type: ignore[attr-defined]
        assert [op for _, op, _, _ in sim.endpoint(CLARO.venue, 0).exchanges if "twap" in op] == []

    _run(body)


def test_a_twap_waiting_for_budget_when_trading_halts_is_never_written() -> None:
    """A TWAP parent is an order: sent on the order lane, so the halt is checked again after its
    budget wait (before, on the query lane, it went out after the kill)."""

    async def body(sim: Simulator, tr: clarofinlore.Session) -> None:
        tr.budget.set_limits([Limit("REQUESTS", 3, 1.0, "account")], replace=True)
        for _ in range(2):  # the room outside the cancels' reserve
            await tr.open_orders(CLARO.symbol)
        lot = tr.rules[CLARO.symbol].lot_size
        waiting = asyncio.ensure_future(tr.twap(CLARO.symbol, "buy", 4 * lot, duration_s=0.2, slices=2))
        await asyncio.sleep(0.1)
        assert not waiting.done()  # it waits for room
        tr.halt("runaway")
        with pytest.raises(TradingHalted):
            await waiting
        assert sim.venue(CLARO.venue).twap.twaps == {}  # type: ignore[attr-defined]

    _run(body)


def test_a_twap_no_connection_could_take_is_refused_unsent_and_reserves_nothing() -> None:
    """The venue's REST endpoint refuses connections and the pool's connections are gone: the TWAP's
    request is written nowhere. It must be refused ``TransportError`` marked unsent, nothing left
    reserved against the risk limits, as ``place_order``'s is (stop 54). Before: each refused connect
    was taken for a lost answer and the request "asked again", then ``UnknownOutcome`` — the TWAP
    counted open (its quantity reserved) though the simulator never heard of it."""

    async def body(sim: Simulator, tr: clarofinlore.Session) -> None:
        lot = tr.rules[CLARO.symbol].lot_size
        await sim.endpoint(CLARO.venue, 0).down(2.0)
        await asyncio.sleep(0.1)  # the pool's connections seen closed: none left to write on
        with pytest.raises(TransportError) as got:
            await tr.twap(CLARO.symbol, "buy", 4 * lot, duration_s=0.2, slices=2)
        assert was_unsent(got.value) and not isinstance(got.value, UnknownOutcome), repr(got.value)
        assert sim.venue(CLARO.venue).twap.twaps == {}  # type: ignore[attr-defined]
        held = tr.risk.exposure(CLARO.symbol)
        assert (held["reserved"], held["open_buy_qty"]) == (0, 0), held

    _run(body, timeout=1.0)


# account, margin, kill switch ------------------------------------------------------------------------


def test_account_positions_margin_check_and_kill_switch_agree_with_the_ledger() -> None:
    async def body(sim: Simulator, tr: clarofinlore.Session) -> None:
        led = sim.venue(CLARO.venue).engine.ledger
        _, ask = CLARO.touch(sim)
        qty = CLARO.size(tr, ask, 5)
        bought = await tr.place_order(CLARO.symbol, "buy", "market", qty)
        assert bought.status == "filled" and bought.filled == qty
        acct = await tr.account()
        assert acct.available_margin == led.margin_free(KEY, "USDT") and acct.leverage == 10
        assert acct.positions[CLARO.symbol].qty == qty
        entry, avg = acct.positions[CLARO.symbol].entry_price, bought.avg_price
        assert entry is not None and avg is not None  # the venue prints entry prices to the tick
        assert abs(entry - avg) < tr.rules[CLARO.symbol].tick_size
        # 2,000,000 USDT of notional at 10x is twice the collateral: refused before sending.
        bid, _ = CLARO.touch(sim)
        big = (Decimal(2_000_000) / bid).quantize(tr.rules[CLARO.symbol].lot_size)
        before = len(CLARO.orders(sim))
        with pytest.raises(InsufficientFunds, match="checked before sending"):
            await tr.place_order(CLARO.symbol, "buy", "limit", big, bid)
        assert len(CLARO.orders(sim)) == before and len(list(tr.tracker)) == 1
        resting = await CLARO.rest_below(sim, tr, 20)
        cancelled, closing = await tr.kill_switch()
        assert [o.client_id for o in cancelled] == [resting.client_id] and cancelled[0].status == "canceled"
        assert len(closing) == 1 and closing[0].side == "sell" and closing[0].qty == qty
        assert CLARO.open(sim) == [] and sim.venue(CLARO.venue).engine.position(KEY, CLARO.symbol) == 0
        assert await tr.positions() == {}

    _run(body, margin_check=True)


# request shapes and answers --------------------------------------------------------------------------


def _order(**kw: Any) -> Order:
    base: dict[str, Any] = {
        "venue": "clarofinlore", "symbol": "btc-usdt", "side": "buy", "type": "limit",
        "qty": Decimal("0.5"), "price": Decimal("6E4"), "client_id": "tw-1",
    }  # fmt: skip
    return Order(**{**base, **kw})


def test_requests_carry_the_documented_fields_and_the_defaults_only_where_needed() -> None:
    g = clarofinlore.Orders()
    placed = g.new_order(_order())
    assert (placed.method, placed.path, placed.params) == ("POST", "/v1/orders", {})
    # The documented fields, in the document's order; a GTC limit order needs nothing more.
    assert list(orjson.loads(placed.body).items()) == [
        ("symbol", "btc-usdt"), ("side", "buy"), ("quantity", "0.5"), ("type", "limit"),
        ("price", "60000"), ("client_order_id", "tw-1"),
    ]  # fmt: skip
    assert orjson.loads(g.new_order(_order(tif="IOC")).body)["time_in_force"] == "ioc"
    market = orjson.loads(g.new_order(_order(type="market", price=None, tif="IOC")).body)
    assert "price" not in market and "time_in_force" not in market and market["type"] == "market"
    with pytest.raises(InvalidOrder):
        g.new_order(_order(post_only=True))
    assert g.status("btc-usdt", "tw-1", None).path == "/v1/orders/client/tw-1"
    assert g.status("btc-usdt", "tw-1", "42").path == "/v1/orders/42"
    assert g.cancel("btc-usdt", None, "42").method == "DELETE"
    every = g.cancel_all("btc-usdt")
    assert every is not None and (every.path, orjson.loads(every.body)) == (
        "/v1/orders/cancel-all",
        {"symbol": "btc-usdt"},
    )
    assert g.kill_switch().path == "/v1/positions/close-all"
    assert g.fills("btc-usdt", 5).params == {"symbol": "btc-usdt", "since": "5"}
    assert g.balances().path == g.positions().path == "/v1/account"
    twap = g.twap("btc-usdt", "sell", Decimal("0.3"), 60.0, 6, "tw-2")
    assert (twap.path, orjson.loads(twap.body)) == (
        "/v1/orders/twap",
        {"symbol": "btc-usdt", "side": "sell", "quantity": "0.3", "duration_s": 60, "slices": 6,
         "client_order_id": "tw-2"},
    )  # fmt: skip


def test_answers_and_error_codes() -> None:
    g = clarofinlore.Orders()

    def err(status: int, code: int, msg: str = "x") -> bytes:
        return orjson.dumps({"code": code, "message": msg})

    assert g.read_answer(200, b'{"orders": [{"a": 1}]}') == [{"a": 1}]
    assert g.read_answer(200, b'{"leverage": "10", "positions": []}') == {"leverage": "10", "positions": []}
    with pytest.raises(InsufficientFunds) as e:
        g.read_answer(400, err(400, 1001, "insufficient margin"))
    assert e.value.code == 1001 and e.value.status == 400
    with pytest.raises(AuthError):
        g.read_answer(401, err(401, 4015))
    with pytest.raises(RateLimitError):
        g.read_answer(429, err(429, 429))
    with pytest.raises(OrderNotFound) as nf:
        g.read_answer(404, err(404, 404, "order not found"))
    assert g.not_found(nf.value)
    with pytest.raises(OrderRejected):
        g.read_answer(400, err(400, 400))
    with pytest.raises(UnknownOutcome):
        g.read_answer(503, b"<html>bad gateway</html>")
    order = {
        "order_id": "7", "client_order_id": "c", "symbol": "btc-usdt", "side": "sell", "type": "limit",
        "time_in_force": "ioc", "quantity": "0.3", "price": "60000.00", "filled": "0.2",
        "avg_price": "60000.5", "status": "expired", "ts": 5,
        "fills": [
            {"trade_id": "1", "price": "60001", "quantity": "0.1", "liquidity": "taker", "ts": 5},
            {"trade_id": "2", "price": "60000", "quantity": "0.1", "liquidity": "taker", "ts": 5},
        ],
    }  # fmt: skip
    state, *fills = g.read_order(order)
    assert (state.status, state.filled_cum, state.avg_price, state.tif) == (
        "expired", Decimal("0.2"), Decimal("60000.5"), "IOC",
    )  # fmt: skip
    assert [f.fill.trade_id for f in fills if f.fill] == ["1", "2"] and fills[0].status is None


def test_over_mutual_tls_13_with_a_client_certificate_and_refused_without_one(tmp_path: Path) -> None:
    """The documented TLS 1.3 with mutual authentication: the session's REST connection presents the
    client certificate from ``ssl_context``; without one the venue lets nothing through."""
    ca = Ca(tmp_path, "claro-ca")
    server = server_context(*ca.issue("server", server=True), client_ca=ca.certfile, tls13_only=True)
    cert, key = ca.issue("client", server=False)
    mutual = tls_context(cafile=ca.certfile, client_cert=cert, client_key=key, tls13_only=True)

    async def body(sim: Simulator, tr: clarofinlore.Session) -> None:
        assert sim.urls()[CLARO.venue][0]["rest"].startswith("https://")
        o = await CLARO.rest_below(sim, tr, 10)
        assert [x.client_id for x in CLARO.open(sim)] == [o.client_id]
        anonymous = tickwire.trade(
            CLARO.venue,
            credentials=CLARO.signer,
            endpoints=sim.urls()[CLARO.venue],
            ssl_context=tls_context(cafile=ca.certfile),
        )
        with pytest.raises(TransportError):
            await anonymous.start()
        await anonymous.close()
        assert len(CLARO.orders(sim)) == 1

    _run(body, {"tls": {CLARO.venue: server}}, ssl_context=mutual)


def test_more_than_three_failed_log_ins_in_a_minute_raise_one_alert_on_the_event_stream() -> None:
    """Someone tries the key with a wrong secret: the venue's security log (its own record) shows the
    failures, the watch reads them and puts exactly one alert on ``events()``."""
    from tickwire.transport.http import HttpClient
    from tickwire.venues.clarofinlore.security import SecurityAlert

    async def body(sim: Simulator, tr: clarofinlore.Session) -> None:
        intruder = clarofinlore.TokenAuth(clarofinlore.Signer(KEY, "not-the-secret"), tr.grammar.read_answer)
        _held = tr.events()  # events are queued from the first call on (held: one dropped keeps none)
        watch = tr.watch_security(every_s=0.05)
        async with HttpClient(sim.urls()[CLARO.venue][0]["rest"]) as http:
            for n in range(5):
                with pytest.raises(AuthError):
                    await intruder.ensure(http)
                await asyncio.sleep(0.15)
                if n < 3:
                    assert watch.alerts == []  # three in a minute is the document's tolerance
        venue_auth = sim.venue(CLARO.venue).auth  # type: ignore[attr-defined]
        failed = [e for e in venue_auth.security_log if e["api_key"] == KEY and e["event"] == "login_failed"]
        assert len(failed) == 5
        [alert] = watch.alerts
        assert isinstance(alert, SecurityAlert) and alert.failures == 4 and alert.limit == 3
        events = []
        [queue] = tr._events.live()
        while not queue.empty():
            events.append(queue.get_nowait())
        assert [v for k, v in events if k == "alert"] == [alert]

    _run(body)


def test_steady_traffic_across_several_short_token_lives_never_meets_a_refused_token() -> None:
    """3 s tokens, a request every 0.1 s for 7 s: each token is refreshed ahead of its expiry while
    requests keep flowing — the venue's own security log shows no refusal, every request succeeded."""

    async def body(sim: Simulator, tr: clarofinlore.Session) -> None:
        loop = asyncio.get_running_loop()
        end, done = loop.time() + 7.0, 0
        while loop.time() < end:
            await tr.open_orders(CLARO.symbol)
            done += 1
            await asyncio.sleep(0.1)
        venue_auth = sim.venue(CLARO.venue).auth  # type: ignore[attr-defined]
        assert [e for e in venue_auth.security_log if e["api_key"] == KEY] == []
        assert done > 40 and tr.auth.refreshes >= 2 and tr.auth.logins == 1

    _run(body, {"timeouts": {"token_ttl": 3.0}})
