"""An order whose call its caller cancelled (``asyncio.wait_for`` running out, a task cancelled) before
the venue's answer was applied: settled by reconciliation — never left pending, never sent again —
and waited for by the kill switch. Checked against the simulator's own order list and request log.

The venue's engine is made slow to take a request with ``delay`` (every REST request arriving while
it is set waits that long before the venue handles it): the call is cancelled after its bytes went
out and before the venue took the order, the case in which nobody can know yet what the venue will do.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import pytest
import tickwire
from kill_cases import funded, open_at_venue, requests, rest_buy, run
from session_cases import settle
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession
from tickwire.venues import binance

SLOW_S = 0.4  # how long the venue takes to handle the order's request


def run_short_window(body: Any) -> None:
    """``body`` with a Binance spot session whose requests carry a ``recvWindow`` of 1 s: the venue
    can no longer take a request 1 s after it was signed, so reconciliation concludes that soon."""

    async def go() -> None:
        async with funded("binance") as sim:
            signer = binance.Signer("kill-key", "kill-secret", recv_window=1000)
            async with tickwire.trade("binance", credentials=signer, endpoints=sim.urls()["binance"]) as tr:
                await body(sim, tr)

    asyncio.run(go())


async def sent_then_cancelled(sim: Simulator, tr: TradingSession, path: str) -> str:
    """A BTCUSDT buy 50 ticks under the best bid, by ``path``, its call cancelled once its request is
    out and before the venue took it. Returns its client id."""
    r = tr.rules["BTCUSDT"]
    price = sim.book("binance", "BTCUSDT").bids[0][0] - 50 * r.tick_size
    ep = sim.endpoint("binance", 0)
    ep.delay(SLOW_S)
    if path == "place_order":
        call: asyncio.Future[Any] = asyncio.ensure_future(
            tr.place_order("BTCUSDT", "buy", "limit", r.min_qty * 100, price)
        )
    else:
        call = tr.template("BTCUSDT", "buy").send(price, r.min_qty * 100)
    await settle(lambda: "POST /api/v3/order" in ep.handling(), "the request at the venue")
    ep.delay(0)
    (pending,) = [o for o in tr.tracker.open_orders() if o.status == "pending"]
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert open_at_venue(sim, "binance") == []  # not taken yet: nobody knows its fate
    return pending.client_id


@pytest.mark.parametrize("path", ["place_order", "template"])
def test_an_order_whose_call_was_cancelled_once_it_went_out_is_settled_as_the_venue_has_it(path: str) -> None:
    """The private stream is stalled (it would tell otherwise). The order is tracked as the venue
    took it (working, its order id), the simulator got one request for it, and the risk limits count
    it once, as the simulator does (before: left ``pending`` until the stream spoke, counted open
    whatever the venue did)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.endpoint("binance", 0).stall()
        cid = await sent_then_cancelled(sim, tr, path)
        await settle(lambda: getattr(tr.tracker.get(cid), "status", None) == "new", "the order settled", 5)
        (theirs,) = open_at_venue(sim, "binance")
        o = tr.tracker.get(cid)
        assert o is not None and theirs.client_id == cid and o.order_id == str(theirs.id)
        assert requests(sim, "binance").count("POST /api/v3/order") == 1  # never sent again
        assert tr.risk.exposure("BTCUSDT")["open_orders"] == 1
        await tr.cancel_order("BTCUSDT", client_id=cid)
        assert tr.risk.exposure("BTCUSDT")["open_orders"] == 0 and open_at_venue(sim, "binance") == []

    run("binance", body)


