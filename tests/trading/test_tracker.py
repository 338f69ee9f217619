"""OrderTracker against a naive reference model, fed every source's events in random orders with
duplicates; plus the named situations of venues.md section 9."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tickwire.errors import InvalidOrder
from tickwire.trading.orders import TERMINAL, Fill, Order, OrderEvent, Status
from tickwire.trading.tracker import OrderTracker

D = Decimal
CID = "t1-abc0"


def intent(qty: str = "10", cid: str = CID) -> Order:
    return Order(
        venue="sim", symbol="BTCUSDT", side="buy", type="limit", qty=D(qty), price=D("100"), client_id=cid
    )


def fill(tid: str, qty: str, price: str = "100", fee: str = "0") -> Fill:
    return Fill(
        venue="sim",
        symbol="BTCUSDT",
        client_id=CID,
        order_id="900",
        trade_id=tid,
        side="buy",
        price=D(price),
        qty=D(qty),
        fee=D(fee),
        fee_asset="USDT",
    )


@dataclass
class Recorder:
    orders: list[Order] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    anomalies: list[str] = field(default_factory=list)

    def tracker(self, **kw: object) -> OrderTracker:
        return OrderTracker(
            on_order=self.orders.append,
            on_fill=self.fills.append,
            on_anomaly=lambda _o, msg: self.anomalies.append(msg),
            **kw,  # type: ignore[arg-type]
        )


# -- the reference model ------------------------------------------------------------------------------


@dataclass
class Life:
    """What really happened to one order at the venue, and the events each source would emit."""

    qty: Decimal
    fills: list[tuple[str, Decimal, Decimal, Decimal]]  # (trade id, qty, price, fee)
    ending: str  # "open", "filled", "canceled", "expired", "rejected", "cancel_raced"

    def truth(self) -> tuple[Decimal, Status]:
        total = sum((q for _, q, _, _ in self.fills), D(0))
        if total == self.qty:
            return total, "filled"
        if self.ending in ("canceled", "expired", "rejected"):
            return total, self.ending  # type: ignore[return-value]
        return total, "partially_filled" if total else "new"

    def events(self, rnd: random.Random) -> list[OrderEvent]:
        if self.ending == "rejected":
            return [
                OrderEvent(source="ack", client_id=CID, status="rejected", reason="insufficient balance"),
                OrderEvent(source="reconcile", client_id=CID, status="rejected"),
            ]
        cums, c = [D(0)], D(0)
        for _, q, _, _ in self.fills:
            c += q
            cums.append(c)

        def status_at(k: int) -> Status:
            return "filled" if cums[k] == self.qty else "partially_filled" if cums[k] else "new"

        k_ack = rnd.randrange(len(cums))  # an ack may already report the first fills
        evs = [
            OrderEvent(
                source="ack", client_id=CID, order_id="900", status=status_at(k_ack), filled_cum=cums[k_ack]
            )
        ]
        for i, (tid, q, px, fee) in enumerate(self.fills, start=1):
            f = fill(tid, str(q), str(px), str(fee))
            # Binance-like: one stream update carrying status, cumulative quantity and the execution;
            # OKX-like: a cumulative update and the execution separately; and a bare fill.
            evs.append(
                OrderEvent(source="stream", client_id=CID, status=status_at(i), filled_cum=cums[i], fill=f)
            )
            evs.append(OrderEvent(source="stream", client_id=CID, order_id="900", filled_cum=cums[i]))
            # a trade record naming only the venue's order id (Binance myTrades has no client id)
            bare = replace(f, client_id="")
            evs.append(OrderEvent(source="rest", client_id="", order_id="900", fill=bare))
        for k in rnd.sample(range(len(cums)), min(2, len(cums))):  # REST snapshots taken mid-life
            evs.append(OrderEvent(source="rest", client_id=CID, status=status_at(k), filled_cum=cums[k]))
        total, final = self.truth()
        if self.ending in ("canceled", "expired"):
            evs.append(OrderEvent(source="stream", client_id=CID, status=final, filled_cum=total))
        if self.ending == "cancel_raced":
            # The cancel answer says canceled (at what was filled then); the last fills won the race.
            k = rnd.randrange(len(cums) - 1) if len(cums) > 1 else 0
            evs.append(OrderEvent(source="rest", client_id=CID, status="canceled", filled_cum=cums[k]))
        evs.append(OrderEvent(source="reconcile", client_id=CID, status=final, filled_cum=total))
        return evs


def reference(qty: Decimal, delivered: list[OrderEvent]) -> tuple[Decimal, Status, set[str], Decimal]:
    """A separate, order-free reading of the delivered events: (filled, status, trade ids, fees).

    Events naming only the venue's order id count if some delivered event ties that id to the order."""
    tied = any(e.client_id == CID and (e.order_id or (e.fill and e.fill.order_id)) for e in delivered)
    delivered = [e for e in delivered if e.client_id == CID or tied]
    by_tid = {e.fill.trade_id: e.fill for e in delivered if e.fill is not None}
    fill_sum = sum((f.qty for f in by_tid.values()), D(0))
    stated = [e.filled_cum for e in delivered if e.filled_cum is not None]
    statuses = {e.status for e in delivered}
    filled = max([fill_sum, *stated, qty if "filled" in statuses else D(0)])
    fees = sum((f.fee for f in by_tid.values()), D(0))
    status: Status
    if filled >= qty:
        status = "filled"
    elif terminal := statuses & {"canceled", "expired", "rejected"}:
        (status,) = terminal  # one life has one kind of ending
    elif filled > 0 or "partially_filled" in statuses:
        status = "partially_filled"
    else:
        status = "new" if delivered else "pending"
    return filled, status, set(by_tid), fees


