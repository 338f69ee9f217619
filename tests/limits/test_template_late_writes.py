"""An order template's order written well after its weight was taken — no kept-alive connection idle
when it was sent, so it went out only once a new one was set up (a distant venue's TLS handshake) —
is counted by the venue from its arrival, as ``place_order``'s is (``RateBudget.restamp``,
``tests/limits/test_late_writes.py``). Checked against the simulator's own limiter and log, at OKX,
whose answers report no usage the budget could correct itself from."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession
from tickwire.venues import okx
from tickwire.venues.okx import limits as okx_limits
from venue_limits import Account, exchanges, refusals

V = "okx"
PLACE = "POST /api/v5/trade/order"
LIMIT, WINDOW_S = 10, 2.0
SLOW_CONNECT_S = 1.0


def test_a_template_order_written_after_a_slow_connect_is_counted_from_its_write() -> None:
    """10 places per 2 s on the instrument (9 for new orders, one kept for cancels). Two template
    sends find no idle connection: their weight is taken at 0, their bytes reach the venue at about
    1.0, after the connect. Seven ``place_order``s go at 0.5 on connections already open: the
    venue's window opens at 0.5 and holds all nine. Counted from its take, each template order left
    the budget's window (2.1 s) at about 2.2 and two more orders went — at the venue inside the
    window that opened at 0.5: 11 of 10, a 50011. Counted from the write, they wait for the venue's
    next window."""
    a = Account(V, "BTC-USDT", "okx-tmpl-late", okx.Signer("okx-tmpl-late", "s3cret", "Phrase-1"),
                lambda v: v.add_key("okx-tmpl-late", "s3cret", "Phrase-1"))  # fmt: skip

    async def body(sim: Simulator, tr: TradingSession) -> None:
        http: Any = tr.wire.http
        tr.budget.set_limits([okx_limits._per_inst("PLACE", LIMIT)])  # as the simulator counts
        await asyncio.gather(*(a.resting_buy(sim, tr) for _ in range(7)))  # 7 connections kept open
        await asyncio.sleep(WINDOW_S + 0.3)  # those orders out of every window, here and at the venue
        rules = tr.rules[a.symbol]
        price = sim.book(V, a.symbol).bids[0][0] - 200 * rules.tick_size
        tmpl = tr.template(a.symbol, "buy")
        p, q = int(price.scaleb(tmpl.price_scale)), int(rules.min_qty.scaleb(tmpl.qty_scale)) * 2

        idle = list(http._idle)
        http._idle.clear()  # none idle for the templates: each opens its own, slowly
        real_open = http._open

        async def slow_open(loop: asyncio.AbstractEventLoop, deadline: float) -> object:
            await asyncio.sleep(SLOW_CONNECT_S)
            return await real_open(loop, deadline)

        http._open = slow_open
        t0 = time.monotonic()
        late = [tmpl.send(p, q) for _ in range(2)]
        await asyncio.sleep(0)  # both tasks at their connect
        http._open = real_open
        http._idle.extend(idle)
        await asyncio.sleep(0.5)
        burst = await asyncio.gather(*(a.resting_buy(sim, tr) for _ in range(7)))
        assert all(o.status == "new" for o in [*burst, *await asyncio.gather(*late)])
        assert time.monotonic() - t0 < WINDOW_S  # the templates' orders inside the burst's window
        more = await asyncio.gather(*(a.resting_buy(sim, tr) for _ in range(2)), return_exceptions=True)
        places = [round(x[0] - t0, 3) for x in exchanges(sim, V) if x[1] == PLACE][-11:]
        assert refusals(sim, V) == 0, (places, more)

    a.run(body, {"order_rate_limit": LIMIT}, {"order_window": WINDOW_S}, rest_connections=16,
          adopt=False, private_stream=False, rate_wait=10.0)  # fmt: skip
