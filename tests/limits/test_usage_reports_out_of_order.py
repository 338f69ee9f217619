"""Answers come back out of order (several keep-alive connections, a slow one): a usage header is as of
its own request, so an answer to an *older* request reporting less than a newer answer did says
nothing about the venue's count now — it only has not seen what came after. Applied as it came, it
replaced the newer, larger count (``Window.observe`` sets the floor): the budget moved backwards,
forgot the weight another process had spent on the address, and let a burst past the venue's limit."""

from __future__ import annotations

import asyncio

import tickwire
from tickwire.errors import RateLimitError
from weighed import spend, weighed_binance

WINDOW_S = 10.0
LIMIT = 60


def test_an_older_answers_smaller_usage_does_not_undo_a_newer_report() -> None:
    async def go() -> None:
        async with weighed_binance("usage-out-of-order", limit=LIMIT, window_s=WINDOW_S) as (_sim, ep, tr):
            # Start in a fresh window of the venue's (aligned to its clock).
            await asyncio.sleep(WINDOW_S - (ep.now_ms() / 1000) % WINDOW_S + 0.05)
            reported: list[int] = []

            async def meanwhile() -> None:
                # While the answer to A is on its way: another process on the address spends
                # most of the window, then the session's next query (B) is answered at once.
                await spend(ep, LIMIT - 5, "10s")
                await tr.open_orders("BTCUSDT")  # B: its answer reports the window nearly full
                reported.append(tr.budget.windows["WEIGHT_10S"].used(tr.budget.clock()))

            ep.hold_answer("GET /api/v3/openOrders", meanwhile)
            await tr.open_orders("BTCUSDT")  # A: answered last, its usage as of its arrival (1)
            after = tr.budget.windows["WEIGHT_10S"].used(tr.budget.clock())
            # A burst that fits the budget's own count: every one sent is the venue's to count.
            results = await asyncio.gather(
                *(tr.open_orders("BTCUSDT") for _ in range(6)), return_exceptions=True
            )
            for r in results:
                assert not isinstance(r, BaseException) or isinstance(r, RateLimitError), r
        refused = [(op, st) for _, op, st, _ in ep.exchanges if st in (429, 418)]
        assert not refused, (
            f"budget at {reported} after B's answer, {after} after A's older one: the venue refused {refused}"
        )

    asyncio.run(go())


def test_a_snapshots_usage_is_as_of_its_request_too() -> None:
    """A market-data session's depth snapshot reads the address's usage from its answer like a
    trading session's request does — as of when the snapshot went out: read as of its arrival here,
    a snapshot answered after a trading query (which reported the window nearly full) put the count
    back to the snapshot's own, and the next queries crossed the venue's limit."""

    async def go() -> None:
        async with weighed_binance("snapshot-usage-order", limit=LIMIT, window_s=WINDOW_S) as (sim, ep, tr):
            urls = sim.urls()["binance"]
            await asyncio.sleep(WINDOW_S - (ep.now_ms() / 1000) % WINDOW_S + 0.05)
            done = asyncio.Event()

            async def meanwhile() -> None:
                # While the snapshot's answer is on its way: another process spends most of the
                # window, and a trading query's answer reports it.
                await spend(ep, LIMIT - 5, "10s")
                await tr.open_orders("BTCUSDT")
                done.set()

            ep.hold_answer("GET /api/v3/depth", meanwhile)
            md = tickwire.connect(
                "binance", ["BTCUSDT"], endpoints=urls, probe_interval=None, clock_sync=None,
                venue_options={"snapshot_limit": 100},
            )  # fmt: skip
            await md.start(wait=False)
            try:
                await asyncio.wait_for(done.wait(), 5.0)
                end = asyncio.get_running_loop().time() + 2.0
                while md.book("BTCUSDT").state != "synced" and asyncio.get_running_loop().time() < end:
                    await asyncio.sleep(0.01)  # the snapshot's answer read
                results = await asyncio.gather(
                    *(tr.open_orders("BTCUSDT") for _ in range(6)), return_exceptions=True
                )
                for r in results:
                    assert not isinstance(r, BaseException) or isinstance(r, RateLimitError), r
            finally:
                await md.close()
        refused = [(op, st) for _, op, st, _ in ep.exchanges if st in (429, 418)]
        assert not refused, f"the venue refused {refused}"

    asyncio.run(go())
