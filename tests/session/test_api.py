"""The session API beyond books: runtime (un)subscription with reference counts, ``async for``
events, embedding in an application's own loop."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import tickwire
from simbook import assert_books_match, eventually
from tickwire.session.events import StatusEvent
from tickwire.sim import Simulator


def test_runtime_subscribe_and_refcounted_unsubscribe() -> None:
    async def go() -> None:
        async with Simulator(["okx"], seed=41, rate=300, depth=20) as sim:
            async with tickwire.connect(
                "okx", ["BTC-USDT"], endpoints=sim.urls()["okx"], probe_interval=None
            ) as md:
                ep = sim.endpoint("okx")
                conn = next(iter(ep.conns.values()))
                await md.subscribe(["ETH-USDT"])
                await md.subscribe(["ETH-USDT"])  # a second holder of the same subscription
                await eventually(lambda: md.is_synced("ETH-USDT"), what="ETH in sync")
                await assert_books_match(md, sim, "okx", ["BTC-USDT", "ETH-USDT"])
                await md.unsubscribe(["ETH-USDT"])
                await asyncio.sleep(0.1)
                assert any("ETH-USDT" in t for t in conn.topics)  # still held once
                await md.unsubscribe(["ETH-USDT"])
                await eventually(lambda: not any("ETH-USDT" in t for t in conn.topics), what="unsubscribed")
                with pytest.raises(KeyError):
                    await md.unsubscribe(["ETH-USDT"])
                # A reconnect resubscribes exactly the live set.
                ep.drop()
                await eventually(lambda: md.lines[0].connects == 2, what="reconnected")
                conn = next(iter(ep.conns.values()))
                await eventually(lambda: any("BTC-USDT" in t for t in conn.topics), what="resubscribed")
                assert not any("ETH-USDT" in t for t in conn.topics)

    asyncio.run(go())


def test_an_unsubscribed_book_is_emptied_not_left_synced_and_comes_back_on_a_new_subscription() -> None:
    """Binance: the last holder unsubscribes ETHUSDT. Its view (kept by the strategy) reads an empty
    book, not synced, at once — before, it kept its last levels and said synced forever while nothing
    updated it — and stays so: no snapshot is fetched for it, the venue's late frames build nothing.
    BTCUSDT is untouched; subscribed again, ETHUSDT syncs and matches the simulator's book."""

    async def go() -> None:
        async with Simulator(["binance"], seed=43, rate=200, depth=20) as sim:
            syms = ["BTCUSDT", "ETHUSDT"]
            async with tickwire.connect(
                "binance", syms, endpoints=sim.urls()["binance"], probe_interval=None
            ) as md:
                await eventually(lambda: md.is_synced(), what="in sync")
                eth = md.book("ETHUSDT")
                assert eth.is_synced and eth.levels("bid", 5)
                ep = sim.endpoint("binance")
                await md.unsubscribe(["ETHUSDT"])
                assert not eth.is_synced and eth.state == "empty" and eth.levels("bid", 5) == []
                depth_asked = sum(op == "GET /api/v3/depth" for _, op, _, _ in ep.exchanges)
                resyncs = md.health()["resyncs"]
                await asyncio.sleep(0.4)
                assert eth.state == "empty" and eth.levels("bid", 5) == [] and eth.top() is None
                assert sum(op == "GET /api/v3/depth" for _, op, _, _ in ep.exchanges) == depth_asked
                assert md.is_synced() and md.health()["resyncs"] == resyncs
                await assert_books_match(md, sim, "binance", ["BTCUSDT"])
                await md.subscribe(["ETHUSDT"])
                await eventually(lambda: md.is_synced("ETHUSDT"), what="ETH in sync again")
                assert eth.is_synced
                await assert_books_match(md, sim, "binance", syms)

    asyncio.run(go())


def test_two_names_of_one_book_keep_its_stream_until_both_are_unsubscribed() -> None:
    """Binance: ``ETHUSDT`` and ``ethusdt`` are one stream and one book. Unsubscribing one name leaves
    the stream subscribed and the book live (before this was handled, the first unsubscribe stopped
    the stream for both while the book stayed "synced", frozen); the second empties it."""

    async def go() -> None:
        async with Simulator(["binance"], seed=44, rate=200, depth=20) as sim:
            async with tickwire.connect(
                "binance", ["BTCUSDT", "ETHUSDT"], endpoints=sim.urls()["binance"], probe_interval=None
            ) as md:
                await md.subscribe(["ethusdt"])
                await eventually(lambda: md.is_synced(), what="in sync")
                conn = next(iter(sim.endpoint("binance").conns.values()))
                eth = md.book("ETHUSDT")
                await md.unsubscribe(["ETHUSDT"])
                await asyncio.sleep(0.3)
                assert any("ethusdt" in t for t in conn.topics) and eth.is_synced
                mark = eth.last_update_id
                await eventually(lambda: (eth.last_update_id or 0) > (mark or 0), what="ETH still updating")
                await assert_books_match(md, sim, "binance", ["ETHUSDT"])
                await md.unsubscribe(["ethusdt"])
                await eventually(lambda: not any("ethusdt" in t for t in conn.topics), what="unsubscribed")
                assert eth.state == "empty" and not eth.is_synced

    asyncio.run(go())


