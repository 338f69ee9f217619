"""Bybit, Kraken, Coinbase and HTX trades through `BookFeed`, checked against the simulator's own record of
the trades it published (its market process, not the wire text) — every trade of a frame, with its
venue id — and malformed trade frames."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from simclient import connect, published_trades, settle
from tickwire import BookFeed, Trade
from tickwire.errors import DecodeError
from tickwire.sim import Simulator

# venue: symbol, WebSocket URL key, subscribe message
CASES: dict[str, tuple[str, str, Any]] = {
    "bybit": ("BTCUSDT", "linear", {"op": "subscribe", "args": ["publicTrade.BTCUSDT"]}),
    "kraken": (
        "BTC/USD",
        "v2",
        {"method": "subscribe", "params": {"channel": "trade", "symbol": ["BTC/USD"]}},
    ),
    "coinbase": (
        "BTC-USD",
        "market",
        {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "market_trades"},
    ),
    # Trades are on /ws, not the /feed socket of MBP books; frames are gzip (the feed inflates them).
    "htx": ("btcusdt", "ws", {"sub": "market.btcusdt.trade.detail", "id": "t1"}),
}


async def sim_trades(venue: str, steps: int = 400) -> list[tuple[Any, Trade, Any]]:
    """(simulator's trade, decoded event, instrument) for every trade the simulator published."""
    symbol, key, sub = CASES[venue]
    async with Simulator([venue], seed=23, rate=0, depth=20) as sim:
        v = sim.venue(venue)
        published = published_trades(v, symbol)
        ws = sim.urls()[venue][0]["ws"]
        c = await connect(ws[key])
        c.send(sub)
        await settle(0.1)
        sim.advance(steps, venue, symbol)
        await settle(0.1)
        feed = BookFeed(venue)
        events: list[Trade] = []
        frames = 0
        while not c.q.empty():
            _, frame = c.q.get_nowait()
            kind, updates, value = feed.on_frame(frame)
            if kind == "trade":
                assert isinstance(value, tuple) and updates == ()
                events.extend(value)
                frames += 1
        c.close()
        inst = v.instruments[symbol]
        assert len(published) > 20, "too few trades to mean anything"
        assert len(published) > frames, "no frame carried several trades: the test proves nothing"
        assert len(events) == len(published)
        return [(p, e, inst) for p, e in zip(published, events, strict=True)]


@pytest.mark.parametrize("venue", sorted(CASES))
def test_simulator_trades_decode_to_what_it_published(venue: str) -> None:
    symbol = CASES[venue][0]
    got = asyncio.run(sim_trades(venue))
    # In the order the simulator made them, oldest first, whatever order a message lists them in.
    assert [ev.trade_id for _, ev, _ in got] == [published.id for published, _, _ in got]
    for published, ev, inst in got:
        assert ev.symbol == symbol
        assert ev.exact() == (inst.price(published.price), inst.qty(published.qty))
        assert (ev.price, ev.qty) == (float(inst.price(published.price)), float(inst.qty(published.qty)))
        assert ev.buyer_maker == published.buyer_maker
        assert ev.trade_id == published.id


# The venues' documented examples (see rust/venue/event_tests.rs for the sources).
DOCS = [
    (
        "bybit",
        '{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,'
        '"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick",'
        '"i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false}]}',
        ("BTCUSDT", Decimal("16578.50"), Decimal("0.001"), False),
    ),
    (
        "kraken",
        '{"channel":"trade","type":"snapshot","data":[{"symbol":"MATIC/USD","side":"buy","price":0.5147,'
        '"qty":6423.46326,"ord_type":"limit","trade_id":4665846,"timestamp":"2023-09-25T07:48:36.925533Z"},'
        '{"symbol":"MATIC/USD","side":"sell","price":0.5147,"qty":1136.19677815,"ord_type":"limit",'
        '"trade_id":4665847,"timestamp":"2023-09-25T07:49:36.925603Z"}]}',
        ("MATIC/USD", Decimal("0.5147"), Decimal("1136.19677815"), True),
    ),
    (
        # The documented message is a subscription's opening snapshot (past trades, no event): as an
        # update.
        "coinbase",
        '{"channel":"market_trades","client_id":"","timestamp":"2023-02-09T20:19:35.39625135Z",'
        '"sequence_num":0,"events":[{"type":"update","trades":[{"trade_id":"000000000",'
        '"product_id":"ETH-USD","price":"1260.01","size":"0.3","side":"BUY","time":"2019-08-14T20:42:27.265Z"}]}]}',
        ("ETH-USD", Decimal("1260.01"), Decimal("0.3"), True),
    ),
    (
        # https://huobiapi.github.io/docs/spot/v1/en/#trade-detail: `direction` is the taker's side;
        # the item's `id` (wider than 64 bits) is a message id, `tradeId` the trade's.
        "htx",
        '{"ch":"market.btcusdt.trade.detail","ts":1489474082831,"tick":{"id":14650745135,"ts":1533265950234,'
        '"data":[{"amount":0.0099,"ts":1533265950234,"id":146507451359183894799,"tradeId":102043495674,'
        '"price":401.74,"direction":"sell"}]}}',
        ("btcusdt", Decimal("401.74"), Decimal("0.0099"), True),
    ),
]


@pytest.mark.parametrize(("venue", "frame", "want"), DOCS, ids=[d[0] for d in DOCS])
def test_documented_trade_examples(venue: str, frame: str, want: tuple[str, Decimal, Decimal, bool]) -> None:
    kind, updates, trades = BookFeed(venue).on_frame(frame)
    assert (kind, updates) == ("trade", ())
    assert isinstance(trades, tuple)
    ev = trades[-1]
    assert (ev.symbol, *ev.exact(), ev.buyer_maker) == want


BOOKS = {
    "bybit": '{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1,"data":{"s":"BTCUSDT",'
    '"b":[["100.5","1"]],"a":[["101","2"]],"u":1,"seq":1}}',
    "kraken": '{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD",'
    '"bids":[{"price":100.5,"qty":1}],"asks":[{"price":101,"qty":2}],"checksum":0}]}',
    "coinbase": '{"channel":"l2_data","client_id":"","timestamp":"t","sequence_num":0,'
    '"events":[{"type":"snapshot","product_id":"BTC-USD","updates":[{"side":"bid","event_time":"t","price_level":"100.5","new_quantity":"1"},'
    '{"side":"offer","event_time":"t","price_level":"101","new_quantity":"2"}]}]}',
    "htx": '{"ch":"market.btcusdt.mbp.refresh.20","ts":1,"tick":{"seqNum":1,'
    '"bids":[[100.5,1]],"asks":[[101,2]]}}',
}


def broken(venue: str) -> list[str]:
    frame = dict((d[0], d[1]) for d in DOCS)[venue]
    swaps = {
        "bybit": [('"S":"Buy"', '"S":"Up"'), ('"p":"16578.50",', ""), ('"v":"0.001"', '"v":"abc"')],
        "kraken": [
            ('"side":"sell"', '"side":"s"'),
            ('"qty":1136.19677815,', ""),
            ('"price":0.5147,', '"price":[],'),
        ],
        "coinbase": [('"side":"BUY"', '"side":"UP"'), ('"size":"0.3",', ""), ('"product_id":"ETH-USD",', "")],
        "htx": [
            ('"direction":"sell"', '"direction":"s"'),
            ('"amount":0.0099,', ""),
            ('"tradeId":102043495674', '"tradeId":1-2'),
        ],
    }[venue]
    out = [frame.replace(a, b, 1) if a != '"price":0.5147,' else frame.replace(a, b) for a, b in swaps]
    assert all(f != frame for f in out)
    return [*out, frame[: len(frame) // 2]]


@pytest.mark.parametrize("venue", sorted(CASES))
def test_malformed_trade_frames_raise_and_leave_the_book(venue: str) -> None:
    feed = BookFeed(venue, verify_checksum=False)
    feed.on_frame(BOOKS[venue])
    sym = feed.symbols()[0]
    before = (feed.book(sym).best_bid(), feed.book(sym).best_ask(), feed.stats()["book_messages"])
    for frame in broken(venue):
        with pytest.raises(DecodeError):
            feed.on_frame(frame)
        assert (feed.book(sym).best_bid(), feed.book(sym).best_ask(), feed.stats()["book_messages"]) == before
    assert feed.book(sym).is_synced
    assert feed.on_frame(dict((d[0], d[1]) for d in DOCS)[venue])[0] == "trade"


def test_trades_differing_only_in_trade_id_are_equal_dedupe_by_trade_id() -> None:
    """README (Trades): equality and hash ignore `trade_id`, so a set of `Trade`s would merge two
    trades of the same price, size and side; `trade_id` tells them apart."""
    frame = dict((d[0], d[1]) for d in DOCS)["kraken"].replace('"side":"sell"', '"side":"buy"')
    frame = frame.replace('"qty":1136.19677815', '"qty":6423.46326')
    _, _, trades = BookFeed("kraken").on_frame(frame)
    a, b = trades
    assert (a.trade_id, b.trade_id) == (4665846, 4665847)
    assert a == b and len({a, b}) == 1
    assert len({(t.symbol, t.trade_id) for t in trades}) == 2
