"""Reconciliation against the simulator's own order list when the venue processes an order late (Binance
-1007, "execution status unknown"): the place's request times out, the queries find nothing, and then
the venue has the order after all. The late copy is sent here with the order's own client id, as the
venue's engine would finally take it; the private stream reports it as it would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from session_cases import settle
from template_cases import account, not_placed_then_replayed
from test_session_okx import OKX
from tickwire.errors import RequestTimeoutError, TransportError, UnknownOutcome
from tickwire.sim import Simulator
from tickwire.trading.orders import Order
from tickwire.trading.session import TradingSession


def late(tr: TradingSession, at: Callable[[str], Awaitable[None]]) -> list[str]:
    """Reconciliation's queries answer as the venue did (nothing found), then ``at(client_id)`` runs
    once: the venue processes the order late. The client ids reconciled are returned, as they come."""
    reconcile, seen = tr.reconciler.reconcile, []

    async def then_late(client_id: str) -> Any:
        found = await reconcile(client_id)
        if not seen:
            seen.append(client_id)
            await at(client_id)
        return found

    tr.reconciler.reconcile = then_late  # type: ignore[method-assign]
    return seen


async def place_late(tr: TradingSession, client_id: str) -> None:
    order = tr.tracker.get(client_id)
    assert order is not None
    await tr.send(tr.grammar.new_order(order), "order")


def test_an_ack_heard_while_the_queries_found_nothing_is_the_order_not_a_rejection() -> None:
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        async def while_reconciling(cid: str) -> None:
            await place_late(tr, cid)
            await settle(lambda: (o := tr.tracker.get(cid)) is not None and o.status == "new", "the ack")

        seen = late(tr, while_reconciling)
        sim.endpoint(a.venue, 0).fail(1, timeout=True)
        o = await a.rest_below(sim, tr, 10)  # before: TransportError "was not placed", the order rejected
        [theirs] = a.orders(sim)
        assert seen == [o.client_id] == [theirs.client_id]
        assert o.status == "new" and o.order_id == str(theirs.id)
        assert [x.client_id for x in tr.tracker.open_orders()] == [o.client_id]

    a.run(body, timeout=0.5)


def test_a_binance_order_request_the_venue_takes_after_the_queries_is_found_not_called_absent() -> None:
    """The place's answer is lost and reconciliation's queries find nothing — the request is still
    queued at the venue — then the engine takes it, its answer lost too and no private stream to
    tell. Binance spot acts on a request until ``recvWindow`` after its timestamp (checked again
    before the matching engine), so reconciliation waits that long (here 1.5 s) and looks once more:
    the order is found, one at the venue, and the caller is told so. Before, "was not placed" came
    after the queries, with the order live at the venue: the caller, told it is safe to send the
    intent again, would have had two."""
    a = account(recv_window=1500)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        async def queued(cid: str) -> None:
            sim.endpoint(a.venue, 0).lose_answer(a.place_op)
            with pytest.raises(TransportError):
                await place_late(tr, cid)  # the venue's engine takes it; nobody hears

        seen = late(tr, queued)
        sim.endpoint(a.venue, 0).fail(1, timeout=True)
        started = time.monotonic()
        o = await a.rest_below(sim, tr, 10)
        [theirs] = a.orders(sim)
        assert seen == [o.client_id] == [theirs.client_id]
        assert o.status == "new" and o.order_id == str(theirs.id)
        assert time.monotonic() - started >= 1.5  # the window waited out, not a guess

    a.run(body, timeout=0.5, private_stream=False)


def test_a_lost_order_is_not_called_absent_while_the_venue_may_take_it_by_a_slow_clock_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Binance spot, ``recvWindow`` 1 s, no private stream. The venue clock is measured again over a
    slow way there (1.4 s before the venue reads its clock): a reading errs by up to half its round
    trip, here the offset 0.7 s too large, and the order's timestamp runs that far ahead of the
    venue's clock (inside the 1 s it takes ahead). The place fails (503: not processed), the queries
    find nothing; once the session calls the order not placed, the venue is handed the same signed
    request, as one still queued there would reach its engine: it must refuse it for its timestamp
    and place nothing (before: the margin was a fixed 250 ms, and the venue took it — a live order
    the caller was told was not placed). The queries' pauses are taken out: the wait is the bound,
    not how long the queries happen to take."""
    from tickwire.trading import reconcile
    from tickwire.trading.remedy import START_ROUNDS

    a = account(recv_window=1000)
    monkeypatch.setattr(reconcile, "RECONCILE_PAUSE_S", 0.0)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint(a.venue, 0)
        ep.delay(1.4)
        await tr.wire.measure_clock(START_ROUNDS)
        ep.delay(0)
        r = await not_placed_then_replayed(a, sim, tr)
        assert (r.status, a.orders(sim)) == (400, []), r.body

    a.run(body, timeout=3.0, private_stream=False)