@st.composite
def lives(draw: st.DrawFn) -> Life:
    qty = D(draw(st.integers(1, 12)))
    ending = draw(st.sampled_from(["open", "filled", "canceled", "expired", "rejected", "cancel_raced"]))
    fills: list[tuple[str, Decimal, Decimal, Decimal]] = []
    if ending != "rejected":
        target = qty if ending in ("filled", "cancel_raced") else D(draw(st.integers(0, int(qty) - 1)))
        left, n = target, 0
        while left > 0:
            q = min(left, D(draw(st.integers(1, 4))) / draw(st.sampled_from([1, 2, 4])))
            px = D(draw(st.integers(9990, 10010))) / 100
            fills.append((f"T{n}", q, px, (q * px / 1000).quantize(D("0.0001"))))
            left -= q
            n += 1
    return Life(qty, fills, ending)


@settings(max_examples=400, deadline=None)
@given(life=lives(), seed=st.integers(0, 2**32), deliver_all=st.booleans(), unknown_first=st.booleans())
# Found by a CI run: only events naming the venue's order id (none tying it to the client id) were
# delivered to an order marked unknown: the reference read "pending" where the order stays unknown.
@example(
    life=Life(
        qty=D("1"),
        fills=[("T0", D("0.5"), D("99.9"), D("0.0500")), ("T1", D("0.25"), D("99.9"), D("0.0250")),
               ("T2", D("0.25"), D("99.9"), D("0.0250"))],
        ending="filled",
    ),
    seed=331, deliver_all=False, unknown_first=True,
)  # fmt: skip
def test_tracker_matches_reference_in_any_order(
    life: Life, seed: int, deliver_all: bool, unknown_first: bool
) -> None:
    rnd = random.Random(seed)
    events = life.events(rnd)
    delivered = events if deliver_all else [e for e in events if rnd.random() < 0.6]
    fed = delivered + [rnd.choice(delivered) for _ in range(rnd.randrange(4))] if delivered else []
    rnd.shuffle(fed)

    rec = Recorder()
    t = rec.tracker()
    t.track(intent(str(life.qty)))
    if unknown_first:
        t.mark_unknown(CID, "submit timed out", retry=True)
    for ev in fed:
        t.apply(ev)
    o = t.get(CID)
    assert o is not None

    filled, status, tids, fees = reference(life.qty, delivered)
    heard = status != "pending"  # some delivered event is the order's (by client id, or tied to it)
    if unknown_first and not heard:
        status = "unknown"
    assert (o.filled, o.status) == (filled, status)
    assert o.fee == fees
    # each distinct fill reported exactly once, whatever the duplicates and the order
    assert sorted(f.trade_id for f in rec.fills) == sorted(tids)
    assert all(f.client_id == CID for f in rec.fills)
    if deliver_all:
        assert (o.filled, o.status) == life.truth()
        if life.fills:
            notional = sum((q * px for _, q, px, _ in life.fills), D(0))
            assert o.avg_price == notional / o.filled
    # notifications: one per change, never a repeat, filled never decreasing, status never regressing
    for a, b in zip(rec.orders, rec.orders[1:], strict=False):
        assert a != b
        assert b.filled >= a.filled
        if a.status in TERMINAL:
            assert b.status == a.status or b.status == "filled"
    if rec.orders:
        assert rec.orders[-1] == o
    if heard:
        assert not t.retry_due(CID)  # any event of the order cancels the scheduled resend
    assert rec.anomalies == []