def test_an_order_whose_call_was_cancelled_and_which_the_venue_refused_is_not_left_open() -> None:
    """A sell of 140 BTC from an account holding 100: the venue refuses it, and a refusal reaches no private
    stream. Once the venue can no longer take the request (its ``recvWindow``, 1 s here) and has no
    trace of it, the order is recorded not placed and counted by nothing (before: ``pending`` for
    the session's life, one of the symbol's open orders)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        price = sim.book("binance", "BTCUSDT").asks[0][0] + 50 * tr.rules["BTCUSDT"].tick_size
        ep = sim.endpoint("binance", 0)
        ep.delay(SLOW_S)
        call = asyncio.ensure_future(tr.place_order("BTCUSDT", "sell", "limit", Decimal(140), price))
        await settle(lambda: "POST /api/v3/order" in ep.handling(), "the request at the venue")
        ep.delay(0)
        (pending,) = tr.tracker.open_orders()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        cid = pending.client_id
        await settle(lambda: (o := tr.tracker.get(cid)) is not None and not o.is_open, "the order settled", 5)
        assert tr.tracker.get(cid).status == "rejected"  # type: ignore[union-attr]
        assert [s for _, op, s, _ in ep.exchanges if op == "POST /api/v3/order"] == [400]  # refused, once
        assert tr.tracker.open_orders() == [] and tr.risk.exposure("BTCUSDT")["open_orders"] == 0
        assert not tr.in_flight()

    run_short_window(body)


def test_a_place_call_cancelled_while_it_waits_for_the_budget_is_forgotten_unsent() -> None:
    """Nine orders fill the account's order count (ten per 10 s, one kept for cancels); a tenth waits
    for the budget and its caller gives up: nothing of it was written, so it is not tracked, not
    counted, and never reaches the venue (before: tracked ``pending`` for good, counted open)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        for i in range(9):
            await rest_buy(sim, tr, "BTCUSDT", 30 + i)
        posts = requests(sim, "binance").count("POST /api/v3/order")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(rest_buy(sim, tr, "BTCUSDT", 60), 0.3)
        assert len(tr.tracker.open_orders()) == 9 and tr.risk.exposure("BTCUSDT")["open_orders"] == 9
        assert not tr.in_flight()  # nothing left to settle
        await asyncio.sleep(0.2)
        assert requests(sim, "binance").count("POST /api/v3/order") == posts == 9
        assert len(open_at_venue(sim, "binance")) == 9

    run("binance", body, {"order_limit_10s": 10}, rate_wait=30)


async def killed_and_closed(sim: Simulator, tr: TradingSession, cid: str, reason: str) -> None:
    """The kill thrown while the venue is still to take ``cid``: once the venue took it, it is the
    venue's one order, not open, and the kill's report is complete and names it cancelled."""
    report = await tr.kill(reason)
    engine = sim.venue("binance").engine
    await settle(lambda: len(engine.orders) == 1, "the venue to take the order", 2)
    assert [o.client_id for o in engine.orders.values()] == [cid]
    assert open_at_venue(sim, "binance") == []
    assert report.complete and [o.client_id for o in report.cancelled] == [cid], report