def test_an_order_found_absent_and_then_processed_late_is_reopened() -> None:
    a = account(recv_window=1000)  # called absent once its 1 s window passed
    notes: list[str] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tr.tracker.on_anomaly = lambda o, note: notes.append(note)
        seen = late(tr, lambda cid: _nothing())
        sim.endpoint(a.venue, 0).fail(1, timeout=True)
        with pytest.raises(TransportError, match="was not placed"):
            await a.rest_below(sim, tr, 10)
        [cid] = seen
        gone = tr.tracker.get(cid)
        assert gone is not None and gone.status == "rejected" and a.orders(sim) == []
        await place_late(tr, cid)  # the venue's engine takes it after all
        # Before: the ack was dropped (rejected is terminal), the live order missing from open_orders.
        await settle(lambda: (o := tr.tracker.get(cid)) is not None and o.status == "new", "reopened")
        [theirs] = a.orders(sim)
        assert [x.client_id for x in tr.tracker.open_orders()] == [cid] == [theirs.client_id]
        assert notes == [f"the venue reported {cid} after reconciliation found no trace of it"]

    a.run(body, timeout=0.5)


def test_the_fills_of_an_order_processed_late_are_counted_once() -> None:
    a = account(recv_window=1000)  # called absent once its 1 s window passed
    fills: list[Any] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tr._user_on_fill = fills.append
        seen = late(tr, lambda cid: _nothing())
        sim.endpoint(a.venue, 0).fail(1, timeout=True)
        _, ask = a.touch(sim)
        qty = a.size(tr, ask, 3)
        with pytest.raises(TransportError, match="was not placed"):
            await tr.place_order(a.symbol, "buy", "limit", qty, ask)
        [cid] = seen
        await place_late(tr, cid)  # taken late, and it trades at once
        [theirs] = a.orders(sim)
        assert theirs.fills and not theirs.open
        await settle(lambda: len(fills) >= len(theirs.fills), "every fill")
        o = tr.tracker.get(cid)
        assert o is not None and o.status == "filled" and o.filled == qty
        assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)

    a.run(body, timeout=0.5)


async def _nothing() -> None:
    return None


def failing_queries(tr: TradingSession, times: int, error: type[Exception]) -> list[str]:
    """The next ``times`` status queries fail with ``error`` (a time-out right after a network blip):
    the paths they went to are returned."""
    send, failed = tr.send, []

    async def send_or_fail(call: Any, lane: Any = "query", **kw: Any) -> Any:
        if call.method == "GET" and len(failed) < times:
            failed.append(call.path)
            raise error(f"{call.path}: no answer (test)")
        return await send(call, lane, **kw)

    tr.send = send_or_fail  # type: ignore[method-assign]
    return failed


async def left_unknown(sim: Simulator, tr: TradingSession, placed: bool) -> Order:
    """A place whose answer is lost (``placed``: the venue has the order) or whose request never
    arrives, every query of its reconciliation failing: ``UnknownOutcome``, the order unknown. The
    venue answers queries again afterwards."""
    a = account()
    if placed:
        sim.endpoint(a.venue, 0).lose_answer(a.place_op)
    else:
        sim.endpoint(a.venue, 0).fail(1, timeout=True)
    send = tr.send
    failing_queries(tr, 1_000, TransportError)
    with pytest.raises(UnknownOutcome):
        await a.rest_below(sim, tr, 10)
    [lost] = tr.tracker.unknown()
    tr.send = send  # type: ignore[method-assign]
    return lost


