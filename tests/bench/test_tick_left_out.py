"""The tick stage's in-process rows (``tick_inproc``, ``tick_ready``) of ``tickwire``: a tick whose
order ``send`` could not write at once (no idle connection: the previous order's answer not read yet
when a late loop found the tick first) has no in-process stamp. It was dropped without a word —
3 of 60 ticks in a quick run on the shared VM — so the rows' tails (and the p99 budget on
``tick_inproc``) were of the ticks that did not wait. It is counted now, and the rows say so."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

from tickwire.bench import peers


class _Template:
    price_scale = 2

    def __init__(self) -> None:
        self.written_ns = 0
        self.rest = SimpleNamespace(ready_ns=0)
        self.at_once = True

    def send(self, price: int, qty: int) -> None:
        if self.at_once:  # written inside send, as the one call does
            self.rest.ready_ns = time.monotonic_ns()
            self.written_ns = time.monotonic_ns()
        # else: it waits in the send's task, written later with no stamp of send's own


def test_a_tick_whose_order_waited_is_counted_not_dropped() -> None:
    c = peers.Tickwire("ETHUSDT", {"ws": {"stream": "ws://127.0.0.1:1/stream"}, "rest": "http://127.0.0.1:1"})
    t = _Template()
    quote: Any = asyncio.run(c.strategy(t))
    for at_once in (True, False, True):
        t.at_once = at_once
        quote(SimpleNamespace(recv_ns=time.monotonic_ns(), best_bid_mantissa=lambda scale: 4_325_000))
    got = c.report()
    assert len(got["callback"]) == 3
    assert len(got["written"]) == len(got["ready"]) == 2
    assert got.get("left_out") == 1, got
    assert c.report().get("left_out") == 0  # forgotten once reported, as the samples are
