"""The tracker forgets an order ``retain_s`` after it ended, never while it is open: a long-running
session keeps the last minutes' orders, not every order it placed. Against a clock the test moves,
and against the simulator for the session's own per-order state."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from template_cases import SYMBOL, account, below_bid
from test_tracker import Recorder, intent
from tickwire.errors import OrderNotFound
from tickwire.sim import Simulator
from tickwire.trading.orders import Fill, OrderEvent
from tickwire.trading.session import TradingSession


class _Clock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


def _ev(cid: str, oid: str, status: str | None, fill: Fill | None = None) -> OrderEvent:
    return OrderEvent(source="stream", client_id=cid, order_id=oid, status=status, fill=fill)  # type: ignore[arg-type]


def _fill(cid: str, oid: str, tid: str, qty: str) -> Fill:
    return Fill(
        venue="sim", symbol="BTCUSDT", client_id=cid, order_id=oid, trade_id=tid, side="buy",
        price=D("100"), qty=D(qty),
    )  # fmt: skip


def test_an_order_is_forgotten_retain_s_after_it_ended_and_never_while_open() -> None:
    clock, forgot, rec = _Clock(), [], Recorder()
    t = rec.tracker(on_forget=forgot.append)
    t.clock = clock
    for cid in ("open", "early", "late"):
        t.track(intent(cid=cid))
    t.apply(_ev("open", "1", "new"))
    t.apply(_ev("early", "2", "expired"))
    clock.t += 5
    t.apply(_ev("late", "3", "canceled"))
    clock.t += t.retain_s - 5 - 0.5  # "early" ended 599.5 s ago: kept
    t.track(intent(cid="next1"))
    assert t.get("early") is not None and forgot == []
    clock.t += 1  # 600.5 s
    t.track(intent(cid="next2"))
    assert t.get("early") is None and t.by_order_id("2") is None and forgot == ["early"] and t.forgotten == 1
    assert t.get("late") is not None and t.get("open") is not None  # 595.5 s; and open
    clock.t += 10_000
    t.track(intent(cid="next3"))
    assert forgot == ["early", "late"] and t.get("open") is not None and t.by_order_id("1") is not None
    assert {o.client_id for o in t} == {"open", "next1", "next2", "next3"}


def test_a_late_copy_of_a_forgotten_orders_fill_is_ignored_and_never_counted() -> None:
    clock, forgot, rec = _Clock(), [], Recorder()
    t = rec.tracker(on_forget=forgot.append)
    t.clock = clock
    t.track(intent(cid="a", qty="1"))
    f = _fill("a", "7", "T1", "1")
    t.apply(_ev("a", "7", "filled", f))
    assert [x.trade_id for x in rec.fills] == ["T1"]
    clock.t += t.retain_s + 1
    t.track(intent(cid="b"))
    ignored = t.ignored
    assert t.apply(_ev("a", "7", "filled", f)) is None and t.apply(_ev("", "7", None, f)) is None
    assert [x.trade_id for x in rec.fills] == ["T1"] and t.ignored > ignored and forgot == ["a"]


def test_a_forgotten_order_is_never_adopted_by_a_late_event_that_describes_it() -> None:
    """A session adopts its earlier runs' orders (``adopt``); a late copy of the last fill of an order
    this run tracked and forgot names the same prefix and says all adoption needs (symbol, side,
    quantity) — it is still ignored, the fill not counted twice (before the forgotten ids were kept,
    it was taken for another run's order and its fill counted again)."""
    clock, rec = _Clock(), Recorder()
    t = rec.tracker(adopt=lambda ev: True)
    t.clock = clock
    t.track(intent(cid="a", qty="1"))
    f = _fill("a", "7", "T1", "1")
    t.apply(_ev("a", "7", "filled", f))
    clock.t += t.retain_s + 1
    t.track(intent(cid="b"))
    assert t.get("a") is None
    late = OrderEvent(
        source="stream", client_id="a", order_id="7", status="filled", fill=f, symbol="BTCUSDT",
        side="buy", qty=D("1"), price=D("100"),
    )  # fmt: skip
    assert t.apply(late) is None and t.get("a") is None and [x.trade_id for x in rec.fills] == ["T1"]
    # Another run's order (never tracked here) is adopted as before.
    other = OrderEvent(
        source="stream", client_id="z", order_id="9", status="new", symbol="BTCUSDT", side="buy",
        qty=D("1"), price=D("100"),
    )  # fmt: skip
    got = t.apply(other)
    assert got is not None and got.client_id == "z" and t.get("z") is not None


def test_a_cancel_that_raced_a_fill_still_turns_filled_within_the_retention() -> None:
    clock, forgot, rec = _Clock(), [], Recorder()
    t = rec.tracker(on_forget=forgot.append)
    t.clock = clock
    t.track(intent(cid="c", qty="1"))
    t.apply(_ev("c", "8", "canceled"))
    clock.t += t.retain_s / 2
    t.track(intent(cid="d"))
    got = t.apply(_ev("c", "8", None, _fill("c", "8", "T9", "1")))
    assert got is not None and got.status == "filled" and [x.trade_id for x in rec.fills] == ["T9"]
    clock.t += t.retain_s / 2 + 1  # counted from when it first ended
    t.track(intent(cid="e"))
    assert forgot == ["c"] and t.get("c") is None


def test_retain_none_keeps_every_order() -> None:
    clock, forgot, rec = _Clock(), [], Recorder()
    t = rec.tracker(on_forget=forgot.append)
    t.clock, t.retain_s = clock, None
    t.track(intent(cid="x"))
    t.apply(_ev("x", "1", "expired"))
    clock.t += 1e9
    t.track(intent(cid="y"))
    assert t.get("x") is not None and forgot == [] and t.forgotten == 0


def test_a_session_forgets_ended_orders_and_their_send_times_not_open_ones() -> None:
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        clock = _Clock()
        tr.tracker.clock = clock

        async def later(*args: object, **kw: object) -> object:
            clock.t += tr.tracker.retain_s + 1  # type: ignore[operator]  # every order so far ended long ago
            return await tr.place_order(*args, **kw)  # type: ignore[arg-type]

        price, qty = below_bid(a, sim, tr, 10)
        resting = await tr.place_order(SYMBOL, "buy", "limit", qty, price)
        ioc = await tr.place_order(SYMBOL, "buy", "limit", qty, price, tif="IOC")
        assert ioc.status == "expired" and tr.sent_ms(ioc.client_id) is not None
        nxt = await later(SYMBOL, "buy", "limit", qty, price, tif="IOC")
        assert tr.tracker.get(ioc.client_id) is None and tr.sent_ms(ioc.client_id) is None
        with pytest.raises(OrderNotFound, match="not tracked"):  # a typed error, not an assertion
            await tr.reconcile(ioc.client_id)
        assert tr.tracker.get(resting.client_id) is not None  # open: kept however old
        assert tr.tracker.get(nxt.client_id) is not None and tr.health()["orders_forgotten"] == 1
        await tr.cancel_order(SYMBOL, client_id=resting.client_id)
        await later(SYMBOL, "buy", "limit", qty, price, tif="IOC")
        assert tr.tracker.get(resting.client_id) is None and tr.health()["orders_forgotten"] == 3
        assert [o.client_id for o in a.open(sim)] == []

    a.run(body)


def test_retention_is_never_below_a_second() -> None:
    """The task that placed an order reads it back right after its last event, across awaits in which
    other orders may be tracked: ``retain_s = 0`` still keeps an order a second."""
    clock, forgot, rec = _Clock(), [], Recorder()
    t = rec.tracker(on_forget=forgot.append)
    t.clock, t.retain_s = clock, 0.0
    t.track(intent(cid="f"))
    t.apply(_ev("f", "1", "expired"))
    clock.t += 0.5
    t.track(intent(cid="g"))
    assert t.get("f") is not None
    clock.t += 0.6
    t.track(intent(cid="h"))
    assert t.get("f") is None and forgot == ["f"]


def test_an_order_reopened_after_reconciliation_found_it_absent_counts_from_its_last_end() -> None:
    """Rejected for want of any trace at the venue, then acked by it (processed late) and canceled: it
    is kept ``retain_s`` from the cancel, not from the rejection."""
    clock, forgot, rec = _Clock(), [], Recorder()
    t = rec.tracker(on_forget=forgot.append)
    t.clock = clock
    t.track(intent(cid="late"))
    t.mark_unknown("late", "time-out")
    got = t.mark_absent("late", "never reached the venue")
    assert got is not None and got.status == "rejected"
    clock.t += 300
    t.apply(_ev("late", "9", "new"))
    assert [o.client_id for o in t.open_orders()] == ["late"] and t.anomalies == 1
    clock.t += 200
    t.apply(_ev("late", "9", "canceled"))
    clock.t += 150  # 650 s after the rejection, 150 s after the cancel
    t.track(intent(cid="next1"))
    assert forgot == [] and t.get("late") is not None
    clock.t += 450.5  # 600.5 s after the cancel
    t.track(intent(cid="next2"))
    assert forgot == ["late"]


def test_an_order_reopened_and_ended_by_one_event_counts_from_that_event() -> None:
    clock, forgot, rec = _Clock(), [], Recorder()
    t = rec.tracker(on_forget=forgot.append)
    t.clock = clock
    t.track(intent(cid="late", qty="1"))
    t.mark_unknown("late", "time-out")
    t.mark_absent("late", "never reached the venue")
    clock.t += 599
    t.apply(_ev("late", "9", "filled", _fill("late", "9", "T1", "1")))  # reopened and filled at once
    got = t.get("late")
    assert got is not None and got.status == "filled" and [f.trade_id for f in rec.fills] == ["T1"]
    clock.t += 1.5  # 600.5 s after the rejection, 1.5 s after the fill
    t.track(intent(cid="next1"))
    assert forgot == [] and t.get("late") is not None
