"""Reconciliation against the simulator's own order list when the venue processes an order late (Binance
-1007, "execution status unknown"): the place's request times out, the queries find nothing, and then
the venue has the order after all. The late copy is sent here with the order's own client id, as the
venue's engine would finally take it; the private stream reports it as it would."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from session_cases import settle
from template_cases import account
from test_session_okx import OKX
from tickwire.errors import RequestTimeoutError, TransportError, UnknownOutcome, VenueError
from tickwire.sim import Simulator
from tickwire.trading.fills_catch_up import after_oldest, newest
from tickwire.trading.orders import Fill, Order, OrderEvent
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
    from tickwire.transport.http import HttpClient

    a = account(recv_window=1000)
    monkeypatch.setattr(reconcile, "RECONCILE_PAUSE_S", 0.0)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint(a.venue, 0)
        ep.delay(1.4)
        await tr.wire.measure_clock(START_ROUNDS)
        ep.delay(0)
        http, written = tr.wire.http, []
        assert http is not None
        request = http.request

        async def kept(method: str, path: str, **kw: Any) -> Any:
            if f"{method} {path}" == a.place_op:
                written.append(kw)
            return await request(method, path, **kw)

        http.request = kept  # type: ignore[method-assign]
        ep.fail(1)
        with pytest.raises(TransportError, match="was not placed"):
            await a.rest_below(sim, tr, 10)
        [kw] = written
        async with HttpClient(ep.rest_base) as venue:
            r = await venue.request(
                "POST", "/api/v3/order", query=kw["query"], body=kw["body"], headers=kw["headers"]
            )
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

    async def send_or_fail(call: Any, lane: Any = "query") -> Any:
        if call.method == "GET" and len(failed) < times:
            failed.append(call.path)
            raise error(f"{call.path}: no answer (test)")
        return await send(call, lane)

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

        async def slow_queries(call: Any, lane: Any = "query") -> Any:
            if call.method == "GET":
                await asyncio.sleep(1.5)
            return await send(call, lane)

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


def by_time(tr: TradingSession) -> None:
    """Fills searched as every venue without per-order fill queries searches them: the symbol's
    trades since the send, on the venue's clock. USDⓈ-M has both, and its answers list no
    executions, which makes it the venue to test the search by time with."""
    tr.grammar.order_fills = None  # type: ignore[attr-defined]


@pytest.mark.parametrize(("skew_ms", "mid"), [(0, False), (-1500, False), (1500, False), (-3000, True)])
def test_the_fills_search_starts_on_the_venues_clock(skew_ms: int, mid: bool) -> None:
    """USDⓈ-M, no private stream: an IOC buy at the ask fills at once and its answer states the filled
    quantity but lists no executions, so the session fetches them from the trade history, from the
    order's send time. The venue's clock runs ``skew_ms`` from ours; its trades carry its time, so
    the search starts on its clock (before: on ours — with the venue 1.5 s behind, the search began
    after the fill and ``on_fill`` never heard of it). ``mid``: the venue's clock steps back after
    the start's measurement; the order, stamped with the old offset, is refused (-1021), the clock
    measured again and the order resent — its send time is read with the new offset (kept with the
    old one, the search began 2 s after the fill)."""
    from test_session_usdm import USDM as a

    fills: list[Any] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        by_time(tr)
        if mid:
            sim.endpoint(a.venue, 0).skew(skew_ms)
        _, ask = a.touch(sim)
        o = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, ask, 2), ask, tif="IOC")
        [theirs] = a.orders(sim, o.client_id)
        assert theirs.fills and o.filled > 0
        await settle(lambda: len(fills) == len(theirs.fills), "the fills from the trade history")
        assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
        assert tr.health()["clock_resyncs"] == (1 if mid else 0)  # refused, measured, resent

    def skewed(sim: Simulator) -> None:
        sim.endpoint(a.venue, 0).skew(0 if mid else skew_ms)

    a.run(body, private_stream=False, on_fill=fills.append, before=skewed)


@pytest.mark.parametrize("step_s", [0, 5])
def test_fills_a_stream_lost_while_it_looked_up_are_fetched_once_it_returns(step_s: int) -> None:
    """USDⓈ-M: the private stream stops delivering without the session knowing (the simulator
    stalls), an IOC buy fills at once and its answer states the quantity filled but lists no
    executions — the session leaves them to the stream, which is up as far as it knows. The stream
    then reconnects: the ended order's fills come from the trade history, each once, as the
    simulator recorded them (before: only open orders were reconciled, and ``on_fill`` never heard
    of the fill).

    ``step_s``: meanwhile our clock steps that far back (an NTP correction) and the venue clock's
    offset is measured again, ``step_s`` larger. The send time the search starts from was kept on
    the venue's clock as measured at the send, so the step does not move it (before: our clock's
    send time plus the new offset started the search 4 s after the fill, which went unheard)."""
    from test_session_usdm import USDM as a

    fills: list[Any] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        if step_s:
            by_time(tr)  # (the order's own fills query is not searched by time)
        ep = sim.endpoint(a.venue, 0)
        ep.stall()
        _, ask = a.touch(sim)
        o = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, ask, 2), ask, tif="IOC")
        [theirs] = a.orders(sim, o.client_id)
        assert o.filled > 0 and theirs.fills and tr.stream_up() and fills == []
        if step_s:
            before = tr.clock.offset_ms
            tr.clock.sync.clock_ns = lambda: time.time_ns() - step_s * 1_000_000_000
            await tr.wire.measure_clock(3)
            assert abs(tr.clock.offset_ms - before - step_s * 1000) < 200  # the step, measured
        ep.unstall()
        tr.stream.drop()  # type: ignore[union-attr]
        await settle(lambda: len(fills) == len(theirs.fills), "the fills after the stream returned")
        await asyncio.sleep(0.3)
        assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
        assert tr.tracker.unaccounted() == []

    a.run(body, on_fill=fills.append)


def fill(trade_id: str, qty: int, ms: int) -> Fill:
    return Fill(
        venue="binance", symbol="BTCUSDT", client_id="c", order_id="o", trade_id=trade_id,
        side="buy", price=D(100), qty=D(qty), ts_ns=ms * 1_000_000,
    )  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    qtys=st.lists(st.integers(1, 5), min_size=1, max_size=30),
    data=st.data(),
)
def test_newest_takes_the_fills_after_an_earlier_runs_and_none_of_those(qtys: list[int], data: Any) -> None:
    """An order's fills, oldest first (times rising, some equal): the first ``k`` were an earlier
    run's, summing to the quantity filled it was adopted with; the search lists them from ``w``
    on (begun early) and ``late`` more came after the word of the quantity filled. Against that
    construction: none of the earlier run's is taken, and with nothing late, exactly the later ones —
    listed oldest first (Binance) or newest first (OKX, Bybit, Coinbase) alike, once the listing's
    times are not all one (then its order cannot be told)."""
    k = data.draw(st.integers(0, len(qtys)))
    w = data.draw(st.integers(0, k))
    late = data.draw(st.integers(0, len(qtys) - k))
    steps = data.draw(st.lists(st.integers(0, 2), min_size=len(qtys), max_size=len(qtys)))
    ts = list(itertools.accumulate(steps))
    fills = [fill(str(i), q, t) for i, (q, t) in enumerate(zip(qtys, ts, strict=True))]
    newest_first = data.draw(st.booleans())
    assume(not newest_first or len(ts) - w < 2 or ts[w] < ts[-1])
    listed = fills[w:][::-1] if newest_first else fills[w:]
    stated = sum(qtys[k : len(qtys) - late])  # the quantity filled the venue stated, less the base
    got = {f.trade_id for f in newest(listed, D(stated))}
    assert not got & {str(i) for i in range(k)}
    if late == 0:
        assert got == {str(i) for i in range(k, len(qtys))}


@settings(max_examples=300, deadline=None)
@given(
    qtys=st.lists(st.integers(1, 5), min_size=1, max_size=30),
    data=st.data(),
)
def test_after_oldest_takes_every_fill_after_an_earlier_runs_late_ones_too(
    qtys: list[int], data: Any
) -> None:
    """An order's whole listing (Binance's, oldest first; times rising, some equal): the first ``k``
    fills were an earlier run's, summing to the base; any number more, some made after the word of
    the quantity filled. Exactly the fills after the earlier run's are taken, however many came late
    (``newest`` on the same listing, with the quantity stated before the late ones, leaves out as
    many of this run's as the late ones weigh)."""
    k = data.draw(st.integers(0, len(qtys)))
    steps = data.draw(st.lists(st.integers(0, 2), min_size=len(qtys), max_size=len(qtys)))
    ts = list(itertools.accumulate(steps))
    fills = [fill(str(i), q, t) for i, (q, t) in enumerate(zip(qtys, ts, strict=True))]
    got = {f.trade_id for f in after_oldest(fills, D(sum(qtys[:k])))}
    assert got == {str(i) for i in range(k, len(qtys))}


def adopted(heard: list[Fill], then: D, now: D) -> Any:
    """A tracker holding order "c" ("o" at the venue), adopted filled ``then`` (the earlier run's) and
    now stated filled ``now``; its fills go to ``heard``."""
    from tickwire.trading.tracker import OrderTracker

    tracker = OrderTracker(on_fill=heard.append, adopt=lambda ev: True)
    adopt = {"symbol": "BTCUSDT", "side": "buy", "type": "limit", "qty": D(5), "price": D(100)}
    was = {"client_id": "c", "order_id": "o", "status": "partially_filled"}
    tracker.apply(OrderEvent(source="reconcile", filled_cum=then, **was, **adopt))  # type: ignore[arg-type]
    tracker.apply(OrderEvent(source="reconcile", filled_cum=now, **was))  # type: ignore[arg-type]
    return tracker


class _ShiftedPages:
    """A venue stand-in for one adopted order's fills, listed newest first a page at a time; a trade
    made between two requests shifts the listing, so the second page repeats the first's last row
    (Kraken's ``TradesHistory`` pages by offset). Holds what reconciliation needs of a session."""

    venue = "stand-in"

    def __init__(self, tracker: Any, pages: list[list[Fill]]) -> None:
        from tickwire.audit import NullAudit
        from tickwire.trading.venue import Call, Page

        self.tracker, self.audit, self.asked = tracker, NullAudit(), 0
        self.grammar = self
        self._pages = [Page(p, str(i + 1) if i + 1 < len(pages) else None) for i, p in enumerate(pages)]
        self._call = Call

    def order_fills(self, symbol: str, order_id: str) -> Any:
        return self._call("GET", "/fills", {"orderId": order_id})

    @staticmethod
    def next_page(call: Any, body: Any) -> Any:
        return call.with_param("page", body.more) if body.more else None

    def read_fills(self, body: Any) -> list[Fill]:
        return list(body)

    async def send(self, call: Any) -> Any:
        self.asked += 1
        await asyncio.sleep(0)  # the answer's way back: other tasks run meanwhile
        page = self._pages[int(call.params.get("page", 0))]
        if not page:
            raise VenueError("stand-in: the venue named a page of the listing twice")
        return page

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        return []

    def sent_ms(self, client_id: str) -> int | None:
        return None

    def request_window_s(self) -> float | None:
        return None


def test_a_row_a_shifted_listing_repeats_is_counted_once_and_pushes_no_fill_out() -> None:
    """An adopted order filled 1 in the earlier run and 2 since (fills b and c, 1 each); its listing,
    newest first, gives c, then a page that repeats c before b. Both b and c are heard, once (before:
    the repeat counted twice toward the quantity since, so b was left out)."""
    from tickwire.trading.reconcile import Reconciler

    heard: list[Fill] = []
    tracker = adopted(heard, then=D(1), now=D(3))
    a, b, c = fill("a", 1, 1), fill("b", 1, 2), fill("c", 1, 3)
    port = _ShiftedPages(tracker, [[c], [c, b], [a]])
    asyncio.run(Reconciler(port).catch_up_fills("c"))  # type: ignore[arg-type]
    assert sorted(f.trade_id for f in heard) == ["b", "c"]
    assert port.asked == 2  # the quantity since made: the earlier run's page not asked for


def test_a_later_page_that_fails_leaves_the_fills_read_counted() -> None:
    """An order adopted with nothing filled fills 2 (b, c); the listing's first page gives c, the next
    fails (a cursor named twice). c is heard, and the catch-up ends without an error (before: the
    failure dropped every page read); asked again, b is found and c not heard twice."""
    from tickwire.trading.reconcile import Reconciler

    heard: list[Fill] = []
    tracker = adopted(heard, then=D(0), now=D(2))
    b, c = fill("b", 1, 2), fill("c", 1, 3)
    asyncio.run(Reconciler(_ShiftedPages(tracker, [[c], []])).catch_up_fills("c"))  # type: ignore[arg-type]
    assert [f.trade_id for f in heard] == ["c"] and tracker.unheard("c")
    asyncio.run(Reconciler(_ShiftedPages(tracker, [[c, b]])).catch_up_fills("c"))  # type: ignore[arg-type]
    assert [f.trade_id for f in heard] == ["c", "b"] and not tracker.unheard("c")


def test_catch_ups_of_one_order_asked_together_query_the_venue_once() -> None:
    """Three catch-ups of one order started together (Coinbase's stream states each cumulative fill,
    and each starts one): they run one at a time, and those after the first find nothing unheard and
    ask nothing (before: each read every page of the order's fills)."""
    from tickwire.trading.reconcile import Reconciler

    heard: list[Fill] = []
    tracker = adopted(heard, then=D(0), now=D(2))
    port = _ShiftedPages(tracker, [[fill("c", 1, 3)], [fill("b", 1, 2)]])
    rec = Reconciler(port)  # type: ignore[arg-type]

    async def together() -> None:
        await asyncio.gather(*(rec.catch_up_fills("c") for _ in range(3)))

    asyncio.run(together())
    assert sorted(f.trade_id for f in heard) == ["b", "c"] and port.asked == 2
    assert rec._fill_locks == {} and rec._fill_waiting == {}


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
