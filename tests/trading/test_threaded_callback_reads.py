"""``tr.health()`` and ``tr.prepare()`` from ``on_order`` (the session thread): neither waits for
anything, so both answer there as on any other thread; checked against the simulator's order list."""

from __future__ import annotations

import time
from typing import Any

from test_threaded_trading import SYMBOL, simulator
from tickwire.trading.orders import Order
from tickwire.trading.threaded import ThreadedTrading


def test_health_and_prepare_answer_in_a_callback() -> None:
    """A bot's ``on_order`` reads ``tr.health()`` and prepares its next order with ``tr.prepare()``:
    the health counts the order just heard open, the prepared order carries the terms asked and a
    client id of its own, and nothing more reaches the venue (prepare sends nothing). Before: both
    raised ``OnLoopThread`` ("would wait for itself") though neither waits for anything."""
    with simulator() as st:
        box: list[ThreadedTrading] = []
        got: list[Any] = []

        def on_order(o: Order) -> None:
            if o.status == "new" and not got:
                tr = box[0]
                for read in (tr.health, lambda: tr.prepare(SYMBOL, "sell", "limit", o.qty, o.price * 2)):
                    try:
                        got.append(read())
                    except Exception as e:
                        got.append(e)

        tr = st.handle(on_order=on_order).start(10.0)
        box.append(tr)
        try:
            price, qty = st.resting(tr)
            placed = tr.place_order(SYMBOL, "buy", "limit", qty, price)
            end = time.monotonic() + 10.0
            while len(got) < 2 and time.monotonic() < end:  # the stream's word may come after the answer
                time.sleep(0.01)
            health, prepared = got
            assert isinstance(health, dict) and health["open_orders"] == 1, health
            assert isinstance(prepared, Order), repr(prepared)
            assert (prepared.side, prepared.qty, prepared.price) == ("sell", qty, price * 2)
            assert prepared.client_id != placed.client_id
            assert [(o.client_id, o.open) for o in st.orders()] == [(placed.client_id, True)]
        finally:
            tr.close(2.0)
