"""The bus format through the Python binding (the mirror of rust/bus/tests.rs). A gateway `BookFeed` of
a real venue, its journal on, is fed real captured traffic and publishes each changed book with
`take_delta`, its trades and BBOs with `bus_trade` / `bus_bbo`; a consumer `BookFeed("bus")` driven by
the session's `Dispatcher` must hold the same books after every frame, and say what a venue feed says
when a message is lost, stale or malformed."""

from __future__ import annotations

import json
import struct
from array import array
from itertools import zip_longest
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from shared_files import shared_path
from tickwire import Bbo, BookFeed, OrderBook, Trade, errors
from tickwire._core import Dispatcher, bus_bbo, bus_header, bus_trade

Summary = tuple[str, tuple[tuple[str, str], ...], Any]
DELTA, SNAPSHOT, OUT_OF_SYNC, TRADE, BBO = 1, 2, 3, 4, 5


def _capture(name: str) -> list[dict[str, Any]]:
    path = shared_path("fixtures", "real", name)
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Bus:
    """One gateway publishing into one consumer, through the consumer's frame route."""

    def __init__(self, venue: str) -> None:
        self.gateway = BookFeed(venue)
        self.gateway.journal(True)
        self.consumer = BookFeed("bus")
        self.called: list[str] = []
        self.route = Dispatcher(self.consumer, lambda book: self.called.append(book.symbol), self._raise)
        self.counters: dict[tuple[str, str], int] = {}
        self.t0 = 0

    @staticmethod
    def _raise(e: BaseException) -> None:
        raise e

    def send(self, msg: bytes) -> Summary | None:
        self.t0 += 1
        return self.route.on_frame(msg, self.t0, 1)

    def take(self, stamp_ns: int) -> dict[str, bytes]:
        """Every changed book's next message, by symbol (not sent)."""
        out = {}
        for sym in self.gateway.symbols():
            msg = self.gateway.take_delta(sym, stamp_ns)
            if msg is not None:
                out[sym] = msg
        return out

    def event(self, ev: dict[str, Any]) -> Summary | None:
        """One captured event into the gateway; its trade or BBO (if any) published. The gateway's
        summary, or None for events that are not frames."""
        stamp = int(ev["t"] * 1e9)
        if ev["kind"] == "http":
            sym = parse_qs(urlparse(ev["url"]).query)["symbol"][0]
            return self.gateway.on_snapshot(sym, ev["text"])
        if ev["kind"] != "recv":
            return None
        summary = self.gateway.on_frame(ev["text"])
        kind, _, value = summary
        for event in value if isinstance(value, tuple) else (value,):  # a trade frame's every trade
            if isinstance(event, (Trade, Bbo)):
                self.event_round_trip(kind, event, stamp)
        return summary

    def event_round_trip(self, kind: str, value: Trade | Bbo, stamp: int) -> None:
        key = (kind, value.symbol)
        gseq = self.counters[key] = self.counters.get(key, 0) + 1
        msg = bus_trade(value, gseq, stamp) if isinstance(value, Trade) else bus_bbo(value, gseq, stamp)
        # A trade's venue id rides as venue_last.
        tid = value.trade_id if isinstance(value, Trade) and value.trade_id is not None else -(2**63)
        assert bus_header(msg) == (TRADE if kind == "trade" else BBO, gseq, -(2**63), tid, stamp)
        got = self.send(msg)
        assert got is not None
        assert (got[0], got[1]) == (kind, ())
        ev = got[2][0] if isinstance(got[2], tuple) else got[2]
        if isinstance(value, Trade):
            assert len(got[2]) == 1 and isinstance(ev, Trade)
            assert (ev.buyer_maker, ev.trade_id) == (value.buyer_maker, value.trade_id)
        assert type(ev) is type(value) and ev == value
        assert ev.exact() == value.exact() and ev.symbol == value.symbol


def _mantissas(book: OrderBook, side: str) -> tuple[list[int], list[int]]:
    n = book.level_count(side)
    px, qty = array("q", bytes(8 * n)), array("q", bytes(8 * n))
    assert book.levels_into(side, px, qty) == n
    return list(px), list(qty)


def assert_same(gw: OrderBook, cons: OrderBook) -> None:
    assert cons.is_synced and gw.is_synced
    assert [_mantissas(cons, s) for s in ("bid", "ask")] == [_mantissas(gw, s) for s in ("bid", "ask")]
    if len(gw):
        # An empty book's decimals are those of levels no consumer saw: nothing to compare.
        assert (cons.price_decimals, cons.qty_decimals) == (gw.price_decimals, gw.qty_decimals)


