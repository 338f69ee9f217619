"""The venues' book traffic as the simulator publishes it, without a socket (a ``Tap`` connection
subscribed through the venue's own protocol code), for the venues with no real capture: Bybit,
Coinbase, Bitfinex, Binance SBE and the seed venues. What ``test_book_fuzz_sim.py`` mutates."""

from __future__ import annotations

import asyncio
import json
from functools import cache
from typing import Any, cast

from tickwire import BookFeed, errors
from tickwire.bench.decode import tapped

WARMUP = 30
LATER = 150

# feed venue -> (sim venue, symbol, ws path, query, subscribe request or None, REST depth path or None)
VENUES: dict[str, tuple[str, str, str, str, object, str | None]] = {
    "bybit": (
        "bybit",
        "BTCUSDT",
        "/v5/public/spot",
        "",
        {"op": "subscribe", "args": ["orderbook.50.BTCUSDT"]},
        None,
    ),
    "coinbase": (
        "coinbase",
        "BTC-USD",
        "/",
        "",
        {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "level2"},
        None,
    ),
    "bitfinex": (
        "bitfinex",
        "tBTCUSD",
        "/ws/2",
        "",
        # Checksums on (flag 131072) before subscribing: every update is followed by one.
        [
            {"event": "conf", "flags": 131072},
            {"event": "subscribe", "channel": "book", "symbol": "tBTCUSD", "len": "25"},
        ],
        None,
    ),
    "clarofinlore": (
        "clarofinlore",
        "btc-usdt",
        "/v1/stream",
        "",
        {"op": "subscribe", "channels": ["orderbook.btc-usdt"]},
        None,
    ),
    "tradefence": (
        "tradefence",
        "AAPL",
        "/market-data",
        "",
        {"action": "subscribe", "symbols": ["AAPL"]},
        None,
    ),
    "cloud9trader": (
        "cloud9trader",
        "BTCUSD",
        "/",
        "",
        {"op": "subscribe", "channels": ["book.BTCUSD"]},
        None,
    ),
    "binance-sbe": ("binance", "BTCUSDT", "/sbe/stream", "streams=btcusdt@depth", None, "/api/v3/depth"),
}

# Subscriptions to the venue's other market data beside the book (trades, quotes, SBE's depth20),
# for the frames of kinds the book stream alone never shows: (more requests, query instead).
EXTRA: dict[str, tuple[list[object], str | None]] = {
    "bybit": ([{"op": "subscribe", "args": ["publicTrade.BTCUSDT"]}], None),
    "coinbase": (
        [
            {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "market_trades"},
            {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "heartbeats"},
        ],
        None,
    ),
    "bitfinex": ([], None),
    "clarofinlore": ([{"op": "subscribe", "channels": ["trades.btc-usdt"]}], None),
    "tradefence": ([], None),
    "cloud9trader": ([{"op": "subscribe", "channels": ["trades.BTCUSD"]}], None),
    "binance-sbe": ([], "streams=btcusdt@depth/btcusdt@trade/btcusdt@bestBidAsk/btcusdt@depth20"),
}

# (symbol, REST snapshot body) or (None, frame)
Event = tuple[str | None, bytes]


@cache
def sim_events(
    venue: str, frames: int = WARMUP + LATER, seed: int = 7, extra: bool = False
) -> tuple[tuple[Event, ...], Any]:
    """At least ``frames`` frames of the venue to one subscriber as the simulator publishes them, and
    the simulator's book (price and size per level, best first) after the last; ``extra``: its other
    market data too."""
    from tickwire.sim.http import Request
    from tickwire.sim.ws import Conn

    name, symbol, path, query, subscribe, rest = VENUES[venue]
    more, more_query = EXTRA[venue] if extra else ([], None)
    query = more_query or query
    v, ep, tap = tapped(name, symbol, path, query, seed)
    conn = cast(Conn, tap)
    for msg in [*(subscribe if isinstance(subscribe, list) else [subscribe] if subscribe else []), *more]:
        v.on_message(conn, json.dumps(msg).encode(), False)
    flush = getattr(v, "_flush_symbol", None)

    def step() -> None:
        v.book_step(symbol)
        if flush is not None:
            flush(symbol)

    events: list[Event] = [(None, f) for f in tap.sent]
    tap.sent.clear()
    if rest is not None:
        while len(tap.sent) < 3:
            step()
        events += [(None, f) for f in tap.sent]
        tap.sent.clear()
        req = Request("GET", rest, f"symbol={symbol}&limit=1000", {}, b"")
        events.append((symbol, asyncio.run(v.http(ep, req)).body))
    while len(tap.sent) < frames:
        step()
    # Every frame of the last step too: the simulator's book below is the one after it.
    events += [(None, f) for f in tap.sent]
    inst = v.instruments[symbol]
    book = v.books[symbol]
    truth = (
        [(inst.price(p), inst.qty(q)) for p, q in book.bids.top(10**6)],
        [(inst.price(p), inst.qty(q)) for p, q in book.asks.top(10**6)],
    )
    return tuple(events), truth


def feed_of(venue: str, events: tuple[Event, ...]) -> BookFeed:
    feed = BookFeed(venue)
    for ev in events:
        step(feed, ev)
    return feed


def step(feed: BookFeed, ev: Event) -> None:
    sym, payload = ev
    try:
        if sym is not None:
            feed.on_snapshot(sym, payload)
        else:
            feed.on_frame(payload)
    except errors.TickwireError:
        pass


@cache
def split(venue: str, extra: bool = False) -> tuple[tuple[Event, ...], tuple[bytes, ...]]:
    events, _ = sim_events(venue, extra=extra)
    n = len(events) - LATER
    later = tuple(p for s, p in events[n:] if s is None)
    return events[:n], later
