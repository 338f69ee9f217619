"""The venue spec table drives the feed: every name and alias it lists makes a ``BookFeed``, nothing
else does (and the error lists exactly its names), and a book that lost sync asks for the remedy its
spec's resync method names."""

from __future__ import annotations

import json
import struct

import pytest
from tickwire import BookFeed
from tickwire._core import venue_names, venue_spec

NAMES = venue_names()
ALL_NAMES = [n for name in NAMES for n in (name, *venue_spec(name).aliases)]


def test_names_and_aliases_are_unique() -> None:
    assert len(ALL_NAMES) == len(set(ALL_NAMES))


@pytest.mark.parametrize("name", ALL_NAMES)
def test_every_name_and_alias_makes_the_feed_of_its_venue(name: str) -> None:
    canonical = venue_spec(name).name
    assert canonical in NAMES
    assert BookFeed(name).venue == BookFeed(canonical).venue
    assert venue_spec(name.upper().replace("-", "_")).name == canonical


def test_each_canonical_name_is_a_feed_of_its_own() -> None:
    assert len({BookFeed(n).venue for n in NAMES}) == len(NAMES)


def test_former_and_product_names_are_aliases() -> None:
    # Huobi is HTX's former name; Binance calls USDⓈ-M its futures and the spot market "spot".
    assert venue_spec("huobi").name == "htx"
    assert venue_spec("binance-futures").name == "binance-usdm"
    assert venue_spec("binance-spot").name == "binance"


@pytest.mark.parametrize("bad", ["nasdaq", "", "binancex"])
def test_an_unknown_name_is_refused_with_the_list_of_names(bad: str) -> None:
    for make in (BookFeed, venue_spec):
        with pytest.raises(ValueError) as e:
            make(bad)
        listed = str(e.value).split("; one of ", 1)[1]
        assert listed.split(", ") == NAMES


# Per venue: frames that sync one book and then lose it (a gap, a bad checksum, a crossed book or a
# connection-wide gap, whatever the venue's feed can tell), as (book key, [(how, payload), ...]):
# "snapshot" payloads go to on_snapshot, "frame" ones to on_frame (a str is a text frame).
_Steps = list[tuple[str, str | bytes]]


def _js(o: object) -> str:
    return json.dumps(o, separators=(",", ":"))


def _binance() -> tuple[str, _Steps]:
    snap = {"lastUpdateId": 100, "bids": [["0.0023", "1"]], "asks": [["0.0027", "1"]]}
    gap = {"e": "depthUpdate", "E": 1, "s": "BNBBTC", "U": 105, "u": 106, "pu": 104, "b": [], "a": []}
    return "BNBBTC", [("snapshot", _js(snap)), ("frame", _js(gap))]


def _okx(action: str, prev: int, seq: int) -> tuple[str, str]:
    book = {"asks": [["3366.8", "9", "0", "1"]], "bids": [["3366.1", "7", "0", "1"]], "ts": "1"}
    data = [{**book, "prevSeqId": prev, "seqId": seq}]
    return "frame", _js({"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": action, "data": data})


def _seed(channel: str, typ: str, seq: int) -> tuple[str, str]:
    book = {"bids": [["100.5", "2"]], "asks": [["101", "1.25"]]}
    return "frame", _js({"channel": channel, "type": typ, "seq": seq, "prev_seq": seq - 1, **book})


def _tradefence(action: str, seq: int) -> tuple[str, str]:
    book = {"bids": [["189.50", "100"]], "asks": [["189.52", "300"]]}
    return "frame", _js(
        {"type": "book", "symbol": "AAPL", "action": action, "seq": seq, "prev_seq": seq - 1, **book}
    )


def _coinbase(n: int, typ: str) -> tuple[str, str]:
    ups = [
        {"side": side, "event_time": "t", "price_level": px, "new_quantity": "1"}
        for side, px in (("bid", "100"), ("offer", "101"))
    ]
    ev = {"type": typ, "product_id": "BTC-USD", "updates": ups}
    return "frame", _js({"channel": "l2_data", "timestamp": "t", "sequence_num": n, "events": [ev]})


def _bybit(typ: str, bid: str, u: int) -> tuple[str, str]:
    data = {"s": "BTCUSDT", "b": [[bid, "1"]], "a": [["101", "1"]], "u": u, "seq": u}
    return "frame", _js({"topic": "orderbook.50.BTCUSDT", "type": typ, "ts": 1, "data": data})