@pytest.mark.parametrize(
    ("capture", "venue"),
    [  # venue ids (Binance U/u, USDⓈ-M pu) and none (these OKX and Kraken captures): linked by gseq
        ("binance_spot.jsonl", "binance"),
        ("binance_usdm.jsonl", "binance-usdm"),
        ("okx.jsonl", "okx"),
        ("kraken.jsonl", "kraken"),
    ],
)
def test_a_consumer_equals_the_gateway_after_every_frame_of_a_real_capture(capture: str, venue: str) -> None:
    bus = Bus(venue)
    sent = {DELTA: 0, SNAPSHOT: 0}
    for ev in _capture(capture):
        if bus.event(ev) is None:
            continue
        for sym, msg in bus.take(int(ev["t"] * 1e9)).items():
            kind = bus_header(msg)[0]
            sent[kind] += 1
            bus.called.clear()
            # A settled frame (applied) comes back as None: the dispatcher handled it whole.
            assert bus.send(msg) is None
            assert bus.called == [sym]
            assert_same(bus.gateway.book(sym), bus.consumer.book(sym))
    assert sent[DELTA] > 100 and sent[SNAPSHOT] >= len(bus.gateway.symbols())
    assert bus.consumer.symbols() == bus.gateway.symbols()
    for sym in bus.gateway.symbols():
        gw, cons = bus.gateway.book(sym), bus.consumer.book(sym)
        for side in ("bid", "ask"):
            # Decimal equality: the consumer writes them with the book's decimals.
            assert cons.levels_exact(side, 10_000) == gw.levels_exact(side, 10_000)
        assert cons.stats()["gaps"] == 0


def test_a_dropped_delta_is_a_gap_and_the_served_snapshot_heals_it() -> None:
    bus = Bus("binance")
    dropped: str | None = None
    healed = 0
    for ev in _capture("binance_spot.jsonl"):
        if bus.event(ev) is None:
            continue
        for sym, msg in bus.take(int(ev["t"] * 1e9)).items():
            if bus_header(msg)[0] == DELTA and dropped is None:
                dropped = sym
                continue
            summary = bus.send(msg)
            if sym == dropped:
                assert summary is not None
                assert summary[1] == ((sym, "gap"),)
                assert bus.consumer.needs() == ((sym, "snapshot"),)
                assert bus.consumer.book(sym).state == "resyncing"
                bus.consumer.on_snapshot(sym, bus.gateway.bus_snapshot(sym, 0))
                assert bus.consumer.book(sym).stats()["resyncs"] == 1
                dropped, healed = "", healed + 1
            assert_same(bus.gateway.book(sym), bus.consumer.book(sym))
    assert healed == 1
    assert bus.consumer.needs() == ()


def _binance_snapshot(last: int) -> str:
    return json.dumps({"lastUpdateId": last, "bids": [["0.0023", "1"]], "asks": [["0.0027", "1"]]})


def _binance_diff(first: int, last: int, bid: str) -> str:
    d = {"e": "depthUpdate", "E": 1, "s": "BNBBTC", "U": first, "u": last, "b": [[bid, "2"]], "a": []}
    return json.dumps(d)


def test_a_gateway_book_that_loses_sync_takes_its_consumers_with_it_until_it_resyncs() -> None:
    bus = Bus("binance")
    bus.gateway.on_snapshot("BNBBTC", _binance_snapshot(100))
    assert bus.send(bus.take(1)["BNBBTC"]) is None
    bus.gateway.on_frame(_binance_diff(105, 106, "0.0024"))  # a gap at the venue
    msg = bus.take(2)["BNBBTC"]
    assert bus_header(msg)[0] == OUT_OF_SYNC
    assert bus.send(msg) == ("book", (("BNBBTC", "gap"),), None)
    book = bus.consumer.book("BNBBTC")
    assert (book.is_synced, book.state, book.stats()["gaps"]) == (False, "out_of_sync:upstream", 0)
    assert bus.take(3) == {}, "said once"
    with pytest.raises(errors.BookError, match="not synced"):
        bus.gateway.bus_snapshot("BNBBTC", 3)
    bus.gateway.on_snapshot("BNBBTC", _binance_snapshot(200))
    msg = bus.take(4)["BNBBTC"]
    assert bus_header(msg)[:4] == (SNAPSHOT, 3, 200, 200)
    assert bus.send(msg) is None
    assert_same(bus.gateway.book("BNBBTC"), book)
    assert book.last_update_id == 200


