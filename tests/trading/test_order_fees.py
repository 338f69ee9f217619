"""Fees in several assets: one order's fills paid partly in BNB and partly in the quote asset (as
Binance charges while BNB lasts), summed per asset once per trade id, and carried whole across the
gateway's bus."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from tickwire.bus.codec import dump, load_order
from tickwire.trading.orders import Fee, Fill, Order, OrderEvent
from tickwire.trading.tracker import OrderTracker

ASSETS = ("USDT", "BNB", "BTC")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 9), st.sampled_from(ASSETS), st.integers(0, 50)), min_size=1, max_size=25
    )
)
def test_every_fee_is_summed_in_its_own_asset_once_per_trade(fills: list[tuple[int, str, int]]) -> None:
    """Against a per-asset sum over the distinct trade ids (a repeated trade id is the same fill told
    twice: its first telling counts). Before, fees in any asset but the first fill's were dropped."""
    t = OrderTracker()
    t.track(Order(venue="binance", symbol="BTCUSDT", side="buy", type="limit", qty=Decimal(1000),
                  price=Decimal(100), client_id="c"))  # fmt: skip
    want: dict[str, Decimal] = {}
    seen: set[int] = set()
    for trade, asset, fee in fills:
        f = Fill(venue="binance", symbol="BTCUSDT", client_id="c", order_id="o", trade_id=str(trade),
                 side="buy", price=Decimal(100), qty=Decimal(1), fee=Decimal(fee) / 1000,
                 fee_asset=asset)  # fmt: skip
        t.apply(OrderEvent(source="stream", client_id="c", fill=f))
        if trade not in seen:
            seen.add(trade)
            want[asset] = want.get(asset, Decimal(0)) + f.fee
    o = t.get("c")
    assert o is not None
    assert {a: n for a, n in o.fees.items() if n} == {a: n for a, n in want.items() if n}
    assert o.fee_asset == fills[0][1] and all(f.asset != o.fee_asset for f in o.other_fees)
    assert load_order(dump(o)) == o  # the bus carries every asset's fee exactly


def test_an_order_with_no_other_fees_is_as_before() -> None:
    o = Order(venue="binance", symbol="BTCUSDT", side="buy", type="limit", qty=Decimal(1), client_id="c",
              fee=Decimal("0.1"), fee_asset="BNB", other_fees=(Fee("USDT", Decimal("2.5")),))  # fmt: skip
    assert o.fees == {"BNB": Decimal("0.1"), "USDT": Decimal("2.5")}
    assert Order(venue="x", symbol="s", side="buy", type="market", qty=Decimal(1), client_id="c").fees == {}
