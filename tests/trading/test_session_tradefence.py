"""``tickwire.trade("tradefence")`` against the simulator: the shared cases (``session_cases``), every
session opened with the OAuth code flow captured on a loopback redirect; Tradefence's own batch, AI
recommendations and account; the webhook receiver fed by the simulator's own webhook sender."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
import tickwire
from session_cases import Body, SessionCases, SimAccount, settle
from tickwire.bus.server import free_port
from tickwire.errors import (
    AuthError,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    OrderRejected,
    RateLimitError,
    UnknownOutcome,
)
from tickwire.sim import Simulator
from tickwire.trading.orders import Order
from tickwire.trading.session import TradingSession
from tickwire.trading.venue import Call
from tickwire.transport.http import HttpClient
from tickwire.venues import tradefence

CID, SECRET = "tf-client", "tf-client-secret"
# The signer's callback server binds this port when a test runs, minutes after the import: below the
# ephemeral range, so no outgoing connection takes it meanwhile.
REDIRECT = f"http://127.0.0.1:{free_port()}/callback"


async def follow(url: str) -> None:
    """The user's browser: asks for the authorization (the simulator consents at once) and follows
    its redirect to the loopback URI, where the signer captures the code."""
    u = urlsplit(url)
    async with HttpClient(f"{u.scheme}://{u.netloc}") as http:
        r = await http.get(u.path, query=u.query)
    assert r.status == 302, r.status
    loc = urlsplit(r.headers["location"])
    async with HttpClient(f"{loc.scheme}://{loc.netloc}") as http:
        assert (await http.get(loc.path, query=loc.query)).status == 200


@dataclass(frozen=True)
class OAuthAccount(SimAccount):
    """A Tradefence account: the session's bearer token comes from the code flow against this
    simulator (its URL is known only once it runs)."""

    def run(self, body: Body, **trade_kw: Any) -> None:
        async def go() -> None:
            async with Simulator([self.venue], seed=31, rate=0, depth=20, **self.sim_kw(trade_kw)) as sim:
                self.register(sim.venue(self.venue))
                sim.fund(self.venue, self.key, self.funds)
                signer = tradefence.Signer(
                    CID, SECRET, redirect_uri=REDIRECT, auth_url=sim.urls()[self.venue][0]["rest"]
                )
                await signer.authorize(follow)
                async with tickwire.trade(
                    self.venue, credentials=signer, endpoints=sim.urls()[self.venue], **trade_kw
                ) as tr:
                    await body(sim, tr)

        asyncio.run(go())

    @staticmethod
    def sim_kw(trade_kw: dict[str, Any]) -> dict[str, Any]:
        """Simulator options passed through ``run``: ``sim_timeouts``, ``sim_profile``."""
        out: dict[str, Any] = {}
        if timeouts := trade_kw.pop("sim_timeouts", None):
            out["timeouts"] = timeouts
        if profile := trade_kw.pop("sim_profile", None):
            out["profiles"] = {"tradefence": profile}
        return out


TRADEFENCE = OAuthAccount(
    venue="tradefence",
    symbol="AAPL",
    key=CID,
    signer=None,
    register=lambda v: v.add_client(CID, SECRET, REDIRECT),
    place_op="POST /v1/orders",
    unknown_symbol="NOPE",
    # The shared cases size their refusal from "BTC" and check BTC and USDT balances: they are held
    # here untouched, next to the USD and AAPL that trade (checked in this module's own tests).
    funds={"USD": "1000000", "AAPL": "100", "BTC": "100", "USDT": "0"},
)


class TestTradefence(SessionCases):
    acct = TRADEFENCE


def _order(**kw: Any) -> Order:
    base: dict[str, Any] = dict(venue="tradefence", symbol="AAPL", side="buy", type="limit", qty=Decimal(100),
                                price=Decimal("150.50"), client_id="tw-abc1")  # fmt: skip
    return Order(**(base | kw))


# requests and answers --------------------------------------------------------------------------


def test_requests_are_the_documented_ones() -> None:
    g = tradefence.Orders()
    placed = g.new_order(_order())
    assert (placed.method, placed.path, placed.params) == ("POST", "/v1/orders", {})
    # The document's example, field for field and in its order; numbers as exact number literals.
    assert placed.body == (
        '{"symbol":"AAPL","type":"LIMIT","side":"BUY","quantity":100,"price":150.5,"strategy":"tw-abc1"}'
    )
    market = orjson.loads(
        g.new_order(_order(type="market", side="sell", price=None, qty=Decimal("1E+1"))).body
    )
    assert market == {
        "symbol": "AAPL",
        "type": "MARKET",
        "side": "SELL",
        "quantity": 10,
        "strategy": "tw-abc1",
    }
    assert orjson.loads(g.new_order(_order(tif="IOC")).body)["time_in_force"] == "IOC"
    with pytest.raises(InvalidOrder):
        g.new_order(_order(post_only=True))
    # Unknown venue id: the order is looked up by its tag, closed orders included.
    st = g.status("AAPL", "tw-abc1", None)
    assert (st.method, st.path, dict(st.params)) == (
        "GET", "/v1/orders", {"status": "ALL", "symbol": "AAPL", "strategy": "tw-abc1"},
    )  # fmt: skip
    with pytest.raises(OrderNotFound):
        g.cancel("AAPL", "tw-abc1", None)  # nothing to name it by: no request
    answer = {"id": "7", "symbol": "AAPL", "type": "LIMIT", "side": "BUY", "quantity": "100",
              "price": "150.50", "strategy": "tw-abc1", "filled_quantity": "0", "status": "NEW",
              "fills": []}  # fmt: skip
    [ev] = g.read_order(answer)
    assert (ev.client_id, ev.order_id, ev.status, ev.price) == ("tw-abc1", "7", "new", Decimal("150.50"))
    assert g.status("AAPL", "tw-abc1", None).path == "/v1/orders/7"  # learnt from the answer
    cancel = g.cancel("AAPL", "tw-abc1", None)
    assert (cancel.method, cancel.path) == ("POST", "/v1/batch")
    assert orjson.loads(cancel.body) == {
        "operations": [{"action": "CANCEL_ORDER", "data": {"order_id": "7"}}]
    }
    assert g.cancel_all("AAPL") is None
    assert [orjson.loads(c.body)["operations"] for c in g.cancel_orders("AAPL", [_order(order_id="8")])] == [
        [{"action": "CANCEL_ORDER", "data": {"order_id": "8"}}]
    ]
    assert g.open_orders(None).params == {"status": "OPEN"}
    assert g.instruments().signed is False and g.balances().path == "/v1/account"


@pytest.mark.parametrize(
    "status,code,error",
    [
        (401, 1001, AuthError),
        (400, 1002, InsufficientFunds),
        (400, 1003, OrderRejected),
        (400, 1004, OrderRejected),
        (429, 2001, RateLimitError),
        (404, 404, OrderNotFound),
        (503, None, UnknownOutcome),
    ],
)
def test_documented_error_codes_are_typed(status: int, code: int | None, error: type[Exception]) -> None:
    g = tradefence.Orders()
    body = orjson.dumps({"code": code, "message": "x"}) if code else b"<html>busy</html>"
    with pytest.raises(error):
        g.read_answer(status, body)
    batch = [{"action": "CANCEL_ORDER", "status": status, "result": {"code": code, "message": "x"}}]
    if code:
        with pytest.raises(error):
            g.read_order(g.read_answer(200, orjson.dumps({"results": batch})))


# the session's own operations ------------------------------------------------------------------


def _sim_state(sim: Simulator, tr: TradingSession) -> list[tuple[str, str, Decimal]]:
    """(client id, status, filled) of every tagged order the simulator holds, each checked against the
    tracker's view (an untagged one is a position update's own market order)."""
    out = []
    for o in [o for o in TRADEFENCE.orders(sim) if o.client_id != f"sim-{o.id}"]:
        mine = tr.tracker.get(o.client_id)
        assert mine is not None, o
        assert (mine.status, mine.filled) == (o.status.lower(), Decimal(o.filled)), (mine, o)
        out.append((o.client_id, mine.status, mine.filled))
    return out


def test_account_balances_and_positions_agree_with_the_ledger() -> None:
    a = TRADEFENCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        usd = a.free(sim, "USD")
        o = await tr.place_order(a.symbol, "buy", "market", Decimal(3))
        assert o.status == "filled" and o.filled == 3 and o.avg_price is not None
        assert a.free(sim, "USD") == usd - 3 * o.avg_price  # what the ledger took, at the stated price
        acct = await tradefence.account(tr)
        for asset in ("USD", "AAPL"):
            assert acct.balances[asset].free == a.free(sim, asset)
        assert acct.balances["AAPL"].free == Decimal(a.funds["AAPL"]) + 3
        engine = sim.venue(a.venue).engine
        assert acct.positions == {
            "AAPL": tradefence.Position("AAPL", Decimal(engine.position(a.key, a.symbol)))
        }
        assert await tr.positions() == acct.positions

    a.run(body)


def test_batch_creates_cancels_and_updates_a_position_as_the_simulator_shows() -> None:
    a = TRADEFENCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        first = await a.rest_below(sim, tr, 20)
        bid, _ = a.touch(sim)
        new = tr.prepare(a.symbol, "buy", "limit", Decimal(2), bid - Decimal("0.10"))
        results = await tradefence.batch(
            tr,
            [
                tradefence.CreateOrder(new),
                tradefence.CancelOrder(client_id=first.client_id),
                tradefence.UpdatePosition(a.symbol, Decimal(4)),
                tradefence.CancelOrder(order_id=first.order_id),  # already cancelled just above
            ],
        )
        assert [r.action for r in results] == [
            "CREATE_ORDER",
            "CANCEL_ORDER",
            "UPDATE_POSITION",
            "CANCEL_ORDER",
        ]
        created, cancelled, moved, again = results
        [theirs] = a.orders(sim, new.client_id)
        assert created.ok and created.order is not None and created.order.order_id == str(theirs.id)
        assert theirs.open and tr.tracker.get(new.client_id) == created.order
        assert cancelled.order is not None and cancelled.order.status == "canceled"
        assert not a.orders(sim, first.client_id)[0].open
        assert moved.position == tradefence.Position(a.symbol, Decimal(4))
        assert sim.venue(a.venue).engine.position(a.key, a.symbol) == 4
        assert moved.order is not None and moved.order.status == "filled" and moved.order.filled == 4
        assert isinstance(again.error, OrderRejected) and again.status == 400 and not again.ok
        _sim_state(sim, tr)
        with pytest.raises(InvalidOrder):  # checked before sending: nothing more at the venue
            await tradefence.batch(tr, [tradefence.UpdatePosition(a.symbol, Decimal("0.5"))])
        assert sim.venue(a.venue).engine.position(a.key, a.symbol) == 4

    a.run(body)


def test_a_lost_batch_answer_is_reconciled_per_created_order_and_not_resent() -> None:
    a = TRADEFENCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        bid, _ = a.touch(sim)
        orders = [tr.prepare(a.symbol, "buy", "limit", Decimal(1), bid - Decimal(i) / 10) for i in (1, 2)]
        sim.endpoint(a.venue, 0).lose_answer("POST /v1/batch")
        with pytest.raises(UnknownOutcome):
            await tradefence.batch(tr, [tradefence.CreateOrder(o) for o in orders])
        assert sim.endpoint(a.venue, 0).lost == ["POST /v1/batch"]
        assert len(a.orders(sim)) == 2  # placed once each, found, not resent
        for o in orders:
            [theirs] = a.orders(sim, o.client_id)
            mine = tr.tracker.get(o.client_id)
            assert mine is not None and mine.status == "new" and mine.order_id == str(theirs.id)

    a.run(body, timeout=1.0)


def test_an_order_the_venue_takes_late_is_found_not_called_not_placed() -> None:
    """Tradefence bounds no request's life. The venue handles the place 1.2 s after it arrives (its
    queue), past the session's 0.5 s time-out: reconciliation waits the session's
    ``lost_order_wait_s`` (2 s here) from the loss before calling the order absent, looks once more
    and finds it — the caller gets the order, the venue holds it once. Before, "not placed" came
    after ~0.6 s of queries (``TransportError: tradefence: order … was not placed``) and the venue
    placed it a moment later: an order its caller was told to send again (stop 51's randomized test,
    with a batch)."""
    a = TRADEFENCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.request_window_s() is None
        await a.place_taken_late(sim, tr)

    a.run(body, private_stream=False, timeout=0.5, lost_order_wait_s=2)


def test_ai_recommendations_are_typed_and_priced_at_the_simulators_mid() -> None:
    a = TRADEFENCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        recs = await tradefence.recommendations(tr, ["AAPL", {"symbol": "GOOGL"}], "AGGRESSIVE", "30_DAYS")
        assert (recs.risk_tolerance, recs.time_horizon) == ("AGGRESSIVE", "30_DAYS")
        assert [r.symbol for r in recs.items] == ["AAPL", "GOOGL"]
        for r in recs.items:
            book = sim.book(a.venue, r.symbol, 1)
            assert r.price == (book.bids[0][0] + book.asks[0][0]) / 2
            assert r.action in ("BUY", "SELL", "HOLD") and Decimal(0) <= r.confidence <= 1
        with pytest.raises(InvalidOrder):
            await tradefence.recommendations(tr, ["NOPE"])
        with pytest.raises(InvalidOrder):
            await tradefence.recommendations(tr, ["AAPL"], "RECKLESS")  # type: ignore[arg-type]
        with pytest.raises(InvalidOrder):
            await tradefence.recommendations(tr, ["AAPL"], "MODERATE", "a month")

    a.run(body)


# OAuth -----------------------------------------------------------------------------------------


def test_oauth_refreshes_before_expiry_and_refuses_without_a_token() -> None:
    async def go() -> None:
        async with Simulator(["tradefence"], rate=0, timeouts={"token_ttl": 1.0}) as sim:
            sim.venue("tradefence").add_client(CID, SECRET, REDIRECT)  # type: ignore[attr-defined]
            base = sim.urls()["tradefence"][0]["rest"]
            seen: list[tradefence.Tokens] = []
            s = tradefence.Signer(CID, SECRET, redirect_uri=REDIRECT, auth_url=base, on_tokens=seen.append)
            assert SECRET not in repr(s)
            with pytest.raises(AuthError):
                s.sign_request("GET", "/v1/account")  # not authorized yet: nothing to send
            await s.authorize(follow)
            first = s.sign_request("GET", "/v1/account").headers["Authorization"]
            assert first == f"Bearer {seen[0].access_token}" and seen[0].access_token not in repr(seen[0])
            await asyncio.sleep(0.85)  # past REFRESH_AT of the token's life: signing refreshes it
            s.sign_request("GET", "/v1/account")
            await settle(lambda: len(seen) == 2, "the background refresh")
            await asyncio.sleep(0.3)  # the first token has expired at the venue
            headers = s.sign_request("GET", "/v1/account").headers
            assert headers["Authorization"] != first
            async with HttpClient(base) as http:
                assert (await http.get("/v1/account", headers=headers)).status == 200
                assert (await http.get("/v1/account", headers={"Authorization": first})).status == 401
            bad = tradefence.Signer(CID, "wrong", redirect_uri=REDIRECT, auth_url=base)
            with pytest.raises(AuthError) as e:
                await bad.authorize(follow)
            assert "wrong" not in str(e.value)
            # A stored refresh token (from the environment, say) is enough to start from; it is
            # single use at the venue, so the one just rotated by the refresh above is what is stored.
            stored = seen[-1].refresh_token
            later = tradefence.Signer(CID, SECRET, auth_url=base, refresh_token=stored)
            await later.ensure_token()
            async with HttpClient(base) as http:
                r = await http.get("/v1/account", headers=later.sign_request("GET", "/v1/account").headers)
                assert r.status == 200
            with pytest.raises(AuthError):
                await tradefence.Signer(CID, SECRET, auth_url=base).ensure_token()

    asyncio.run(go())


# webhooks --------------------------------------------------------------------------------------

HOOKS = {
    "sim_timeouts": {"webhook_retry": 0.01, "webhook_timeout": 1.0},
    "sim_profile": {"webhook_retries": 2},
}


async def _rest_inside(sim: Simulator, tr: TradingSession, qty: Decimal) -> Order:
    """A buy that becomes the best bid alone, so that the next market sell of ``qty`` fills it."""
    a = TRADEFENCE
    bid, ask = a.touch(sim)
    tick = tr.rules[a.symbol].tick_size
    assert ask - bid > tick, "the spread leaves room for a bid of our own"
    return await tr.place_order(a.symbol, "buy", "limit", qty, bid + tick)


def _market_fills(sim: Simulator, order: Order) -> None:
    """Moves the simulated market (other participants trade on the book) until ``order`` is filled."""
    [theirs] = TRADEFENCE.orders(sim, order.client_id)
    for _ in range(20_000):
        if theirs.status == "FILLED":
            return
        sim.advance(1, TRADEFENCE.venue, TRADEFENCE.symbol)
    raise AssertionError(f"the market never filled {theirs}")


def _drain(tr: TradingSession) -> list[tuple[str, Any]]:
    """What ``events()`` has queued (the test's body asked for it first)."""
    out = []
    [queue] = tr._events.live()  # events() was asked for, once
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


def with_receiver(secret: str, signing: list[str], check: Any) -> None:
    """Runs ``check(sim, tr, rx, hooks)`` with a receiver for ``secret`` registered once per entry of
    ``signing`` (the secret the simulator signs that registration's deliveries with)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        _held = (
            tr.events()
        )  # events are queued from the first call on: ``_drain`` reads them (held: one dropped keeps none)
        rx = await tr.grammar.webhook_receiver(tr, secret=secret).start("127.0.0.1", 0)  # type: ignore[attr-defined]
        try:
            for key in signing:
                await rx.register(tr, secret=key)
            await check(sim, tr, rx, sim.venue(TRADEFENCE.venue).hooks)
        finally:
            await rx.close()

    TRADEFENCE.run(body, **HOOKS)


def test_signed_webhooks_feed_the_tracker_and_the_event_stream_once_each() -> None:
    a = TRADEFENCE

    async def check(sim: Simulator, tr: TradingSession, rx: tradefence.WebhookReceiver, hooks: Any) -> None:
        o = await _rest_inside(sim, tr, Decimal(3))
        assert o.status == "new"
        _market_fills(sim, o)  # at the venue: only the webhook can tell us
        [theirs] = a.orders(sim, o.client_id)
        assert theirs.status == "FILLED"
        await settle(lambda: tr._current(o.client_id).status == "filled", "order.filled applied")
        mine = tr._current(o.client_id)
        assert mine.filled == 3 and mine.order_id == str(theirs.id)
        fills = [v for k, v in _drain(tr) if k == "fill"]
        assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
        # Close the position over REST: the answer and the webhook both carry the fills.
        seen: list[Any] = []
        tr._user_on_fill = seen.append
        close = await tr.place_order(a.symbol, "sell", "market", Decimal(3))
        assert close.status == "filled"
        # An alert the next book change triggers: the best bid is above it.
        bid, _ = a.touch(sim)
        alert = {"symbol": a.symbol, "condition": "price_above", "price": str(bid - 1)}
        await tr.send(Call("POST", "/v1/alerts", body=orjson.dumps(alert).decode()))
        last = await tr.place_order(a.symbol, "buy", "market", Decimal(1))
        await settle(lambda: len(hooks.deliveries) == 2 * 5 and rx.received == 10, "every delivery")
        await settle(lambda: all(d.get("status") == 200 for d in hooks.deliveries), "every answer")
        kinds = sorted(d["type"] for d in hooks.deliveries[::2])
        assert kinds == ["alert.triggered"] + ["order.filled"] * 3 + ["position.closed"]
        events = _drain(tr)
        [closed] = [v for k, v in events if k == "position"]
        assert closed == tradefence.PositionClosed(
            closed.event_id, a.symbol, Decimal(3), close.order_id, closed.created_ms
        )
        [got] = [v for k, v in events if k == "alert"]
        assert (got.symbol, got.condition, got.price) == (a.symbol, "price_above", bid - 1)
        assert got.bid is not None and got.bid >= got.price
        # Each event applied once, its copy answered 200 and dropped; no fill counted twice.
        assert (rx.applied, rx.duplicates, rx.refused) == (5, 5, 0)
        theirs_fills = [f for x in (close, last) for f in a.orders(sim, x.client_id)[0].fills]
        assert sorted(f.trade_id for f in seen) == sorted(str(f.trade_id) for f in theirs_fills)
        assert all(d["attempts"] == 1 for d in hooks.deliveries)
        _sim_state(sim, tr)

    # Two registrations of one URL: every event arrives twice, with one id.
    with_receiver("whsec", ["whsec", "whsec"], check)


def test_a_bad_signature_is_refused_with_401_and_nothing_is_applied() -> None:
    a = TRADEFENCE

    async def check(sim: Simulator, tr: TradingSession, rx: tradefence.WebhookReceiver, hooks: Any) -> None:
        o = await _rest_inside(sim, tr, Decimal(2))
        _market_fills(sim, o)
        assert a.orders(sim, o.client_id)[0].status == "FILLED"
        # The first try and webhook_retries (2) retries, each refused; the sender then gives up.
        await settle(lambda: rx.refused == 3, "every attempt refused")
        await settle(lambda: not hooks._tasks, "the sender gives up")
        assert [(d["attempts"], d["status"]) for d in hooks.deliveries] == [(3, 401)] and rx.applied == 0
        assert tr._current(o.client_id).status == "new" and tr._current(o.client_id).filled == 0
        assert [k for k, _ in _drain(tr) if k not in ("order",)] == []
        # The same delivery with the right signature is applied (the receiver lost nothing it took).
        ok = _signed_post(rx, "right", hooks, sim)
        assert await ok == 200
        assert tr._current(o.client_id).status == "filled" and rx.applied == 1

    with_receiver("right", ["wrong"], check)


async def _signed_post(rx: tradefence.WebhookReceiver, secret: str, hooks: Any, sim: Simulator) -> int:
    """Re-sends the simulator's first event as its sender does, signed with ``secret``."""
    event_id = hooks.deliveries[0]["event"]
    [order] = [o for o in TRADEFENCE.orders(sim) if o.client_id != f"sim-{o.id}"]
    event = {"id": event_id, "type": "order.filled", "created": 1, "data": hooks.order_json(order)}
    raw = orjson.dumps(event)
    sig = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    u = urlsplit(rx.url)
    async with HttpClient(f"http://{u.netloc}") as http:
        r = await http.post(u.path, body=raw, headers={"X-Tradefence-Signature": sig})
    return r.status


def test_the_session_runs_and_registers_the_receiver_when_asked() -> None:
    """``tickwire.trade("tradefence", webhook=(host, port), webhook_secret=...)``: the session starts the
    receiver, registers it with the venue, and a fill only the venue saw reaches the tracker."""
    a = TRADEFENCE
    secret = "hook-secret"

    async def body(sim: Simulator, tr: TradingSession) -> None:
        rx = tr.channels.webhook
        assert rx is not None and sim.venue(a.venue).hooks  # type: ignore[attr-defined]
        o = await _rest_inside(sim, tr, Decimal(2))
        _market_fills(sim, o)
        await settle(lambda: tr._current(o.client_id).status == "filled", "order.filled applied")
        [theirs] = a.orders(sim, o.client_id)
        assert tr._current(o.client_id).filled == theirs.filled == 2

    a.run(body, webhook=("127.0.0.1", 0), webhook_secret=secret, **HOOKS)