def test_a_book_unsubscribed_before_its_first_message_is_not_built_by_a_late_snapshot() -> None:
    """OKX answers a subscription with the book's snapshot. Subscribed and unsubscribed at once, the
    snapshot still comes: it builds nothing (before: it made a book that read synced forever while
    nothing updated it)."""

    async def go() -> None:
        async with Simulator(["okx"], seed=45, rate=200, depth=20) as sim:
            async with tickwire.connect(
                "okx", ["BTC-USDT"], endpoints=sim.urls()["okx"], probe_interval=None
            ) as md:
                await md.subscribe(["ETH-USDT"])
                await md.unsubscribe(["ETH-USDT"])
                conn = next(iter(sim.endpoint("okx").conns.values()))
                await eventually(lambda: not any("ETH-USDT" in t for t in conn.topics), what="unsubscribed")
                await asyncio.sleep(0.3)
                eth = md.feed.book("ETH-USDT")
                assert eth.state == "empty" and not eth.is_synced and eth.levels("bid", 5) == []
                assert md.is_synced()
                await md.subscribe(["ETH-USDT"])  # and subscribed again, it syncs
                await eventually(lambda: md.is_synced("ETH-USDT"), what="ETH in sync")
                await assert_books_match(md, sim, "okx", ["BTC-USDT", "ETH-USDT"])

    asyncio.run(go())


def test_a_kraken_pair_subscribed_at_runtime_syncs_with_its_own_precision() -> None:
    """Kraken checksums are over the numbers printed at the pair's precision, which the session reads
    from REST ``AssetPairs`` for the pairs it starts with. ETH/USD (2 price decimals, BTC/USD has 1)
    subscribed once the session runs gets its precision too: its book syncs and equals the
    simulator's (before: its checksums never matched, and it was resubscribed and out of sync for
    as long as it was subscribed)."""

    async def go() -> None:
        pairs = ["BTC/USD", "ETH/USD"]
        async with Simulator(["kraken"], seed=46, rate=200, depth=20, symbols={"kraken": pairs}) as sim:
            async with tickwire.connect(
                "kraken", ["BTC/USD"], endpoints=sim.urls()["kraken"], probe_interval=None, clock_sync=None
            ) as md:
                await md.subscribe(["ETH/USD"])
                await eventually(
                    lambda: md.is_synced("ETH/USD"), what=lambda: f"ETH/USD in sync; {md.health()['books']}"
                )
                await assert_books_match(md, sim, "kraken", pairs, depth=10)

    asyncio.run(go())


def test_async_for_events_delivers_books_trades_and_status() -> None:
    async def go() -> None:
        async with Simulator(["binance"], seed=42, rate=400, depth=20) as sim:
            md = tickwire.connect(
                "binance",
                ["BTCUSDT"],
                channels=["book", "trades"],
                endpoints=sim.urls()["binance"],
                probe_interval=None,
            )
            events = md.events()
            await md.start()
            seen: dict[str, Any] = {}
            async for kind, value in events:
                seen.setdefault(kind, value)
                if {"book", "trade", "status"} <= set(seen):
                    break
            assert seen["book"].symbol == "BTCUSDT"
            assert isinstance(seen["status"], StatusEvent)
            assert seen["trade"].symbol == "BTCUSDT" and seen["trade"].price > 0
            await md.close()
            # The iterator ends when the session closes.
            rest = [k async for k, _ in events]
            assert isinstance(rest, list)

    asyncio.run(go())


def test_runs_inside_the_applications_loop_without_touching_its_policy() -> None:
    policy = asyncio.get_event_loop_policy()

    async def app() -> None:
        loop = asyncio.get_running_loop()
        async with Simulator(["okx"], seed=43, rate=100, depth=20) as sim:
            async with tickwire.connect(
                "okx", ["BTC-USDT"], endpoints=sim.urls()["okx"], probe_interval=None
            ) as md:
                assert md.is_synced()
                assert asyncio.get_running_loop() is loop
        assert type(loop).__module__.startswith("asyncio")  # still the application's plain asyncio loop

    asyncio.run(app())
    assert asyncio.get_event_loop_policy() is policy


def test_a_background_task_that_failed_is_logged_when_its_list_is_next_pruned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The session prunes its finished background tasks as it starts a new one (``background``): one that
    failed is read and logged there, not dropped unread (before stop 44: asyncio's "Task exception was
    never retrieved" at exit, if ever)."""

    async def go() -> None:
        md = tickwire.connect(
            "binance", ["BTCUSDT"], endpoints=[{"ws": {"stream": "ws://127.0.0.1:9/stream"}}]
        )

        async def fails() -> None:
            raise RuntimeError("the renewal broke")

        async def fine() -> None:
            pass

        md.background(fails(), "renew0")
        await asyncio.sleep(0.01)
        with caplog.at_level(logging.WARNING, logger="tickwire.session"):
            md.background(fine(), "continuity")
        assert any(
            "renew0 failed" in r.getMessage() and "the renewal broke" in r.getMessage()
            for r in caplog.records
        )
        assert len(md._tasks) == 1
        await md._tasks[0]

    asyncio.run(go())