@pytest.mark.parametrize("path", ["place_order", "template"])
def test_the_kill_waits_for_an_order_whose_call_its_caller_cancelled(path: str) -> None:
    """The kill is thrown right after the cancel, while the venue is still to take the order: it
    waits for the order to be settled, then cancels it, and a complete report means nothing is open
    at the venue once it has handled every request (before: the kill skipped the pending order and
    reported complete; the venue took it after and it stayed open)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        cid = await sent_then_cancelled(sim, tr, path)
        await killed_and_closed(sim, tr, cid, "cancelled call")

    run("binance", body)


def written_at_once_then_cancelled(sim: Simulator, tr: TradingSession, ints: bool) -> tuple[str, Any]:
    """A template's BTCUSDT buy 50 ticks under the best bid, written by ``send`` itself (the one-call
    path with ``ints``, else ``send``'s own write), its task cancelled in that same step of the event
    loop: before the task's first step, so none of its coroutine runs. Returns the client id and the
    task."""
    r = tr.rules["BTCUSDT"]
    price = sim.book("binance", "BTCUSDT").bids[0][0] - 50 * r.tick_size
    tmpl = tr.template("BTCUSDT", "buy")
    qty = r.min_qty * 100
    if ints:
        task = tmpl.send(int(price.scaleb(tmpl.price_scale)), int(qty.scaleb(tmpl.qty_scale)))
    else:
        task = tmpl.send(price, qty)
    (pending,) = [o for o in tr.tracker.open_orders() if o.status == "pending"]  # written, tracked
    task.cancel()
    return pending.client_id, task


@pytest.mark.parametrize("ints", [True, False])
def test_a_template_send_cancelled_before_its_task_ran_is_settled_as_the_venue_has_it(ints: bool) -> None:
    """The private stream is stalled. A send's bytes are out when ``send`` returns; its task is
    cancelled at once. The order is tracked as the venue took it (working, its order id) and counted
    once by the risk limits, as the simulator has it (before: ``pending`` for the session's life —
    the task that settles it never ran)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.endpoint("binance", 0).stall()
        cid, task = written_at_once_then_cancelled(sim, tr, ints)
        with pytest.raises(asyncio.CancelledError):
            await task
        await settle(lambda: getattr(tr.tracker.get(cid), "status", None) == "new", "the order settled", 5)
        (theirs,) = open_at_venue(sim, "binance")
        assert theirs.client_id == cid and tr.tracker.get(cid).order_id == str(theirs.id)  # type: ignore[union-attr]
        assert requests(sim, "binance").count("POST /api/v3/order") == 1
        assert tr.risk.exposure("BTCUSDT")["open_orders"] == 1
        assert not tr.in_flight()

    run("binance", body)


