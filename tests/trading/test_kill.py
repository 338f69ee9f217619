"""The kill switch (``TradingSession.kill``/``resume``) against the simulator, checked against the
simulator's own order list, positions and request log. (The venues' dead-man switches:
``test_deadman.py``.)"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from typing import Any

import pytest
from kill_cases import (
    SYMBOLS,
    on_two_symbols,
    open_at_venue,
    requests,
    rest_buy,
    run,
)
from session_cases import SimAccount, settle
from tickwire.audit import AuditLog
from tickwire.errors import RateLimitError, TradingHalted
from tickwire.limits import Limit
from tickwire.sim import Simulator
from tickwire.trading import kill as kill_module
from tickwire.trading.session import TradingSession

# kill ----------------------------------------------------------------------------------------------


BULK = {
    "binance": ("DELETE /api/v3/openOrders", 2),
    "okx": ("POST /api/v5/trade/cancel-batch-orders", 2),
    "kraken": ("POST /0/private/CancelAll", 1),
}


@pytest.mark.parametrize("venue", ["binance", "okx", "kraken"])
def test_kill_cancels_every_open_order_on_two_symbols(venue: str) -> None:
    """Binance: ``DELETE openOrders`` per symbol; OKX: batches of the listed orders; Kraken: one
    ``CancelAll`` for the account, confirmed order by order."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        placed = await on_two_symbols(sim, tr)
        assert len(open_at_venue(sim, venue)) == 4
        report = await tr.kill("test")
        assert open_at_venue(sim, venue) == []
        assert sorted(o.client_id for o in report.cancelled) == sorted(o.client_id for o in placed)
        assert report.complete and report.reason == "test"
        assert all(tr.tracker.get(o.client_id).status == "canceled" for o in placed)  # type: ignore[union-attr]
        op, times = BULK[venue]
        assert requests(sim, venue).count(op) == times

    run(venue, body)


def test_new_orders_after_kill_are_refused_and_nothing_is_sent_until_resume() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await rest_buy(sim, tr, "BTCUSDT")
        await tr.kill("drawdown")
        sent = len(sim.endpoint("binance", 0).exchanges)
        with pytest.raises(TradingHalted, match="drawdown") as e:
            await rest_buy(sim, tr, "ETHUSDT")
        assert e.value.reason == "drawdown"
        with pytest.raises(TradingHalted):
            await tr.amend_order("BTCUSDT", client_id=o.client_id, price=o.price)
        assert len(sim.endpoint("binance", 0).exchanges) == sent  # nothing reached the venue
        assert len(tr.tracker.open_orders()) == 0  # the refused intents were never tracked
        tr.resume()
        again = await rest_buy(sim, tr, "ETHUSDT")
        assert again.status == "new" and len(open_at_venue(sim, "binance")) == 1

    run("binance", body)


