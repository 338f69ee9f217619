"""The health monitor's rules (``tickwire.trading.watch.Watch``) read every one of them on every
check: what one rule saw while another held the switch thrown is not taken, after a resume, for an
outage that never ended. On a session's own report, without a venue (as ``test_watch``'s crossed-book
case)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from tickwire.trading.orders import Order, OrderEvent
from tickwire.trading.tracker import OrderTracker
from tickwire.trading.watch import Watch


class Socket:
    connected = True


class Session:
    """What the monitor reads of a trading session; ``kill`` halts it, as the real one does."""

    venue, stream = "v", None

    def __init__(self) -> None:
        self.tracker = OrderTracker()
        self.orders_ws = Socket()
        self.halted: str | None = None
        self.kills: list[str] = []

    async def kill(self, reason: str) -> Any:
        self.halted = reason
        self.kills.append(reason)
        return None


def test_a_socket_up_all_through_a_halt_is_not_read_as_down_since_before_it() -> None:
    """The order socket is down at t=0 and back by t=10, when an order unknown for 10 s throws the
    switch; it stays up for 20 s of checks while halted, the order is settled, the session resumed,
    and the socket drops for a moment at t=30. Before: the rules after the first that answered were
    never read (``or``), so the socket's t=0 outage was never seen to end — the next check killed the
    resumed session for "order socket down for over 10 s", a blip of one second."""

    async def go() -> None:
        clock, s = [0.0], Session()
        w = Watch(s, unknown_after_s=10, link_lost_s=10, clock=lambda: clock[0])  # type: ignore[arg-type]
        lost = Order(venue="v", symbol="X", side="buy", type="limit", qty=Decimal(1), price=Decimal(1),
                     client_id="tw-lost1")  # fmt: skip
        s.tracker.track(lost)
        s.tracker.mark_unknown(lost.client_id, "answer lost")
        s.orders_ws.connected = False
        assert await w.tick() is None
        clock[0], s.orders_ws.connected = 10.0, True  # back up
        await w.tick()
        assert len(s.kills) == 1 and "unknown" in s.kills[0]
        for t in range(11, 30):  # halted: checked every second, the socket up throughout
            clock[0] = float(t)
            await w.tick()
        s.tracker.apply(OrderEvent(source="rest", client_id=lost.client_id, order_id="1", status="canceled"))
        s.halted = None  # resume()
        clock[0], s.orders_ws.connected = 30.0, False  # a blip
        await w.tick()
        clock[0] = 31.0
        await w.tick()
        assert len(s.kills) == 1, f"killed a resumed session on a 1 s blip: {s.kills[1:]}"

    asyncio.run(go())
