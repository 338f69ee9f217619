"""A USDⓈ-M batch of new orders counted as the venue counts it (its documented cost)."""

from __future__ import annotations

import orjson
import pytest
from tickwire.trading.venue import Call
from tickwire.venues.binance import usdm_limits


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_a_batch_of_new_orders_is_never_counted_below_the_venues_five_on_the_ten_second_window(
    n: int,
) -> None:
    """``POST /fapi/v1/batchOrders`` (derivatives docs, "Place Multiple Orders": "5 on 10s order rate
    limit (X-MBX-ORDER-COUNT-10S); 1 on 1min order rate limit; 5 on IP rate limit"), whatever the
    number of orders in it. ``ORDERS`` charges every order window, the 10 s one included: a batch of
    ``n`` < 5 orders counted ``n`` there is under-counted, and 300 / n batches in 10 s — within the
    budget — are 1500 / n > 300 at the venue (before: ``{"WEIGHT": 5, "ORDERS": n}``)."""
    items = [{"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.001", "price": "1"}] * n
    call = Call("POST", "/fapi/v1/batchOrders", {"batchOrders": orjson.dumps(items).decode()})
    got = usdm_limits.cost(call)
    assert got["WEIGHT"] == 5
    assert got["ORDERS"] >= 5, got
