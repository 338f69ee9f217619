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
from dataclasses import replace

import pytest
import tickwire
from exactly_once_cases import PROFILES, Chaos
from session_cases import SimAccount
from test_session_binance import BINANCE
from test_session_bybit import BYBIT
from test_session_clarofinlore import CLARO
from test_session_coinbase import COINBASE
from test_session_htx import HTX
from test_session_kraken import KRAKEN
from test_session_okx import OKX
from test_session_tradefence import CID, REDIRECT, SECRET, TRADEFENCE, follow
from test_session_usdm import USDM
from tickwire.sim import Simulator
from tickwire.trading.orders import Fill
from tickwire.venues import tradefence
from tickwire.venues.kraken import orders as kraken_orders

# Tradefence's webhook deliveries retried at once (its receiver is the session's private channel).
TIMEOUTS = {"webhook_retry": 0.01, "webhook_timeout": 1.0}
# Kraken's Starter counters (15 REST calls per 45 s, 60 trading per pair per 60 s) run thirty times as
# fast at the venue and in the session's budget alike: a run of seconds is held to them, and an order
# whose reconciliation the budget holds back is settled within the test's wait, not 45 s later.
KRAKEN_FAST = 30
TIMEOUTS |= {"rest_window": 45.0 / KRAKEN_FAST, "pair_window": 60.0 / KRAKEN_FAST}

BOTH, REST = ("rest", "ws"), ("rest",)
# Binance spot with a 1 s ``recvWindow``: a lost order is called absent once that has passed, not 5 s.
# (account, transports, seeds): Coinbase, HTX and the seed venues take orders over REST only
# (Cloud9trader takes none at all).
VENUES = (
    (BINANCE.short_window(), BOTH, (1, 2, 3)),
    (OKX, BOTH, (1, 2, 3)),
    (BYBIT, BOTH, (1, 2)),
    (USDM, BOTH, (1,)),
    (KRAKEN, BOTH, (1, 3)),
    (COINBASE, REST, (1, 2)),
    (HTX, REST, (1,)),
    (TRADEFENCE, REST, (1,)),
    (CLARO, REST, (1,)),
)
# (account, transport, seed, operations and faults drawn, operations at once, batches and cancel-alls
# too): the venues first covered keep their first seeds' draws; the others draw the extras.
FIRST = ("binance", "okx", "bybit")
CASES = [
    (acct, transport, seed, 30, 3, acct.venue not in FIRST)
    for acct, transports, seeds in VENUES
    for transport in transports
    for seed in seeds
]
# Seeds that found a fault (each now with a targeted test of its own), failing on the code before:
# OKX over its socket, an amend refused while the socket was down after one acknowledged while the state
# queries were refused for rate — the tracker kept the old price against the venue's new one
# (``test_amend.py::test_an_amend_refused_after_an_unconfirmed_one_…``); OKX over REST, orders called
# not placed that the venue took while the stream was away, left ``rejected`` while they rested there
# (``test_stream_gaps_reconciled.py::test_an_order_called_not_placed_that_the_venue_takes_in_a_gap_…``);
# OKX over REST, an amend the venue applied after a later one, its price ignored as a late word
# (``test_amend.py::test_an_amend_the_venue_applies_after_a_later_amend_is_tracked``).
# Coinbase over REST, an order whose place got a 503 (never at the venue) reconciled while another was:
# "found" on the other's entry of the product's listing, it stayed unknown for good
# (``test_session_coinbase.py::test_two_orders_reconciled_at_once_are_each_found_by_its_own_entry``);
# Kraken over its socket, a cancel-all while the socket was down raised ValueError, not a typed error
# (``test_session_kraken.py::test_over_the_order_socket_a_call_while_it_is_down_is_refused_typed_…``).
# Coinbase over REST with the user channel held (seed 8 failed so one run in three or four here; seed 10
# was the first report), a fill told first by a REST answer (a cancel-all's listing, a state query) that
# left its fetch to the stream, whose late word raised nothing: tracked filled, never heard by on_fill
# (``test_session_coinbase.py::test_a_fill_a_query_told_before_the_held_user_channel_is_still_heard_once``).
CASES += [(OKX, "ws", 32, 40, 3, False), (OKX, "rest", 42, 50, 4, False), (OKX, "rest", 256, 40, 3, False)]
CASES += [(COINBASE, "rest", 5, 30, 3, False), (KRAKEN, "ws", 14, 30, 3, True)]
CASES += [(COINBASE, "rest", 8, 30, 3, True), (COINBASE, "rest", 10, 30, 3, True)]


@pytest.mark.parametrize(
    "acct,transport,seed,steps,at_once,extras", CASES, ids=[f"{c[0].venue}-{c[1]}-{c[2]}" for c in CASES]
)
def test_random_orders_under_faults_are_each_at_the_venue_once_as_tracked(
    acct: SimAccount,
    transport: str,
    seed: int,
    steps: int,
    at_once: int,
    extras: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a = acct
    if a.venue == "kraken":
        fast = tuple(replace(lim, window_s=lim.window_s / KRAKEN_FAST) for lim in kraken_orders.Orders.limits)
        monkeypatch.setattr(kraken_orders.Orders, "limits", fast)

    async def go() -> None:
        started = time.monotonic()
        async with Simulator(
            [a.venue], seed=seed, rate=0, depth=20, profiles=PROFILES, timeouts=TIMEOUTS
        ) as sim:
            a.register(sim.venue(a.venue))
            sim.fund(a.venue, a.key, a.funds)
            fills: list[Fill] = []
            signer, kw = a.signer, {}
            if a.venue == "tradefence":  # the OAuth code flow against this simulator; its webhooks
                rest = sim.urls()[a.venue][0]["rest"]
                signer = tradefence.Signer(CID, SECRET, redirect_uri=REDIRECT, auth_url=rest)
                await signer.authorize(follow)
                kw = {"webhook": ("127.0.0.1", 0), "webhook_secret": "hook-secret"}
            async with tickwire.trade(
                a.venue,
                credentials=signer,
                endpoints=sim.urls()[a.venue],
                transport=transport,
                timeout=0.5,  # a lost answer costs half a second, not five
                on_fill=fills.append,
                **kw,
            ) as tr:
                chaos = Chaos(a, sim, tr, random.Random(seed), transport, fills=fills, extras=extras)
                await chaos.run(steps, at_once)
                chaos.lift_faults()
                settled = await chaos.settled(6.0)
                if tr.stream is None and tr.channels.webhook is None:
                    # Nothing tells this session what the venue did meanwhile (Clarofinlore has no
                    # private channel): its user catches up as it would, with the session's own
                    # reconciliation — held to the same checks.
                    await tr.reconcile_open()
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
