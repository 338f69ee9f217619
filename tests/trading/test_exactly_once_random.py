"""Exactly once under random faults: a seeded random sequence of places, template sends, cancels and
amends, with faults the simulator injects and a market that fills some orders in part or whole, then
the session's view held to the simulator's own state (``exactly_once_cases``):

1. every order the simulator holds for the account is tracked with its status, quantity filled,
   quantity, price and venue id; what the tracker holds that the venue never took is ``rejected``;
2. no client id reached the simulator's engine twice (``Engine.place_requests``): nothing was resent
   after an unknown outcome;
3. the fills ``on_fill`` heard are the simulator's, each once by trade id, and each order's quantity
   filled is the sum of its fills heard;
4. nothing raised but the library's typed errors, and a call refused before sending left the tracker
   as it was;
5. no limit the venue announces or documents was crossed: the simulator refused nothing for one
   (Binance's ``MAX_NUM_ORDERS`` and order count, set low here; OKX's and Bybit's per-instrument and
   per-UID order limits) — the session held those orders back with typed refusals instead.

The operations are drawn from the seed; their interleaving with the answers depends on the machine's
timing, so a failure names what ran and the trace of the run's last steps.

Binance spot over REST and over its WS API (``transport="ws"``), OKX and Bybit over REST and over their
order sockets; each seed is fixed, so a failure is replayed by its id (the failure's message holds the
seed, what ran and what the venue was left with)."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
import tickwire
from exactly_once_cases import PROFILES, Chaos
from session_cases import SimAccount
from test_session_binance import BINANCE
from test_session_bybit import BYBIT
from test_session_okx import OKX
from tickwire.sim import Simulator
from tickwire.trading.orders import Fill

# Binance spot with a 1 s ``recvWindow``: a lost order is called absent once that has passed, not 5 s.
VENUES = ((BINANCE.short_window(), (1, 2, 3)), (OKX, (1, 2, 3)), (BYBIT, (1, 2)))
# (account, transport, seed, operations and faults drawn, operations at once)
CASES = [
    (acct, transport, seed, 30, 3) for acct, seeds in VENUES for transport in ("rest", "ws") for seed in seeds
]
# Seeds that found a fault (each now with a targeted test of its own), failing on the code before:
# OKX over its socket, an amend refused while the socket was down after one acknowledged while the state
# queries were refused for rate — the tracker kept the old price against the venue's new one
# (``test_amend.py::test_an_amend_refused_after_an_unconfirmed_one_…``); OKX over REST, orders called
# not placed that the venue took while the stream was away, left ``rejected`` while they rested there
# (``test_stream_gaps_reconciled.py::test_an_order_called_not_placed_that_the_venue_takes_in_a_gap_…``);
# OKX over REST, an amend the venue applied after a later one, its price ignored as a late word
# (``test_amend.py::test_an_amend_the_venue_applies_after_a_later_amend_is_tracked``).
CASES += [(OKX, "ws", 32, 40, 3), (OKX, "rest", 42, 50, 4), (OKX, "rest", 256, 40, 3)]


@pytest.mark.parametrize(
    "acct,transport,seed,steps,at_once", CASES, ids=[f"{c[0].venue}-{c[1]}-{c[2]}" for c in CASES]
)
def test_random_orders_under_faults_are_each_at_the_venue_once_as_tracked(
    acct: SimAccount, transport: str, seed: int, steps: int, at_once: int
) -> None:
    a = acct

    async def go() -> None:
        started = time.monotonic()
        async with Simulator([a.venue], seed=seed, rate=0, depth=20, profiles=PROFILES) as sim:
            a.register(sim.venue(a.venue))
            sim.fund(a.venue, a.key, a.funds)
            fills: list[Fill] = []
            async with tickwire.trade(
                a.venue,
                credentials=a.signer,
                endpoints=sim.urls()[a.venue],
                transport=transport,
                timeout=0.5,  # a lost answer costs half a second, not five
                on_fill=fills.append,
            ) as tr:
                chaos = Chaos(a, sim, tr, random.Random(seed), transport, fills=fills)
                await chaos.run(steps, at_once)
                chaos.lift_faults()
                settled = await chaos.settled(6.0)
                # Private-stream words still on their way: a short grace before calling a difference one.
                for _ in range(20):
                    if not chaos.disagreements():
                        break
                    await asyncio.sleep(0.1)
                wrong = chaos.disagreements()
                unsettled = [
                    (o.client_id, o.status) for o in tr.tracker if o.status in ("pending", "unknown")
                ]
                took = time.monotonic() - started
                summary = (
                    f"seed {seed} ({a.venue}, {transport}), {took:.1f} s: ran {dict(chaos.ran)}, "
                    f"errors {dict(chaos.typed)}, {chaos.venue_summary()}, settled {settled} {unsettled}"
                )
                print(summary)
                trace = "\n".join(chaos.trace[-40:])
                assert settled and not wrong, f"{summary}\n" + "\n".join(wrong) + f"\nlast steps:\n{trace}"

    asyncio.run(go())