def test_after_the_stream_returns_a_failing_query_does_not_stop_the_others() -> None:
    """Three resting orders are canceled at the venue while the private stream is away; the first
    status query after it returns times out. Every order ends canceled, as the simulator has it (before:
    the time-out ended the reconciliation, the three stayed open in the tracker for good)."""
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        orders = [await a.rest_below(sim, tr, 20 + i) for i in range(3)]
        failed = failing_queries(tr, 1, RequestTimeoutError)
        sim.endpoint(a.venue, 0).drop()
        for o in orders:  # canceled at the venue (another script on the key, say) while nothing listens
            sim.venue(a.venue).engine.cancel(a.key, a.symbol, int(o.order_id or 0), None)
        await settle(lambda: tr.stream is not None and tr.stream.connects >= 2, "the stream back")
        await settle(
            lambda: all(tr._current(o.client_id).status == "canceled" for o in orders), "every cancel", 5.0
        )
        assert len(failed) == 1 and not [x for x in a.orders(sim) if x.open]
        assert tr.tracker.open_orders() == []

    a.run(body)


def test_an_order_its_call_left_unknown_is_settled_once_the_stream_returns() -> None:
    """The place is lost and every query of its reconciliation fails: ``UnknownOutcome``, the order
    unknown. Once the private stream returns the venue is asked again and has no trace of it: settled
    ``rejected`` (reopened should the venue speak of it), no longer unknown (before: unknown until the
    watchdog's limit threw the kill switch)."""
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tr.reconciler.spawn = None  # no later tries of its own: the stream's return settles it
        lost = await left_unknown(sim, tr, placed=False)
        sim.endpoint(a.venue, 0).drop()
        await settle(lambda: tr.stream is not None and tr.stream.connects >= 2, "the stream back")
        await settle(lambda: tr._current(lost.client_id).status == "rejected", "settled", 5.0)
        assert tr.tracker.unknown() == [] and a.orders(sim) == []

    a.run(body, timeout=0.5)


@pytest.mark.parametrize("venue", ["binance", "okx"])
def test_an_answer_that_cannot_be_read_is_reconciled_like_a_lost_one(venue: str) -> None:
    """The venue placed the order and answered 200, but the body arrived garbled (not JSON): the order
    is reconciled — found, returned as the venue has it, once at the venue (before: on Binance orjson's
    ``JSONDecodeError`` escaped ``place_order`` with the order ``pending`` for good; on OKX the
    grammar's error recorded it ``rejected`` while the venue held it)."""
    a = account() if venue == "binance" else OKX
    marker = b"clientOrderId" if venue == "binance" else b"clOrdId"

    async def body(sim: Simulator, tr: TradingSession) -> None:
        read, garbled = tr.wire.read_answer, []

        def garble_once(status: int, raw: bytes, headers: dict[str, str], call: Any, age: Any = None) -> Any:
            if status == 200 and not garbled and marker in raw:
                garbled.append(raw)
                raw = raw[: len(raw) // 2]  # cut short on the way
            return read(status, raw, headers, call, age)

        tr.wire.read_answer = garble_once  # type: ignore[method-assign]
        o = await a.rest_below(sim, tr, 10)
        [theirs] = a.orders(sim)
        assert garbled and o.client_id == theirs.client_id and o.status == "new"
        assert o.order_id == str(theirs.id) and tr.tracker.unknown() == []

    a.run(body)


@pytest.mark.parametrize("placed", [True, False], ids=["at-the-venue", "never-reached"])
def test_an_order_left_unknown_is_asked_about_again_until_the_venue_settles_it(placed: bool) -> None:
    """No private stream here. The place's answer is lost (the venue has the order) or its request
    never arrives, and every query of its reconciliation fails: ``UnknownOutcome``. Once the venue
    answers again the session asks by itself: the order found as the venue has it, or with no trace
    settled ``rejected`` — never left unknown until a watchdog kills the session, never resent. No
    trace is concluded only once the venue can no longer take the request: its ``recvWindow`` is
    1 s here."""
    a = account(recv_window=1000)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        lost = await left_unknown(sim, tr, placed)
        want = "new" if placed else "rejected"
        await settle(lambda: tr._current(lost.client_id).status == want, "settled by a later try", 5.0)
        theirs = a.orders(sim)
        assert [x.client_id for x in theirs] == ([lost.client_id] if placed else [])
        if placed:
            assert tr._current(lost.client_id).order_id == str(theirs[0].id)
        assert tr.tracker.unknown() == []

    a.run(body, timeout=0.5, private_stream=False)


def test_the_stream_is_up_while_its_reconciliation_runs() -> None:
    """After the private stream returns, reconciliation's queries are slow (1.5 s each, a venue under
    load): the stream counts as connected — its events applied, a watchdog seeing it up — well before
    they end, and they still settle what changed while it was away (before: down until every query
    had run, and with a few orders timing out a `Watch(link_lost_s=20)` killed the session)."""
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 20)
        send = tr.send

        async def slow_queries(call: Any, lane: Any = "query", **kw: Any) -> Any:
            if call.method == "GET":
                await asyncio.sleep(1.5)
            return await send(call, lane, **kw)

        tr.send = slow_queries  # type: ignore[method-assign]
        stream = tr.stream
        assert stream is not None
        started = asyncio.get_running_loop().time()
        sim.endpoint(a.venue, 0).drop()
        sim.venue(a.venue).engine.cancel(a.key, a.symbol, int(o.order_id or 0), None)
        await settle(lambda: stream.connects >= 2 and stream.connected, "the stream back", 5.0)
        assert asyncio.get_running_loop().time() - started < 1.2  # not after the first slow query
        assert tr._current(o.client_id).status == "new"  # its reconciliation still running
        await settle(lambda: tr._current(o.client_id).status == "canceled", "reconciled", 5.0)

    a.run(body)