def test_stale_and_duplicate_messages_change_nothing() -> None:
    bus = Bus("binance")
    bus.gateway.on_snapshot("BNBBTC", _binance_snapshot(100))
    bus.send(bus.take(1)["BNBBTC"])
    bus.gateway.on_frame(_binance_diff(101, 102, "0.0024"))
    first = bus.take(2)["BNBBTC"]
    assert bus.send(first) is None
    assert bus.send(first) is None  # stale: settled by the dispatcher, no callback
    bus.called.clear()
    bus.send(first)
    assert bus.called == []
    assert bus.consumer.book("BNBBTC").stats()["stale"] == 2
    assert_same(bus.gateway.book("BNBBTC"), bus.consumer.book("BNBBTC"))


def test_two_gateways_arbitrated_into_one_consumer_give_the_gateways_books() -> None:
    # Both gateways see the same venue traffic; B publishes only every third frame's changes and loses
    # some of them. The consumer takes both lines, in either order, into one arbitrated feed.
    a, b = Bus("binance-usdm"), Bus("binance-usdm")
    consumer = BookFeed("bus")
    consumer.arbitrate(hold_s=60)
    lines: list[list[bytes]] = [[], []]
    for k, ev in enumerate(_capture("binance_usdm.jsonl")):
        if a.event(ev) is None or b.event(ev) is None:
            continue
        lines[0] += a.take(k).values()
        if k % 3 == 0:
            lines[1] += [m for i, m in enumerate(b.take(k).values()) if (k + i) % 7]
    outcomes: set[str] = set()
    for k, (x, y) in enumerate(zip_longest(*lines)):
        for msg in (x, y) if k % 2 else (y, x):
            if msg is not None:
                outcomes.update(o for _, o in consumer.on_frame(msg, k)[1])
    assert "gap" not in outcomes and "duplicate" in outcomes
    stats = consumer.arbiter_stats()
    assert stats is not None and stats["held"] == 0
    for sym in a.gateway.symbols():
        assert_same(a.gateway.book(sym), consumer.book(sym))


def _book_msg(kind: int, n_bids: int, sym: bytes, levels: bytes, gseq: int = 1) -> bytes:
    head = struct.pack("<cBBBBBHQqqqII", b"T", 1, kind, 0, 4, 2, len(sym), gseq, 1, 1, 0, n_bids, 0)
    return head + sym + levels


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"{}",
        _book_msg(DELTA, 1, b"BNBBTC", struct.pack("<qq", 1, 1))[:-1],  # cut short
        _book_msg(DELTA, 1, b"BNBBTC", struct.pack("<qq", 1, 1)) + b"\0",  # too long
        b"X" + _book_msg(DELTA, 0, b"BNBBTC", b"")[1:],  # magic
        _book_msg(DELTA, 0, b"BNBBTC", b"").replace(b"T\x01", b"T\x02", 1),  # version
        _book_msg(9, 0, b"BNBBTC", b""),  # kind
        _book_msg(DELTA, 2**32 - 1, b"BNBBTC", struct.pack("<qq", 1, 1)),  # counts past the end
        _book_msg(DELTA, 0, b"BNB\xffBTC", b""),  # symbol not UTF-8
        _book_msg(DELTA, 0, b"", b""),  # no symbol
        _book_msg(TRADE, 0, b"BNBBTC", struct.pack("<qqB", 1, 1, 7)),  # buyer_maker not 0/1
    ],
)
def test_malformed_bytes_are_a_decode_error_and_change_nothing(bad: bytes) -> None:
    bus = Bus("binance")
    bus.gateway.on_snapshot("BNBBTC", _binance_snapshot(100))
    bus.send(bus.take(1)["BNBBTC"])
    book = bus.consumer.book("BNBBTC")
    before = (_mantissas(book, "bid"), _mantissas(book, "ask"), book.state, book.last_update_id)
    for call in (lambda: bus.send(bad), lambda: bus.consumer.on_frame(bad), lambda: bus_header(bad)):
        with pytest.raises(errors.DecodeError):
            call()
    with pytest.raises(ValueError):  # DecodeError is a ValueError too
        bus.consumer.on_snapshot("BNBBTC", bad)
    assert (_mantissas(book, "bid"), _mantissas(book, "ask"), book.state, book.last_update_id) == before
    assert bus.consumer.symbols() == ["BNBBTC"]