def test_resume_during_a_running_kill_is_refused_and_nothing_outlives_the_kill() -> None:
    """``resume()`` called while the kill waits for its listing of the open orders (the venue slowed
    to 0.3 s a request), then an order placed. Before: the resume was taken and the order went to
    the venue behind the listing while the kill was still cancelling (here its second listing
    cancelled it under the caller's feet; an order landing after that would have outlived a report
    saying complete)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        await rest_buy(sim, tr, "BTCUSDT")
        ep = sim.endpoint("binance", 0)
        ep.delay(0.3)
        killing = asyncio.create_task(tr.kill("drawdown"))
        await asyncio.sleep(0.05)  # the listing is on its way
        resumed = True
        try:
            tr.resume()
        except TradingHalted as e:
            resumed = False
            assert e.reason == "drawdown" and "kill is running" in str(e)
        placed = None
        with contextlib.suppress(TradingHalted):
            placed = await rest_buy(sim, tr, "ETHUSDT", 31)  # reaching the venue after the listing
        ep.delay(0)
        report = await killing
        left = open_at_venue(sim, "binance")
        assert not resumed and placed is None and left == [] and report.complete, (
            f"resume() during the kill taken: {resumed}, an order placed: {placed is not None}; "
            f"open at the venue after a kill reporting "
            f"complete={report.complete}: {[(o.symbol, o.qty) for o in left]}"
        )
        tr.resume()  # once it has returned
        assert (await rest_buy(sim, tr, "ETHUSDT")).status == "new"

    run("binance", body)


def test_kill_cancels_while_new_orders_are_rate_limited() -> None:
    """The account's order count is at its limit (10 per 10 s, one kept for cancels): a new order is
    refused by the budget at once, and the kill switch still cancels everything, with no 429."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        for i in range(9):
            await rest_buy(sim, tr, SYMBOLS["binance"][i % 2], 30 + i)
        with pytest.raises(RateLimitError):
            await rest_buy(sim, tr, "BTCUSDT")
        lanes: list[str] = []
        send = tr.wire.send

        async def recorded(call: Any, lane: Any = "query", **kw: Any) -> Any:
            lanes.append(lane)
            return await send(call, lane, **kw)

        tr.wire.send = recorded  # type: ignore[method-assign]
        report = await tr.kill("limit")
        assert lanes and set(lanes) == {"cancel"}  # every request of the kill may use the reserve
        assert open_at_venue(sim, "binance") == [] and len(report.cancelled) == 9 and report.complete
        assert not [op for _, op, status, _ in sim.endpoint("binance", 0).exchanges if status == 429]

    run("binance", body, {"order_limit_10s": 10}, rate_wait=0)


async def buy_by(path: str, sim: Simulator, tr: TradingSession) -> Any:
    """A Binance BTCUSDT buy 40 ticks under the best bid, by ``place_order`` or by a template."""
    if path == "place_order":
        return await rest_buy(sim, tr, "BTCUSDT", 40)
    t = tr.template("BTCUSDT", "buy")
    price = sim.book("binance", "BTCUSDT").bids[0][0] - 40 * tr.rules["BTCUSDT"].tick_size
    return await t.send(price, t.rules.min_qty * 100)


@pytest.mark.parametrize("path", ["place_order", "template"])
def test_an_order_waiting_for_budget_when_the_kill_is_thrown_is_never_written(path: str) -> None:
    """Orders at the budget's limit (here 3 a second, one kept for cancels): the next one waits for room.
    The kill switch is thrown during that wait and reports complete; when room comes the order is refused
    (``TradingHalted``), not written after the kill (before: placed a second later, left open)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tr.budget.set_limits([Limit("ORDERS", 3, 1.0, "account")], replace=True)
        for i in range(2):
            await rest_buy(sim, tr, "BTCUSDT", 30 + i)
        waiting = asyncio.ensure_future(buy_by(path, sim, tr))
        await asyncio.sleep(0.1)
        assert not waiting.done() and len(open_at_venue(sim, "binance")) == 2  # it waits for room
        report = await tr.kill("runaway")
        assert report.complete and len(report.cancelled) == 2
        with pytest.raises(TradingHalted):
            await waiting
        await asyncio.sleep(0.2)
        assert open_at_venue(sim, "binance") == [] and len(sim.venue("binance").engine.orders) == 2

    run("binance", body)


@pytest.mark.parametrize("path", ["place_order", "template"])
def test_an_order_the_kill_refused_after_its_budget_wait_leaves_the_budget_as_the_venue_counts(
    path: str,
) -> None:
    """As above (3 orders a second, one kept for cancels), the order waiting for room refused by the
    kill: it was never written, so once trading resumes the budget has room for as many orders as the
    venue's count leaves — two (before: the refused order's weight was taken when room came, and the
    second was refused ``RateLimitError`` though the venue had counted nothing in that second)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tr.budget.set_limits([Limit("ORDERS", 3, 1.0, "account")], replace=True)
        for i in range(2):
            await rest_buy(sim, tr, "BTCUSDT", 30 + i)
        tr.budget.max_wait_s = 5.0
        waiting = asyncio.ensure_future(buy_by(path, sim, tr))
        await asyncio.sleep(0.1)
        assert not waiting.done()  # it waits for room
        await tr.kill("runaway")
        with pytest.raises(TradingHalted):
            await waiting
        # The refusal comes as the kill is thrown, not when room came: the second in which the first
        # two count is let pass, past where room would have come for the refused one.
        await asyncio.sleep(1.2)
        tr.resume()
        tr.budget.max_wait_s = 0.0
        again = [await rest_buy(sim, tr, "BTCUSDT", 40 + i) for i in range(2)]
        assert [o.status for o in again] == ["new", "new"]
        orders = sim.venue("binance").engine.orders
        assert len(orders) == 4 and len(open_at_venue(sim, "binance")) == 2  # the refused one never came

    run("binance", body)