# -- named situations ------------------------------------------------------------------------------


def test_cancel_racing_the_last_fill_ends_filled() -> None:
    rec = Recorder()
    t = rec.tracker()
    t.track(intent("2"))
    t.apply(OrderEvent(source="ack", client_id=CID, order_id="900", status="new"))
    t.apply(OrderEvent(source="stream", client_id=CID, fill=fill("a", "1")))
    o = t.apply(OrderEvent(source="rest", client_id=CID, status="canceled", filled_cum=D(1)))
    assert o is not None and o.status == "canceled" and not o.is_open and o.remaining == 0
    o = t.apply(OrderEvent(source="stream", client_id=CID, fill=fill("b", "1")))
    assert o is not None and o.status == "filled" and o.filled == 2
    assert [f.trade_id for f in rec.fills] == ["a", "b"]


def test_late_events_for_a_closed_order_are_dropped_unless_they_add_a_fill() -> None:
    rec = Recorder()
    t = rec.tracker()
    t.track(intent("3"))
    t.apply(OrderEvent(source="stream", client_id=CID, order_id="900", status="canceled", filled_cum=D(1)))
    n = len(rec.orders)
    assert t.apply(OrderEvent(source="stream", client_id=CID, status="new")) is None
    assert (
        t.apply(OrderEvent(source="rest", client_id=CID, status="partially_filled", filled_cum=D(1))) is None
    )
    assert t.dropped == 2 and len(rec.orders) == n
    # the fill behind filled_cum=1 arrives late: reported, and the order stays canceled
    o = t.apply(OrderEvent(source="stream", client_id=CID, fill=fill("a", "1")))
    assert o is not None and o.status == "canceled" and o.filled == 1
    assert [f.trade_id for f in rec.fills] == ["a"]
    assert o.avg_price == 100 and len(rec.orders) == n + 1  # the fill told the price
    # the same fill again, from another source: nothing new
    assert t.apply(OrderEvent(source="rest", client_id="", order_id="900", fill=fill("a", "1"))) is None


def test_overfill_is_reported_never_clamped() -> None:
    rec = Recorder()
    t = rec.tracker()
    t.track(intent("1"))
    t.apply(OrderEvent(source="stream", client_id=CID, fill=fill("a", "1")))
    o = t.apply(OrderEvent(source="stream", client_id=CID, fill=fill("b", "0.5")))
    assert o is not None and o.filled == D("1.5") and o.overfilled and o.status == "filled"
    assert t.anomalies == 1 and "overfill" in rec.anomalies[0]
    assert len(rec.fills) == 2


def test_ack_after_time_out_leaves_unknown_and_cancels_the_resend() -> None:
    # NautilusTrader 4215: -1007, a resend scheduled, the ack arrives on the user stream, the resend
    # must not fire.
    t = OrderTracker()
    t.track(intent())
    o = t.mark_unknown(CID, "binance -1007: execution status unknown", retry=True)
    assert o is not None and o.status == "unknown" and o.reason.startswith("binance -1007")
    assert [x.client_id for x in t.unknown()] == [CID] and [x.client_id for x in t.in_flight()] == [CID]
    t.apply(OrderEvent(source="stream", client_id=CID, order_id="900", status="new"))
    assert t.get(CID).status == "new"  # type: ignore[union-attr]
    assert not t.retry_due(CID)
    assert t.unknown() == [] and t.in_flight() == []