@pytest.mark.parametrize("ints", [True, False])
def test_the_kill_waits_for_a_template_send_cancelled_before_its_task_ran(ints: bool) -> None:
    """The venue is slow to take the order; its send's task is cancelled at once and the kill thrown:
    the kill waits for the order, cancels it, and a complete report means nothing is open at the
    venue once it has handled every request (before: the kill skipped the pending order nothing was
    settling and reported complete; the venue took it after and it stayed open)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint("binance", 0)
        ep.delay(SLOW_S)
        cid, _ = written_at_once_then_cancelled(sim, tr, ints)
        await settle(lambda: "POST /api/v3/order" in ep.handling(), "the request at the venue")
        ep.delay(0)
        await killed_and_closed(sim, tr, cid, "cancelled send")

    run("binance", body)


def test_fills_being_fetched_when_the_call_is_cancelled_are_still_counted() -> None:
    """No private stream on Binance USDⓈ-M: a market buy's answer states it filled and lists no
    executions, so they are fetched from the trade history; the caller cancels while that query is
    at the venue. Each execution the simulator made still reaches ``on_fill`` once (before: never —
    the one catch-up was cancelled and nothing asked again)."""
    heard: list[Any] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint("binance-usdm", 0)
        release = asyncio.Event()
        ep.hold_answer("GET /fapi/v1/userTrades", release.wait)
        r = tr.rules["BTCUSDT"]
        call = asyncio.ensure_future(tr.place_order("BTCUSDT", "buy", "market", r.min_qty * 10))
        await settle(lambda: "GET /fapi/v1/userTrades" in ep.handling(), "the fills query at the venue")
        (o,) = list(tr.tracker)
        assert o.status == "filled" and tr.tracker.unheard(o.client_id)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        release.set()
        (theirs,) = sim.venue("binance-usdm").engine.orders.values()
        assert theirs.client_id == o.client_id and theirs.fills
        await settle(lambda: len(heard) >= len(theirs.fills), "the fills heard", 5)
        await asyncio.sleep(0.3)  # nothing heard twice either
        assert sorted(f.trade_id for f in heard) == sorted(str(f.trade_id) for f in theirs.fills)

    run("binance-usdm", body, private_stream=False, on_fill=heard.append)


@pytest.mark.parametrize("path", ["cancel_order", "cancel_all"])
def test_a_cancel_whose_call_was_cancelled_once_it_went_out_does_not_leave_the_order_open(path: str) -> None:
    """The private stream is stalled. A resting order's cancel (its own, or the symbol's cancel-all)
    reaches the venue, which is slow to
    act on it; its caller gives up first, and the venue then cancels the order. Once the venue can
    no longer act on that request (its ``recvWindow``, 1 s here) the order is tracked canceled and
    counted open by nothing, as the simulator has it (before: working for the session's life,
    one of the symbol's open orders for the risk limits)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.endpoint("binance", 0).stall()
        o = await rest_buy(sim, tr, "BTCUSDT", 40)
        ep = sim.endpoint("binance", 0)
        ep.delay(SLOW_S)
        if path == "cancel_order":
            call = asyncio.ensure_future(tr.cancel_order("BTCUSDT", client_id=o.client_id))
        else:
            call = asyncio.ensure_future(tr.cancel_all("BTCUSDT"))
        await settle(lambda: any(op.startswith("DELETE") for op in ep.handling()), "the cancel at the venue")
        ep.delay(0)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await settle(lambda: open_at_venue(sim, "binance") == [], "the venue to cancel it", 2)
        await settle(
            lambda: not getattr(tr.tracker.get(o.client_id), "is_open", True), "the order settled", 5
        )
        assert tr.tracker.get(o.client_id).status == "canceled"  # type: ignore[union-attr]
        assert tr.risk.exposure("BTCUSDT")["open_orders"] == 0

    run_short_window(body)


@pytest.mark.parametrize("path", ["place_order", "template", "template-not-run", "template-ints-not-run"])
def test_a_call_cancelled_while_its_order_socket_answer_never_comes_leaves_nothing_awaited(path: str) -> None:
    """``transport="ws"``, no private stream. The venue takes the order but its answer on the order
    socket never comes (the socket stalled); the caller gives up. The order is still settled as the
    venue has it — working, its order id, sent once — and the request is no longer counted as
    awaiting its answer: nobody can read it now. A key rotation then swaps the order socket at once
    (before: the cancelled request stayed awaited until an answer or the socket's end, and the
    rotation's drain of the old socket waited out the whole time-out for it)."""
    from test_rotation import _binance_key
    from test_session_binance import BINANCE

    a, new = BINANCE, _binance_key()
    timeout = 2.0

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ws = tr.orders_ws
        assert ws is not None and ws.connected
        ep = sim.endpoint(a.venue, 0)
        engine = sim.venue(a.venue).engine
        price, qty = a.touch(sim)[0] - 50 * tr.rules[a.symbol].tick_size, a.size(tr, a.touch(sim)[0], 2)
        ep.stall()
        if path == "place_order":
            call: asyncio.Future[Any] = asyncio.ensure_future(
                tr.place_order(a.symbol, "buy", "limit", qty, price)
            )
        elif path == "template-ints-not-run":  # the one Rust call's path
            tmpl = tr.template(a.symbol, "buy")
            call = tmpl.send(int(price.scaleb(tmpl.price_scale)), int(qty.scaleb(tmpl.qty_scale)))
        else:
            call = tr.template(a.symbol, "buy").send(price, qty)
        if path.endswith("not-run"):
            call.cancel()  # its bytes are out; none of its task has run
        await settle(lambda: len(engine.orders) == 1, "the venue to take the order")
        await asyncio.sleep(0.05)  # the call is awaiting the answer
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        ep.unstall()
        (theirs,) = a.open(sim)
        await settle(lambda: getattr(tr.tracker.get(theirs.client_id), "status", None) == "new", "settled", 5)
        assert tr._current(theirs.client_id).order_id == str(theirs.id)
        assert ws.awaiting == 0, ws._pending
        started = time.monotonic()
        await tr.rotate(new.signer)
        took = time.monotonic() - started
        assert took < timeout / 2 and tr.orders_ws is not ws and not ws.connected, took
        assert len(a.orders(sim)) == 1  # never sent again

    a.run(
        body,
        before=lambda sim: new.add(sim.venue(a.venue)),
        transport="ws",
        private_stream=False,
        timeout=timeout,
    )
