"""A Clarofinlore token log-in is a request the venue counts like any other (``Wire._charge_auth``), and
like any other it may be written well after its weight was taken — its new connection slow to set up.
The venue counts it from its arrival: counted from its take, its weight left the budget's window early
and let the next request in while the venue still counted it (``test_late_writes.py``). Checked
against the simulator's own per-key limiter."""

from __future__ import annotations

import asyncio
from typing import Any

import tickwire
from tickwire.errors import OrderNotFound
from tickwire.sim import Simulator
from tickwire.venues import clarofinlore
from tickwire.venues.clarofinlore import limits
from venue_limits import Account, refusals

V = "clarofinlore"
KEY, SECRET = "claro-late-login", "claro-late-login-secret"
A = Account(V, "btc-usdt", KEY, clarofinlore.Signer(KEY, SECRET), lambda v: v.add_key(KEY, SECRET))
SLOW_CONNECT_S = 0.5


def test_a_log_in_whose_connection_was_slow_to_set_up_is_counted_from_its_write() -> None:
    """Two sessions on one key, at a tier of 5 a second (the simulator's too). Session 1's token is
    dropped; its next query takes its weight and the log-in's at 0, and waits 0.5 s for a new
    connection. At 0.45 session 2 cancels four orders: three fit (5 in the budget); at the venue
    they open a window, and the log-in and the query arrive in it at 0.5 — 5. Counted from its
    take, the log-in left the budget's window at about 1.15 and the fourth cancel went at once: 6 in
    the venue's window, a 429. Counted from its write, the fourth waits for the venue's next
    window."""

    async def go() -> None:
        async with Simulator([V], seed=7, rate=0, depth=20, profiles={V: {"rate_limit": 5}}) as sim:
            A.register(sim.venue(V))
            sim.fund(V, KEY, A.funds)
            async with (
                tickwire.trade(V, credentials=A.signer, endpoints=sim.urls()[V], rate_wait=10) as one,
                tickwire.trade(V, credentials=A.signer, endpoints=sim.urls()[V], rate_wait=10) as two,
            ):
                for tr in (one, two):
                    tr.budget.set_limits([limits.tier(5)], replace=True)
                resting = []
                for _ in range(4):
                    resting.append(await A.resting_buy(sim, two))
                await asyncio.sleep(2.3)  # everything so far out of both windows
                before = refusals(sim, V)
                tokens: Any = one.wire.tokens
                tokens.forget(tokens.token)
                http: Any = one.wire.http
                for c in list(http._idle):
                    c.abort()
                http._idle.clear()
                real_open = http._open

                async def slow_open(loop: asyncio.AbstractEventLoop, deadline: float) -> object:
                    await asyncio.sleep(SLOW_CONNECT_S)
                    return await real_open(loop, deadline)

                http._open = slow_open

                async def query() -> None:
                    try:
                        await one.order_status(A.symbol, client_id="neverplaced")
                    except OrderNotFound:
                        pass

                asked = asyncio.create_task(query())
                await asyncio.sleep(0.45)
                for o in resting:
                    await two.cancel_order(A.symbol, client_id=o.client_id)
                await asked
                assert tokens.logins >= 1
                assert refusals(sim, V) == before, [e for e in sim.endpoint(V, 0).exchanges if e[2] == 429]

    asyncio.run(asyncio.wait_for(go(), 60))
