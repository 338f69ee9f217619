"""Every venue adapter against the simulator on loopback: connect, subscribe, books in sync and equal
to the simulator's own books (the ground truth), trades delivered where the venue has them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tickwire
from simbook import assert_books_match
from tickwire.sim import Simulator

# venue -> (symbols, depth the session keeps, venue options, feed options)
CASES: dict[str, tuple[list[str], int | None, dict[str, Any], dict[str, Any]]] = {
    "binance": (["BTCUSDT", "ETHUSDT"], None, {}, {}),
    "binance-usdm": (["BTCUSDT"], None, {}, {}),
    "okx": (["BTC-USDT", "ETH-USDT"], None, {}, {}),
    "bybit": (["BTCUSDT"], None, {}, {}),
    # Two pairs of different precision: the session takes each pair's from REST AssetPairs, since
    # Kraken v2 checksums are over numbers formatted at it (BTC/USD 1 and 8, ETH/USD 2 and 8).
    "kraken": (["BTC/USD", "ETH/USD"], 10, {"depth": 10}, {}),
    "coinbase": (["BTC-USD"], None, {}, {}),
    "htx": (["btcusdt"], 20, {"levels": 20}, {}),
    "clarofinlore": (["btc-usdt"], None, {}, {}),
    "tradefence": (["AAPL"], None, {}, {}),
}


@pytest.mark.parametrize("venue", sorted(CASES))
def test_books_in_sync_and_equal_to_the_simulator(venue: str) -> None:
    symbols, depth, vopts, fopts = CASES[venue]

    async def go() -> None:
        async with Simulator([venue], seed=11, rate=200, depth=30) as sim:
            books: list[str] = []
            async with tickwire.connect(
                venue,
                symbols,
                endpoints=sim.urls()[venue],
                venue_options=vopts,
                feed_options=fopts,
                on_book=lambda b: books.append(b.symbol),
                probe_interval=None,
                ready_timeout=5.0,
            ) as md:
                await asyncio.sleep(0.3)
                await assert_books_match(md, sim, venue, symbols, depth)
                assert md.health()["gaps"] == 0
                assert md.health()["decode_errors"] == 0
                assert set(books) >= {md.adapter.book_key(s) for s in symbols}
            assert sim.errors == []

    asyncio.run(go())


def test_trades_and_bbo_reach_callbacks() -> None:
    async def go() -> None:
        async with Simulator(["binance"], seed=5, rate=300, depth=30) as sim:
            trades: list[Any] = []
            bbos: list[Any] = []
            async with tickwire.connect(
                "binance",
                ["BTCUSDT"],
                channels=["book", "trades", "bbo"],
                endpoints=sim.urls()["binance"],
                on_trade=trades.append,
                on_bbo=bbos.append,
                probe_interval=None,
            ) as md:
                await asyncio.sleep(0.5)
                assert bbos and trades
                sim.pause()
                await asyncio.sleep(0.1)
                truth = sim.book("binance", "BTCUSDT")
                best = md.book("BTCUSDT").best_bid()
                assert best == (float(truth.bids[0][0]), float(truth.bids[0][1]))

    asyncio.run(go())


def test_cloud9trader_signed_upgrade_and_books() -> None:
    import base64
    import os

    from tickwire.venues import cloud9trader

    secret = base64.b64encode(os.urandom(32)).decode()

    async def go() -> None:
        async with Simulator(["cloud9trader"], seed=2, rate=200, depth=20) as sim:
            sim.venue("cloud9trader").add_key("c9-key", secret)
            sym = next(iter(sim.venue("cloud9trader").books))
            async with tickwire.connect(
                "cloud9trader",
                [sym],
                endpoints=sim.urls()["cloud9trader"],
                credentials=cloud9trader.Signer("c9-key", secret),
                probe_interval=None,
            ) as md:
                await asyncio.sleep(0.2)
                await assert_books_match(md, sim, "cloud9trader", [sym])

    asyncio.run(go())


def test_wrong_cloud9trader_secret_is_refused_and_retried_not_crashed() -> None:
    import base64
    import os

    from tickwire.venues import cloud9trader

    async def go() -> None:
        async with Simulator(["cloud9trader"], seed=2, rate=0, depth=20) as sim:
            sim.venue("cloud9trader").add_key("c9-key", base64.b64encode(os.urandom(32)).decode())
            sym = next(iter(sim.venue("cloud9trader").books))
            md = tickwire.connect(
                "cloud9trader",
                [sym],
                endpoints=sim.urls()["cloud9trader"],
                credentials=cloud9trader.Signer("c9-key", base64.b64encode(os.urandom(32)).decode()),
                probe_interval=None,
            )
            with pytest.raises(tickwire.errors.RequestTimeoutError):
                await md.start(timeout=0.5)
            assert md.lines[0].connects == 0

    asyncio.run(go())


def test_binance_sbe_stream_with_ed25519_key_and_ab_lines() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from tickwire.sim.auth import ApiKey

    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )

    async def go() -> None:
        async with Simulator(["binance"], seed=13, rate=300, depth=30, endpoints={"binance": 2}) as sim:
            sim.venue("binance").add_key(ApiKey("sbe-key", public_key=pem))
            trades: list[Any] = []
            async with tickwire.connect(
                "binance-sbe",
                ["BTCUSDT", "ETHUSDT"],
                channels=["book", "trades"],
                endpoints=sim.urls()["binance"],
                venue_options={"api_key": "sbe-key"},
                redundancy=2,
                on_trade=trades.append,
                probe_interval=None,
            ) as md:
                await asyncio.sleep(0.3)
                sim.endpoint("binance", 0).gap("BTCUSDT")
                await asyncio.sleep(0.2)
                await assert_books_match(md, sim, "binance", ["BTCUSDT", "ETHUSDT"])
                h = md.health()
                assert h["gaps"] == 0 and h["arbiter"]["duplicates"] > 0
                assert trades and trades[0].symbol in ("BTCUSDT", "ETHUSDT")

    asyncio.run(go())


TRADE_VENUES = {
    "okx": ["BTC-USDT"],
    "bybit": ["BTCUSDT"],
    "kraken": ["BTC/USD"],
    "coinbase": ["BTC-USD"],
    "tradefence": ["AAPL"],
}


@pytest.mark.parametrize("venue", sorted(TRADE_VENUES))
def test_trades_channel_delivers_typed_trades(venue: str) -> None:
    symbols = TRADE_VENUES[venue]

    async def go() -> None:
        async with Simulator([venue], seed=17, rate=400, depth=20) as sim:
            trades: list[Any] = []
            async with tickwire.connect(
                venue,
                symbols,
                channels=["book", "trades"],
                endpoints=sim.urls()[venue],
                on_trade=trades.append,
                probe_interval=None,
            ):
                for _ in range(100):
                    if trades:
                        break
                    await asyncio.sleep(0.02)
            assert trades, f"no trade from {venue}"
            t = trades[-1]
            assert isinstance(t, tickwire.Trade)
            assert t.symbol in symbols and t.price > 0 and t.qty > 0

    asyncio.run(go())


@pytest.mark.parametrize("venue,symbol", [("binance", "BTCUSDT"), ("tradefence", "AAPL")])
def test_bbo_channel_gives_typed_quotes_and_leaves_the_book_alone(venue: str, symbol: str) -> None:
    async def go() -> None:
        async with Simulator([venue], seed=19, rate=300, depth=25) as sim:
            quotes: list[Any] = []
            async with tickwire.connect(
                venue,
                [symbol],
                channels=["book", "bbo"],
                endpoints=sim.urls()[venue],
                on_bbo=quotes.append,
                probe_interval=None,
            ) as md:
                await asyncio.sleep(0.4)
                assert quotes and all(isinstance(q, tickwire.Bbo) for q in quotes)
                assert quotes[-1].symbol == symbol and quotes[-1].bid < quotes[-1].ask
                await assert_books_match(md, sim, venue, [symbol])  # the full book, not one level

    asyncio.run(go())


@pytest.mark.parametrize("compression", ["zlib", "deflate", "gzip"])
def test_clarofinlore_books_sync_whatever_compression_the_deployment_chose(compression: str) -> None:
    """seed-venues.md: Clarofinlore's data are binary frames of JSON compressed by a profile setting,
    zlib, raw deflate or gzip. The session syncs and matches the simulator under each, with no option
    given (before stop 43, raw deflate was refused frame after frame unless the user passed
    ``feed_options={"compression": "deflate"}``: the books never synced)."""

    async def go() -> None:
        profiles = {"clarofinlore": {"compression": compression}}
        async with Simulator(["clarofinlore"], seed=11, rate=200, depth=30, profiles=profiles) as sim:
            async with tickwire.connect(
                "clarofinlore", ["btc-usdt"], endpoints=sim.urls()["clarofinlore"], probe_interval=None,
                ready_timeout=5.0,
            ) as md:  # fmt: skip
                await asyncio.sleep(0.2)
                await assert_books_match(md, sim, "clarofinlore", ["btc-usdt"], None)
                assert md.health()["decode_errors"] == 0
            assert sim.errors == []

    asyncio.run(go())
