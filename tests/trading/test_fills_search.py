"""How the fills catch-up (``trading/fills_catch_up.py``) searches: by the venue's clock from the
order's send time, again once a lost stream returns, taking only the fills after an earlier run's
(property tests against a construction), a listing whose pages shift counted once, a failing later
page keeping what was read, and catch-ups of one order sharing one query; against the simulator's
own trades where a session runs. (Finding an order's fills past pages: ``test_fills_catch_up.py``.)"""

from __future__ import annotations

import asyncio
import itertools
import time
from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from session_cases import settle
from tickwire.errors import VenueError
from tickwire.sim import Simulator
from tickwire.trading.fills_catch_up import after_oldest, newest
from tickwire.trading.orders import Fill, Order, OrderEvent
from tickwire.trading.session import TradingSession


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