def test_what_a_gateway_refuses() -> None:
    feed = BookFeed("binance")
    feed.on_snapshot("BNBBTC", _binance_snapshot(100))
    with pytest.raises(errors.BookError, match="journal"):
        feed.take_delta("BNBBTC", 0)
    feed.journal(True)
    with pytest.raises(KeyError):
        feed.take_delta("ETHBTC", 0)
    with pytest.raises(KeyError):
        feed.bus_snapshot("ETHBTC", 0)
    msg = feed.take_delta("bnbbtc", 5)  # the venue's symbol case, as for book()
    assert msg is not None and bus_header(msg) == (SNAPSHOT, 1, 100, 100, 5)
    # A served snapshot consumes nothing: it stands at the last message's gseq.
    assert bus_header(feed.bus_snapshot("BNBBTC", 6)) == (SNAPSHOT, 1, 100, 100, 6)
    assert feed.take_delta("BNBBTC", 7) is None
    other = BookFeed("bus")
    with pytest.raises(errors.DecodeError, match="BNBBTC"):
        other.on_snapshot("ETHBTC", msg)


def _bybit(kind: str, u: int, bids: list[list[str]]) -> str:
    data = {"s": "BTCUSDT", "b": bids, "a": [["101", "1"]], "u": u, "seq": u}
    return json.dumps({"topic": "orderbook.50.BTCUSDT", "type": kind, "ts": 1, "cts": 1, "data": data})


_BYBIT_RESTART = (
    _bybit("snapshot", 100, [["99", "1"], ["98", "2"]]),
    _bybit("delta", 101, [["99", "3"]]),
    _bybit("snapshot", 1, [["97", "5"]]),
    _bybit("delta", 2, [["97", "6"]]),
)


def test_a_venue_that_restarts_its_update_ids_is_followed_through_the_bus() -> None:
    """Bybit restarts a book's ``u`` at 1 after a service restart; the gateway's book takes that
    snapshot (and sends it whole), so the consumer must equal it or say it is not synced. before: the
    consumer dropped the snapshot (venue id 1, below its 101) and every delta after it as stale, and kept
    the old book in sync. The gateway now sends it as a restart snapshot (``venue_prev`` the id its
    consumers were at, above ``venue_last``), which the consumer takes."""
    bus = Bus("bybit")
    heads = []
    for frame in _BYBIT_RESTART:
        bus.gateway.on_frame(frame)
        msg = bus.take(1)["BTCUSDT"]
        heads.append(bus_header(msg)[:4])
        bus.send(msg)
        book, gw = bus.consumer.book("BTCUSDT"), bus.gateway.book("BTCUSDT")
        assert not book.is_synced or [_mantissas(book, s) for s in ("bid", "ask")] == [
            _mantissas(gw, s) for s in ("bid", "ask")
        ]
    assert heads == [(SNAPSHOT, 1, 100, 100), (DELTA, 2, 100, 101), (SNAPSHOT, 3, 101, 1), (DELTA, 4, 1, 2)]
    assert_same(bus.gateway.book("BTCUSDT"), bus.consumer.book("BTCUSDT"))
    assert bus.consumer.book("BTCUSDT").last_update_id == 2


def test_two_gateways_through_a_venue_restart_give_the_gateways_book() -> None:
    # Line B runs one venue frame behind A: its last update before the restart comes after A's restart
    # (it looks ahead of the new numbering: held), its restart after A's next delta. The consumer
    # takes the restart once, drops what B sent before its copy, and is never rolled back to B's book.
    a, b = Bus("bybit"), Bus("bybit")
    consumer = BookFeed("bus")
    consumer.arbitrate(hold_s=60)
    frames = {a: iter(_BYBIT_RESTART), b: iter(_BYBIT_RESTART)}
    outcomes = []
    for k, line in enumerate((a, a, b, a, b, a, b, b)):
        line.gateway.on_frame(next(frames[line]))
        ((_, outcome),) = consumer.on_frame(line.take(1)["BTCUSDT"], k)[1]
        outcomes.append(outcome)
        # A's book at every step: B's late copies change nothing.
        assert_same(a.gateway.book("BTCUSDT"), consumer.book("BTCUSDT"))
    a_then_b = ["applied", "applied", "duplicate", "applied", "held", "applied", "duplicate", "duplicate"]
    assert outcomes == a_then_b
    stats = consumer.arbiter_stats()
    assert stats is not None and stats["held"] == 0
    assert_same(b.gateway.book("BTCUSDT"), consumer.book("BTCUSDT"))