@pytest.mark.parametrize("then", ["closed", "running", "stream-back-closed"])
def test_an_order_asked_about_again_is_not_called_absent_while_the_venue_may_still_take_it(
    then: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Binance spot, ``recvWindow`` 3.5 s. The place's request is queued at the venue (2.5 s before
    its engine takes it), its answer is lost and every query of its reconciliation fails:
    ``UnknownOutcome``. The session asks again by itself while the request is still queued — and,
    in the third case, the private stream drops and returns, which reconciles every open order — and
    finds nothing. Then the session is closed, or goes on with no private stream. The venue takes
    the order: a close names it among the orders of unknown fate; a running session finds it once
    the window has passed and tracks it as the venue has it (before: the later try, and the
    stream's return, called it ``rejected`` at once, inside the window in which the venue could
    still take it — the close listed nothing, and the running session, with no stream to tell, kept
    a live order rejected). The queries' pauses are taken out: the looks are over well before the
    venue takes the order."""
    from tickwire.trading import reconcile

    monkeypatch.setattr(reconcile, "RECONCILE_PAUSE_S", 0.0)
    a = account(recv_window=3500)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint(a.venue, 0)
        ep.delay(2.5)
        call = asyncio.ensure_future(a.rest_below(sim, tr, 10))
        await settle(lambda: a.place_op in ep.handling(), "the request at the venue")
        ep.delay(0)
        send = tr.send
        failing_queries(tr, 1_000, TransportError)
        with pytest.raises(UnknownOutcome):
            await call
        tr.send = send  # type: ignore[method-assign]
        [lost] = tr.tracker.unknown()
        cid = lost.client_id
        if then == "stream-back-closed":
            stream = tr.stream
            assert stream is not None
            ep.drop()
            await settle(lambda: stream.connects >= 2 and stream.connected, "the stream back")
        await asyncio.sleep(0.9)  # the first later try (after 0.5 s) has asked and found nothing
        assert a.orders(sim) == []  # still queued
        if then != "running":
            await tr.close()
        engine = sim.venue(a.venue).engine
        await settle(lambda: len(engine.orders) == 1, "the venue to take the order", 3)
        [theirs] = a.orders(sim)
        assert theirs.client_id == cid and theirs.open
        if then != "running":
            assert [o.client_id for o in tr.unsettled] == [cid], tr._current(cid)
        else:
            await settle(lambda: tr._current(cid).status != "unknown", "the later try's verdict", 5)
            o = tr._current(cid)
            assert o.status == "new" and o.order_id == str(theirs.id), o

    a.run(body, timeout=0.5, private_stream=then == "stream-back-closed")