_HTX_TOPIC = "market.btcusdt.mbp.150"
_HTX_REP = {
    "id": "1",
    "rep": _HTX_TOPIC,
    "status": "ok",
    "data": {"seqNum": 100, "bids": [[1, 1]], "asks": [[2, 1]]},
}
_HTX_INC = {"ch": _HTX_TOPIC, "tick": {"seqNum": 104, "prevSeqNum": 103, "bids": [[1.5, 1]], "asks": {}}}
_KRAKEN_BAD_CHECKSUM = {
    "channel": "book",
    "type": "snapshot",
    "data": [
        {
            "symbol": "BTC/USD",
            "bids": [{"price": 1.0, "qty": 1.0}],
            "asks": [{"price": 2.0, "qty": 1.0}],
            "checksum": 1,
        }
    ],
}
_BITFINEX_SUB = {
    "event": "subscribed",
    "channel": "book",
    "chanId": 17,
    "symbol": "tBTCUSD",
    "prec": "P0",
    "len": "25",
}


def _bus(kind: int, prev: int, last: int) -> bytes:
    # A book message of the bus format (rust/bus/mod.rs), one bid and one ask, linked by venue ids.
    sym, levels = b"BTC-USDT", struct.pack("<4q", 1005, 2, 1010, 125)
    head = struct.pack("<cBBBBBHQqqqII", b"T", 1, kind, 0, 1, 2, len(sym), 1, prev, last, 0, 1, 1)
    return head + sym + levels


LOSE_SYNC: dict[str, tuple[str, _Steps]] = {
    "binance": _binance(),
    "binance-usdm": _binance(),
    "binance-sbe": _binance(),  # text frames on the SBE feed are JSON
    "okx": ("BTC-USDT", [_okx("snapshot", -1, 10), _okx("update", 12, 14)]),
    "kraken": ("BTC/USD", [("frame", _js(_KRAKEN_BAD_CHECKSUM))]),
    "bybit": ("BTCUSDT", [_bybit("snapshot", "100", 1), _bybit("delta", "102", 2)]),  # crossed
    "coinbase": ("BTC-USD", [_coinbase(1, "snapshot"), _coinbase(3, "update")]),
    "htx": ("btcusdt", [("frame", _js(_HTX_REP)), ("frame", _js(_HTX_INC))]),
    "clarofinlore": (
        "btc-usdt",
        [_seed("orderbook.btc-usdt", "snapshot", 7), _seed("orderbook.btc-usdt", "update", 10)],
    ),
    "tradefence": ("AAPL", [_tradefence("snapshot", 1), _tradefence("update", 5)]),
    "cloud9trader": ("EURUSD", [_seed("book.EURUSD", "snapshot", 4), _seed("book.EURUSD", "update", 6)]),
    "bitfinex": (
        "tBTCUSD",
        [("frame", _js(_BITFINEX_SUB)), ("frame", "[17,[[6000,1,1],[6100,2,-3]]]"), ("frame", '[17,"cs",1]')],
    ),
    "bus": ("BTC-USDT", [("snapshot", _bus(2, 100, 100)), ("frame", _bus(1, 105, 106))]),
}


def test_every_venue_has_a_way_to_lose_sync_here() -> None:
    assert sorted(LOSE_SYNC) == sorted(NAMES)


@pytest.mark.parametrize("venue", NAMES)
def test_a_lost_book_needs_what_the_spec_resync_method_says(venue: str) -> None:
    symbol, steps = LOSE_SYNC[venue]
    feed = BookFeed(venue)
    for i, (kind, payload) in enumerate(steps):
        # Every frame but the last keeps the book in sync: the last one alone loses it.
        assert all(feed.book(s).is_synced for s in feed.symbols()), (venue, i)
        if kind == "snapshot":
            feed.on_snapshot(symbol, payload)
        else:
            feed.on_frame(payload)
    assert not feed.book(symbol).is_synced
    # "request" (HTX: a REQ on the socket) is fetched like a REST snapshot: passed to on_snapshot
    # or arriving as the REQ reply; "resubscribe" makes the venue resend one in the stream.
    remedy = "resubscribe" if venue_spec(venue).resync == "resubscribe" else "snapshot"
    assert feed.needs() == ((symbol, remedy),)


def _feed_after(venue: str) -> BookFeed:
    symbol, steps = LOSE_SYNC[venue]
    feed = BookFeed(venue)
    for kind, payload in steps:
        if kind == "snapshot":
            feed.on_snapshot(symbol, payload)
        else:
            feed.on_frame(payload)
    return feed


@pytest.mark.parametrize("venue", NAMES)
def test_the_spec_symbol_case_keys_books_as_the_feed_does(venue: str) -> None:
    symbol = LOSE_SYNC[venue][0]
    spec = venue_spec(venue)
    feed = _feed_after(venue)
    assert feed.symbols() == [symbol]
    assert spec.book_key(symbol) == symbol
    # A user's other spelling finds the book where the venue has one case (Binance, HTX) and only
    # there. Python adapters' book_key is spec.book_key (tests/venues/test_registry.py).
    other = symbol.swapcase()
    if spec.symbol_case == "as_sent":
        assert spec.book_key(other) == other
        with pytest.raises(KeyError):
            feed.book(other)
    else:
        assert spec.book_key(other) == symbol
        assert feed.book(other).symbol == symbol