@pytest.mark.parametrize("path", ["place_order", "template"])
def test_an_order_whose_connection_is_opening_when_the_kill_is_thrown_is_never_written(path: str) -> None:
    """No idle kept-alive connection: the order's write waits for a fresh one (held here until the kill
    has begun, as a slow connect or TLS handshake would). The kill reports complete and the order is
    refused (``TradingHalted``) once its connection is up, not written (before: the halt was checked
    before the connect, so the order went out after the kill)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        await rest_buy(sim, tr, "BTCUSDT", 30)
        http = tr.wire.http
        assert http is not None
        while (idle := http.idle()) is not None:
            idle.close()
        opening, release = asyncio.Event(), asyncio.Event()
        original = http._open

        async def slow_open(loop: Any, deadline: float) -> Any:
            if not opening.is_set():  # only the order's: the kill's own requests connect at once
                opening.set()
                await release.wait()
            return await original(loop, deadline)

        http._open = slow_open  # type: ignore[method-assign]
        exchanges: list[tuple[str, str, int]] = []
        report = http._on_exchange
        assert report is not None

        def noted(method: str, target: str, status: int, elapsed: float) -> None:
            exchanges.append((method, target, status))
            report(method, target, status, elapsed)

        http._on_exchange = noted
        waiting = asyncio.ensure_future(buy_by(path, sim, tr))
        await asyncio.wait_for(opening.wait(), 5)
        kill = asyncio.ensure_future(tr.kill("runaway"))
        await asyncio.sleep(0)  # the kill has begun: the session is halted
        release.set()
        with pytest.raises(TradingHalted):
            await waiting
        done = await kill
        assert done.complete and len(done.cancelled) == 1
        await asyncio.sleep(0.2)
        assert open_at_venue(sim, "binance") == [] and len(sim.venue("binance").engine.orders) == 1
        # Not audited as an exchange without an answer (status 0), which reads like a lost order.
        assert not [x for x in exchanges if x[1] == "/api/v3/order" and x[0] == "POST"], exchanges

    run("binance", body, transport="rest")


def test_an_order_the_venue_takes_while_the_kill_runs_is_cancelled_too() -> None:
    """An order written just before the halt reaches the venue after the kill's first listing (here
    placed at the simulator between the cancels and the confirmation): the second listing finds it, it
    is cancelled too, and the report counts it."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        await on_two_symbols(sim, tr, each=1)
        original = kill_module.Kill.close_positions
        sent: list[Any] = []

        async def then_late(self: Any) -> Any:
            if not sent:  # one order (the kill closes positions again once it cancelled a late one)
                r = tr.rules["BTCUSDT"]
                price = sim.book("binance", "BTCUSDT").bids[0][0] - 50 * r.tick_size
                late = tr.prepare("BTCUSDT", "buy", "limit", r.min_qty * 100, price)
                # In flight before the halt.
                sent.append(await tr.send_lane(tr.grammar.new_order(late), "cancel"))
            return await original(self)

        kill_module.Kill.close_positions = then_late  # type: ignore[method-assign]
        try:
            report = await tr.kill("late")
        finally:
            kill_module.Kill.close_positions = original  # type: ignore[method-assign]
        assert open_at_venue(sim, "binance") == [] and len(sim.venue("binance").engine.orders) == 3
        assert report.complete and len(report.cancelled) == 3

    run("binance", body)


