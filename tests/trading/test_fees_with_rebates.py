"""An order's fee is what its distinct fills were charged, a maker rebate (a negative fee: OKX's
positive ``fillFee``, tickwire's negative ``Fill.fee``) taking off, whatever order the fills and the
venue's cumulative fee statements came in."""

from __future__ import annotations

import random
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from tickwire.trading.orders import Fill, Order, OrderEvent
from tickwire.trading.tracker import OrderTracker
from tickwire.venues.okx.orders import Orders as OkxOrders

D = Decimal


def _tracker(qty: Decimal) -> OrderTracker:
    t = OrderTracker()
    t.track(Order(venue="okx", symbol="BTC-USDT", side="buy", type="limit", qty=qty, price=D(100),
                  client_id="c1"))  # fmt: skip
    return t


@settings(max_examples=200, deadline=None)
@given(
    fees=st.lists(st.integers(-30, 30), min_size=1, max_size=6),
    seed=st.integers(0, 2**32),
    stated=st.lists(st.booleans(), min_size=7, max_size=7),
)
def test_an_orders_fee_is_the_sum_of_its_fills_fees_rebates_included(
    fees: list[int], seed: int, stated: list[bool]
) -> None:
    """Each fill of 1, charged ``fee`` (negative: a rebate); a cumulative statement (quantity, fee)
    after some of them. Against the sum over the distinct fills."""
    rnd = random.Random(seed)
    n = len(fees)
    t = _tracker(D(n))
    evs = []
    for i, fee in enumerate(fees):
        f = Fill(venue="okx", symbol="BTC-USDT", client_id="c1", order_id="9", trade_id=f"T{i}",
                 side="buy", price=D(100), qty=D(1), fee=D(fee) / 1000, fee_asset="USDT")  # fmt: skip
        evs.append(OrderEvent(source="stream", client_id="c1", order_id="9", fill=f))
    for k in range(n + 1):
        if stated[k]:
            evs.append(OrderEvent(source="rest", client_id="c1", order_id="9", filled_cum=D(k),
                                  fee_cum=D(sum(fees[:k])) / 1000, fee_asset="USDT"))  # fmt: skip
    evs += [rnd.choice(evs) for _ in range(rnd.randrange(3))]
    rnd.shuffle(evs)
    for ev in evs:
        t.apply(ev)
    o = t.get("c1")
    assert o is not None and o.status == "filled"
    assert o.fee == D(sum(fees)) / 1000, (o.fee, D(sum(fees)) / 1000)


def test_okx_maker_rebates_read_from_the_trade_history_lower_the_orders_fee() -> None:
    """A post-only order's two fills, as the fills catch-up reads them from OKX's ``fills`` (naming
    only ``ordId``): maker fills rebated 0.0005 each (``fee`` +0.0005, OKX's sign). The order was paid
    0.001: its fee is -0.001, as the fills ``on_fill`` reported say."""
    t = _tracker(D(2))
    heard: list[Fill] = []
    t.on_fill = heard.append
    t.apply(OrderEvent(source="ack", client_id="c1", order_id="9"))
    rows = [{"instId": "BTC-USDT", "ordId": "9", "clOrdId": "", "tradeId": trade, "side": "buy",
             "fillPx": "100", "fillSz": "1", "fee": "0.0005", "feeCcy": "USDT", "execType": "M",
             "fillTime": "1700000000000"} for trade in ("t1", "t2")]  # fmt: skip
    for f in OkxOrders().read_fills(rows):
        t.apply(OrderEvent(source="rest", client_id="", order_id=f.order_id, fill=f))
    o = t.get("c1")
    assert o is not None and o.status == "filled"
    assert sum(f.fee for f in heard) == D("-0.001")
    assert o.fee == D("-0.001"), o.fee
