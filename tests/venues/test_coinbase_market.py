"""Coinbase market data as Coinbase serves it: a ``-USDC`` product's public messages name its ``-USD``
product (one order book for both quotes; ``USDT-USDC`` and ``EURC-USDC`` excepted). The simulator
serves them so; its own books are the truth."""

from __future__ import annotations

import asyncio

import tickwire
from simbook import assert_books_match, eventually
from tickwire.sim import Simulator
from tickwire.venues.coinbase.market import served_as


def test_a_usdc_product_is_served_as_its_usd_one_but_two_real_usdc_books() -> None:
    assert [served_as(p) for p in ("BTC-USDC", "ETH-USDC", "USDT-USDC", "EURC-USDC", "BTC-USD")] == [
        "BTC-USD", "ETH-USD", "USDT-USDC", "EURC-USDC", "BTC-USD",
    ]  # fmt: skip


def test_a_usdc_subscription_reads_the_book_its_usd_messages_build() -> None:
    """Subscribed as ``BTC-USDC``: ``md.book("BTC-USDC")`` is the book the venue's ``BTC-USD``
    messages build, equal to the simulator's; unsubscribing it while ``BTC-USD`` is still
    subscribed leaves that book as it was. Before: ``md.book("BTC-USDC")`` never existed
    (``books not in sync after 5.0 s: ['BTC-USDC']``), the messages building a ``BTC-USD`` book no
    one asked for."""

    async def go() -> None:
        async with Simulator(["coinbase"], seed=3, rate=200, depth=25) as sim:
            async with tickwire.connect(
                "coinbase", ["BTC-USDC", "BTC-USD"], endpoints=sim.urls()["coinbase"],
                probe_interval=None, ready_timeout=5.0,
            ) as md:  # fmt: skip
                await assert_books_match(md, sim, "coinbase", ["BTC-USD"])
                assert (
                    md.is_synced("BTC-USDC")
                    and md.book("BTC-USDC").best_bid() == md.book("BTC-USD").best_bid()
                )
                await md.unsubscribe(["BTC-USDC"])
                await asyncio.sleep(0.2)
                assert md.is_synced("BTC-USD")
                await assert_books_match(md, sim, "coinbase", ["BTC-USD"])  # still applied, still right

    asyncio.run(go())


def test_good_products_subscribed_with_one_coinbase_does_not_list_sync() -> None:
    """Coinbase refuses a whole subscribe message for one product it does not list, "Failure to
    subscribe", naming none. ``md.subscribe([good, bad])`` goes out as one ``level2`` message: the good
    product is asked again in a message of its own, syncs and equals the simulator's book, the session
    is not cut (before: the good product was never subscribed on the wire, out of sync for good)."""

    async def go() -> None:
        async with Simulator(["coinbase"], seed=74, rate=300, depth=25) as sim:
            a, b = list(sim.venue("coinbase").instruments)[:2]
            async with tickwire.connect(
                "coinbase", [a], endpoints=sim.urls()["coinbase"], probe_interval=None
            ) as md:
                await md.wait_synced(timeout=5.0)
                await md.subscribe([b, "NOPE-USD"])
                await eventually(lambda: md.is_synced(b), timeout=10.0, what=lambda: f"{b}: {md.health()}")
                conn = next(iter(sim.endpoint("coinbase").conns.values()))
                assert {f"level2:{a}", f"level2:{b}"} <= conn.topics, conn.topics
                assert not any("NOPE" in t for t in conn.topics), conn.topics
                assert md.counters["reconnects"] == 0, md.health()
                await assert_books_match(md, sim, "coinbase", [a, b])

    asyncio.run(go())


def test_a_burst_of_subscribe_and_unsubscribe_keeps_to_coinbase_eight_messages_a_second() -> None:
    """Coinbase limits unauthenticated WebSocket messages to 8 a second per IP (venues.md §5.2; the
    simulator refuses past it, counted). A strategy adding and dropping a product a few times in a
    row sends a subscribe (the channel and heartbeats) or an unsubscribe each time: they go out
    paced, none refused, and every book ends equal to the simulator's (before: 5 refused by the
    simulator's limiter)."""

    async def go() -> None:
        async with Simulator(["coinbase"], seed=62, rate=200, depth=20) as sim:
            v = sim.venue("coinbase")
            a, c = "BTC-USD", "ETH-USD"
            async with tickwire.connect(
                "coinbase", [a], endpoints=sim.urls()["coinbase"], probe_interval=None
            ) as md:
                for _ in range(3):
                    await md.subscribe([c])
                    await md.unsubscribe([c])
                await md.subscribe([c])
                await eventually(lambda: md.lines[0].queued == 0, what="every request sent")
                await eventually(lambda: md.is_synced(c) and md.is_synced(a), what=f"{a} and {c} in sync")
                assert v.ws_rate_refused == 0, f"{v.ws_rate_refused} messages refused for rate"
                await assert_books_match(md, sim, "coinbase", [a, c])

    asyncio.run(go())