def test_an_order_whose_own_call_is_in_flight_when_the_kill_is_thrown_is_waited_for_and_cancelled() -> None:
    """Placed by its own call before the halt, it reaches the venue's engine after the kill's second
    listing (that one request is slow): the kill waits for the call to end, cancels what it made,
    and a complete report means nothing is open at the venue."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        r = tr.rules["BTCUSDT"]
        price = sim.book("binance", "BTCUSDT").bids[0][0] - 50 * r.tick_size
        ep = sim.endpoint("binance", 0)
        ep.delay(0.5)  # this one request takes 0.5 s to reach the matching engine
        placing = asyncio.create_task(tr.place_order("BTCUSDT", "buy", "limit", r.min_qty * 100, price))
        await asyncio.sleep(0.05)  # written, not yet processed by the venue
        ep.delay(0)
        report = await tr.kill("risk limit")
        placed = await placing  # as its answer had it: working
        assert tr.tracker.get(placed.client_id).status == "canceled"  # type: ignore[union-attr]
        assert report.complete and [o.client_id for o in report.cancelled] == [placed.client_id]
        assert open_at_venue(sim, "binance") == [] and len(sim.venue("binance").engine.orders) == 1

    run("binance", body)


def test_kill_cancels_over_rest_while_the_order_socket_is_down() -> None:
    """Every WebSocket of the venue is cut and refused from then on — the order socket, the private
    stream, market data alike — and the kill switch still cancels everything over REST."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.orders_ws is not None and tr.orders_ws.connected
        await on_two_symbols(sim, tr)
        assert "POST /api/v3/order" not in requests(sim, "binance")  # placed over the socket
        v = sim.venue("binance")
        v.accept = lambda conn: (503, b"down")  # type: ignore[method-assign]  # it stays down
        sim.endpoint("binance", 0).drop()
        await settle(lambda: tr.orders_ws is not None and not tr.orders_ws.connected, "the socket down")
        assert tr.stream is not None and not tr.stream.connected
        report = await tr.kill("socket down")
        assert open_at_venue(sim, "binance") == [] and len(report.cancelled) == 4 and report.complete
        assert requests(sim, "binance").count("DELETE /api/v3/openOrders") == 2

    run("binance", body, transport="auto")


def test_kill_closes_usdm_positions_with_reduce_only_market_orders() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        await tr.place_order("BTCUSDT", "buy", "market", "0.01")
        await tr.place_order("ETHUSDT", "sell", "market", "0.1")
        await on_two_symbols(sim, tr, each=1)
        engine = sim.venue("binance-usdm").engine
        assert engine.position("kill-usdm", "BTCUSDT") != 0 and engine.position("kill-usdm", "ETHUSDT") != 0
        report = await tr.kill("flatten")
        assert engine.position("kill-usdm", "BTCUSDT") == 0 and engine.position("kill-usdm", "ETHUSDT") == 0
        assert open_at_venue(sim, "binance-usdm") == [] and len(report.cancelled) == 2
        assert sorted((o.symbol, o.side, o.reduce_only, o.status) for o in report.closing) == [
            ("BTCUSDT", "sell", True, "filled"),
            ("ETHUSDT", "buy", True, "filled"),
        ]
        assert report.positions == () and report.complete

    run("binance-usdm", body)