def test_retry_due_is_taken_once_and_only_while_in_flight() -> None:
    t = OrderTracker()
    t.track(intent())
    t.mark_unknown(CID, "socket lost", retry=True)
    assert t.retry_due(CID)
    assert not t.retry_due(CID)  # taken: a second timer does not resend again
    t.schedule_retry(CID)
    t.cancel_retry(CID)
    assert not t.retry_due(CID)
    assert t.mark_unknown("nobody", "x") is None


def test_status_never_moves_backwards() -> None:
    t = OrderTracker()
    t.track(intent("4"))
    t.apply(OrderEvent(source="stream", client_id=CID, status="partially_filled", filled_cum=D(2)))
    assert t.apply(OrderEvent(source="ack", client_id=CID, status="new", filled_cum=D(0))) is None
    o = t.get(CID)
    assert o is not None and (o.status, o.filled, o.remaining) == ("partially_filled", 2, 2)


def test_foreign_orders_are_ignored_unless_adopted() -> None:
    t = OrderTracker()
    ev = OrderEvent(
        source="stream",
        client_id="other-x1",
        order_id="7",
        status="new",
        symbol="BTCUSDT",
        side="sell",
        qty=D(1),
    )
    assert t.apply(ev) is None and t.ignored == 1 and len(t) == 0
    mine = OrderTracker(adopt=lambda e: e.client_id.startswith("t1-"))
    assert mine.apply(ev) is None
    o = mine.apply(replace(ev, source="reconcile", client_id="t1-old5", order_id="8", price=D(5)))
    assert o is not None and o.status == "new" and o.type == "limit" and o.order_id == "8"
    assert mine.by_order_id("8") == o and mine.open_orders() == [o]


def test_lookups_and_registration_rules() -> None:
    t = OrderTracker()
    t.track(intent())
    with pytest.raises(InvalidOrder):
        t.track(intent())  # the same client id twice
    with pytest.raises(InvalidOrder):
        t.track(Order(venue="sim", symbol="X", side="buy", type="market", qty=D(1), client_id=""))
    t.apply(OrderEvent(source="ack", client_id=CID, order_id="900", status="new"))
    assert t.by_order_id("900") is t.get(CID)
    # an event naming only the venue's order id finds the order
    o = t.apply(OrderEvent(source="stream", client_id="", order_id="900", status="canceled"))
    assert o is not None and o.status == "canceled" and t.open_orders() == []
    t.discard(CID)
    assert t.get(CID) is None and t.by_order_id("900") is None


def test_fill_without_trade_id_is_an_anomaly_not_a_quantity() -> None:
    rec = Recorder()
    t = rec.tracker()
    t.track(intent())
    f = fill("", "1")
    t.apply(OrderEvent(source="stream", client_id=CID, fill=f))
    o = t.get(CID)
    assert o is not None and o.filled == 0 and rec.fills == [] and t.anomalies == 1


# -- amend ----------------------------------------------------------------------------------------------


def test_stated_terms_count_only_while_an_amend_is_in_flight() -> None:
    rec = Recorder()
    t = rec.tracker()
    t.track(intent("10"))
    new = OrderEvent(source="rest", client_id=CID, order_id="900", status="new", qty=D("10"), price=D("100"))
    t.apply(new)
    # Outside an amend a stated quantity is not a change of terms (a late event must not undo one).
    assert t.apply(replace(new, qty=D("4"), price=D("99"))) is None
    t.begin_amend(CID)
    # The amend's acknowledgement states no terms of its own; the state that follows does.
    assert t.apply(OrderEvent(source="ack", client_id=CID, order_id="900", qty=D("1"))) is None
    got = t.apply(replace(new, qty=D("6"), price=D("99.5")))
    assert got is not None and (got.qty, got.price, got.status) == (D("6"), D("99.5"), "new")
    t.end_amend(CID)
    # A stream event from before the amend, arriving after it, changes nothing.
    assert t.apply(replace(new, source="stream")) is None
    assert (t.get(CID).qty, t.get(CID).price) == (D("6"), D("99.5"))  # type: ignore[union-attr]
    assert rec.orders[-1] == t.get(CID)