def test_a_market_order_in_flight_when_the_kill_is_thrown_leaves_no_position() -> None:
    """The market order's request is slow to reach the engine (0.5 s): it fills there after the kill
    closed the positions. The kill waits for its call, then closes what it opened; a complete report
    means the simulator's position is flat (before: left open under a complete report, positions ())."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        engine = sim.venue("binance-usdm").engine
        ep = sim.endpoint("binance-usdm", 0)
        ep.delay(0.5)
        placing = asyncio.create_task(tr.place_order("BTCUSDT", "buy", "market", "0.01"))
        await asyncio.sleep(0.05)  # written, not yet processed by the venue
        ep.delay(0)
        report = await tr.kill("flatten")
        placed = await placing
        assert placed.status == "filled"  # it traded at the venue
        assert engine.position("kill-usdm", "BTCUSDT") == 0, (report.positions, report.closing)
        assert [(o.side, o.reduce_only, o.status) for o in report.closing] == [("sell", True, "filled")]
        assert report.positions == () and report.complete

    run("binance-usdm", body)


def test_kill_closes_clarofinlore_positions_with_its_close_all() -> None:
    a: SimAccount = importlib.import_module("test_session_clarofinlore").CLARO

    async def body(sim: Simulator, tr: TradingSession) -> None:
        await tr.place_order(a.symbol, "buy", "market", "0.5")
        await a.rest_below(sim, tr, 20)
        engine = sim.venue(a.venue).engine
        assert engine.position(a.key, a.symbol) != 0
        report = await tr.kill("flatten")
        assert engine.position(a.key, a.symbol) == 0 and a.open(sim) == []
        assert [(o.side, o.status) for o in report.closing] == [("sell", "filled")]
        assert len(report.cancelled) == 1 and report.positions == () and report.complete
        assert "POST /v1/positions/close-all" in requests(sim, a.venue)

    a.run(body)


def test_kill_is_audited_step_by_step(tmp_path: Any) -> None:
    path = tmp_path / "audit.jsonl"

    async def body(sim: Simulator, tr: TradingSession) -> None:
        await on_two_symbols(sim, tr, each=1)
        await tr.kill("audit me")
        with pytest.raises(TradingHalted):
            await rest_buy(sim, tr, "BTCUSDT")
        tr.resume()

    audit = AuditLog(str(path))
    run("binance", body, audit=audit)
    audit.close()
    text = path.read_text()
    for kind in ("kill", "kill_targets", "kill_cancel", "kill_done", "halted_refusal", "resume"):
        assert f'"{kind}"' in text, kind
    assert "kill-secret" not in text


# every venue ---------------------------------------------------------------------------------------

EVERY_VENUE = [
    ("test_session_binance", "BINANCE"),
    ("test_session_usdm", "USDM"),
    ("test_session_okx", "OKX"),
    ("test_session_bybit", "BYBIT"),
    ("test_session_kraken", "KRAKEN"),
    ("test_session_coinbase", "COINBASE"),
    ("test_session_htx", "HTX"),
    ("test_session_clarofinlore", "CLARO"),
    ("test_session_tradefence", "TRADEFENCE"),
]


@pytest.mark.parametrize(("module", "name"), EVERY_VENUE, ids=[m for _, m in EVERY_VENUE])
def test_kill_leaves_nothing_open_on_every_venue(module: str, name: str) -> None:
    """The shared accounts of ``session_cases``: two resting orders, then the kill switch; the
    simulator's order list has none open and the report confirms both."""
    a: SimAccount = getattr(importlib.import_module(module), name)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        placed = [await a.rest_below(sim, tr, 20), await a.rest_below(sim, tr, 21)]
        assert len(a.open(sim)) == 2
        report = await tr.kill("every venue")
        assert a.open(sim) == []
        assert sorted(o.client_id for o in report.cancelled) == sorted(o.client_id for o in placed)
        assert report.complete, report
        with pytest.raises(TradingHalted):
            await a.rest_below(sim, tr, 22)

    a.run(body)