def test_an_amend_down_to_the_filled_quantity_completes_the_order() -> None:
    t = Recorder().tracker()
    t.track(intent("10"))
    t.apply(
        OrderEvent(
            source="stream", client_id=CID, order_id="900", status="partially_filled", fill=fill("a", "4")
        )
    )
    t.begin_amend(CID)
    got = t.apply(
        OrderEvent(
            source="rest", client_id=CID, order_id="900", status="filled", filled_cum=D("4"), qty=D("4")
        )
    )
    t.end_amend(CID)
    assert got is not None and (got.qty, got.filled, got.status, got.remaining) == (
        D("4"),
        D("4"),
        "filled",
        0,
    )


def test_the_replaced_amends_kept_per_order_are_bounded_and_the_newest() -> None:
    """An order re-quoted by overlapping amends (each replacing the last one's open window) keeps at
    most ``MAX_QUEUED_AMENDS`` of the replaced changes, the newest — a venue applying an older one late
    is then read as a late word — rather than every one for the order's life."""
    from tickwire.trading.order_record import MAX_QUEUED_AMENDS

    t = Recorder().tracker()
    t.track(intent("10"))
    t.apply(
        OrderEvent(source="rest", client_id=CID, order_id="900", status="new", qty=D("10"), price=D("100"))
    )
    for k in range(1, 40):
        t.begin_amend(CID, (D("10"), D(100) - k))
    rec = t._recs[CID]
    assert len(rec.queued_amends) == MAX_QUEUED_AMENDS
    assert rec.queued_amends[-1] == (None, D(100) - 38) and rec.queued_amends[0] == (None, D(100) - 31)
    t.end_amend(CID)  # the last one settled: what the venue states next is a late word
    late = OrderEvent(source="stream", client_id=CID, order_id="900", status="new", qty=D("10"))
    # The newest replaced one, applied late by the venue, is taken; one dropped off the queue is not.
    assert t.apply(replace(late, price=D(100) - 31)) is not None and t.get(CID).price == D(69)  # type: ignore[union-attr]
    assert t.apply(replace(late, price=D(100) - 20)) is None and t.get(CID).price == D(69)  # type: ignore[union-attr]


def test_a_replaced_amends_own_word_arriving_after_the_later_amend_settled_is_not_taken() -> None:
    """Amend A (price 100 → 99) is applied by the venue, its window left open (its answer lost); amend
    B (→ 98) replaces that window, is applied on top of A and confirmed (venue time 3000). A's own
    stream word (stating 99, venue time 2000: before B) arrives only then — the stream congested. It
    is the venue's state before B, not A applied after it: the order stays at 98, and B's own word
    that follows it keeps it there. Before, it was taken as A applied late, and B's word then ignored
    as a late one: the tracker at 99 for good against the venue's 98."""
    t = Recorder().tracker()
    t.track(intent("10"))
    word = OrderEvent(source="stream", client_id=CID, order_id="900", status="new", qty=D("10"))
    t.apply(replace(word, price=D("100"), ts_ns=1000))
    t.begin_amend(CID, (D("10"), D("99")))  # A: answer lost, left open
    t.begin_amend(CID, (D("10"), D("98")))  # B: replaces A's window
    t.apply(replace(word, source="rest", price=D("98"), ts_ns=3000))  # B confirmed (its state query)
    assert t.get(CID).price == D("98") and not t._recs[CID].amending  # type: ignore[union-attr]
    t.apply(replace(word, price=D("99"), ts_ns=2000))  # A's own word, late
    t.apply(replace(word, price=D("98"), ts_ns=3000))  # B's own word
    got = t.get(CID)
    assert got is not None and got.price == D("98"), f"tracked {got and got.price}, the venue 98"
    # A applied by the venue after B (its word stamped after B's) is still taken.
    t.begin_amend(CID, (D("10"), D("97")))  # C: open
    t.begin_amend(CID, (D("10"), D("96")))  # D: replaces C's window
    t.apply(replace(word, source="rest", price=D("96"), ts_ns=5000))  # D confirmed
    t.apply(replace(word, price=D("97"), ts_ns=6000))  # C applied after D
    assert t.get(CID).price == D("97")  # type: ignore[union-attr]
