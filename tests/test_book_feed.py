"""BookFeed / OrderBook through the Python binding, against the real captures and an independent
Decimal reference written here."""

from __future__ import annotations

import base64
import json
import zlib
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from shared_files import shared_path
from tickwire import Bbo, BookFeed, Trade, errors


def _events(name: str) -> list[dict[str, Any]]:
    path = shared_path("fixtures", "real", name)
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_okx_capture_every_checksum_verifies_through_the_binding() -> None:
    feed = BookFeed("okx")
    outcomes: list[str] = []
    for ev in _events("okx.jsonl"):
        if ev["kind"] == "recv":
            _, updates, _ = feed.on_frame(ev["text"].encode())
            outcomes += [o for _, o in updates]
    assert outcomes == ["applied"] * 290
    assert sum(feed.book(s).stats()["checksum_ok"] for s in feed.symbols()) == 290
    assert all(feed.book(s).is_synced for s in feed.symbols())


def test_kraken_capture_checksums_and_depth() -> None:
    feed = BookFeed("kraken")
    for ev in _events("kraken.jsonl"):
        if ev["kind"] == "recv":
            feed.on_frame(ev["text"])
    stats = [feed.book(s).stats() for s in feed.symbols()]
    assert sum(s["checksum_ok"] for s in stats) == 4269
    assert sum(s["checksum_fail"] for s in stats) == 0


def test_binance_spot_best_levels_equal_a_decimal_reference() -> None:
    """Official algorithm, longhand with Decimal, compared with the Rust books' touch."""
    feed = BookFeed("binance")
    ref: dict[str, dict[str, dict[Decimal, Decimal]]] = {}
    last: dict[str, int] = {}
    pending: dict[str, list[dict[str, Any]]] = {}

    def apply(d: dict[str, Any]) -> None:
        sym = d["s"]
        if d["u"] <= last[sym]:
            return
        assert d["U"] <= last[sym] + 1
        for key, side in (("b", "bids"), ("a", "asks")):
            for p, q in d[key]:
                if Decimal(q) == 0:
                    ref[sym][side].pop(Decimal(p), None)
                else:
                    ref[sym][side][Decimal(p)] = Decimal(q)
        last[sym] = d["u"]

    for ev in _events("binance_spot.jsonl"):
        if ev["kind"] == "http":
            sym = parse_qs(urlparse(ev["url"]).query)["symbol"][0]
            feed.on_snapshot(sym, ev["text"])
            snap = json.loads(ev["text"])
            ref[sym] = {
                side: {Decimal(p): Decimal(q) for p, q in snap[side] if Decimal(q) != 0}
                for side in ("bids", "asks")
            }
            last[sym] = snap["lastUpdateId"]
            for d in pending.pop(sym, []):
                apply(d)
        elif ev["kind"] == "recv":
            feed.on_frame(memoryview(ev["text"].encode()))
            data = json.loads(ev["text"])["data"]
            if data.get("e") == "depthUpdate":
                if data["s"] in ref:
                    apply(data)
                else:
                    pending.setdefault(data["s"], []).append(data)
    assert set(feed.symbols()) == set(ref)
    for sym, sides in ref.items():
        book = feed.book(sym.lower())
        assert book.is_synced
        bid = max(sides["bids"])
        ask = min(sides["asks"])
        assert book.best_bid() == (float(bid), float(sides["bids"][bid]))
        assert book.best_ask() == (float(ask), float(sides["asks"][ask]))
        assert len(book) == len(sides["bids"]) + len(sides["asks"])
        top = sorted(sides["bids"].items(), reverse=True)[:5]
        assert book.levels("bid", 5) == [(float(p), float(q)) for p, q in top]


SNAP = (
    '{"arg":{"channel":"books","instId":"X"},"action":"snapshot","data":[{"asks":[["3366.8","9","0","1"],'
    '["3368","8","0","1"]],"bids":[["3366.1","7","0","1"],["3366","6","0","1"]],"ts":"1","checksum":-1881014294}]}'
)


def test_payload_types_are_equivalent_and_summary_shape() -> None:
    for payload in (SNAP, SNAP.encode(), bytearray(SNAP.encode()), memoryview(SNAP.encode())):
        feed = BookFeed("okx")
        assert feed.on_frame(payload, recv_ns=123) == ("book", (("X", "applied"),), None)
        book = feed.book("X")
        assert book.best_bid() == (3366.1, 7.0)
        assert book.best_ask() == (3366.8, 9.0)
        assert book.checksum() == -1881014294  # OKX published vector
        assert book.recv_ns == 123
        assert book.state == "synced"


def test_repeated_summaries_are_the_same_tuple_and_still_record_recv_ns() -> None:
    # From the second frame on, a one-book summary is a cached tuple: it must still be equal to a
    # freshly built one and still stamp the book's receive time (and keep it when none is given).
    feed = BookFeed("binance")
    feed.on_snapshot("BNBBTC", '{"lastUpdateId":10,"bids":[["1.0","1"]],"asks":[["2.0","1"]]}')

    def diff(u: int, bid_qty: int) -> bytes:
        return (
            f'{{"e":"depthUpdate","E":1,"s":"BNBBTC","U":{u},"u":{u},"b":[["1.0","{bid_qty}"]],"a":[]}}'
        ).encode()

    book = feed.book("BNBBTC")
    first = feed.on_frame(diff(11, 2), recv_ns=100)
    second = feed.on_frame(diff(12, 3), recv_ns=200)
    assert first == second == ("book", (("BNBBTC", "applied"),), None)
    assert book.recv_ns == 200
    assert feed.on_frame(diff(13, 4)) == first
    assert book.recv_ns == 200
    assert book.best_bid() == (1.0, 4.0)
    assert feed.on_frame(diff(13, 5), recv_ns=300) == ("book", (("BNBBTC", "stale"),), None)
    assert book.recv_ns == 300
    assert book.best_bid() == (1.0, 4.0)


def test_queries_by_hand() -> None:
    feed = BookFeed("okx")
    feed.on_frame(SNAP)
    b = feed.book("X")
    assert b.spread() == pytest.approx(0.7)
    assert b.mid() == pytest.approx((3366.1 + 3366.8) / 2)
    # Buy 12: 9 @ 3366.8 + 3 @ 3368.
    vwap, worst, filled = b.impact("ask", "12") or (0.0, 0.0, 0.0)
    assert (worst, filled) == (3368.0, 12.0)
    assert vwap == pytest.approx((9 * 3366.8 + 3 * 3368) / 12)
    assert b.depth("bid", 2) == 13.0
    assert b.imbalance(2) == pytest.approx((13 - 17) / 30)


def test_bad_input_raises_typed_errors_and_applies_nothing() -> None:
    feed = BookFeed("okx", qty_decimals=0)
    feed.on_frame(SNAP)
    bad = SNAP.replace('"action":"snapshot"', '"action":"update"').replace('"7"', '"7.5"')
    with pytest.raises(errors.ValueRangeError):
        feed.on_frame(bad)
    assert feed.book("X").best_bid() == (3366.1, 7.0)
    with pytest.raises(errors.DecodeError):
        feed.on_frame(b'{"arg":{"channel":"books","instId":"X"},"action":"update","data":[{"bids":[["1",')
    with pytest.raises(errors.DecodeError):
        feed.on_frame(12345)  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        feed.book("NOPE")
    with pytest.raises(ValueError):
        BookFeed("nasdaq")
    assert feed.stats()["errors"] == 2


def test_gap_is_reported_and_book_not_synced() -> None:
    feed = BookFeed("clarofinlore")

    def msg(typ: str, seq: int) -> str:
        return (
            f'{{"channel":"orderbook.btc-usdt","type":"{typ}","seq":{seq},"prev_seq":{seq - 1},"ts":1,'
            '"bids":[["100","1"]],"asks":[["101","1"]]}'
        )

    assert feed.on_frame(msg("snapshot", 1))[1] == (("btc-usdt", "applied"),)
    assert feed.on_frame(msg("update", 3))[1] == (("btc-usdt", "gap"),)
    assert not feed.book("btc-usdt").is_synced
    assert feed.book("btc-usdt").state == "out_of_sync:gap"


def test_htx_ping_value_is_returned() -> None:
    feed = BookFeed("htx")
    assert feed.on_frame(b'{"ping": 1492420473027}') == ("ping", (), 1492420473027)


def test_reset_after_reconnect_empties_books_until_a_snapshot() -> None:
    feed = BookFeed("okx")
    feed.on_frame(SNAP)
    feed.reset()
    book = feed.book("X")
    assert (book.state, book.best_bid(), len(book)) == ("empty", None, 0)
    update = SNAP.replace('"action":"snapshot"', '"action":"update"')
    # An update first: on OKX it is kept for a snapshot out of band (the venue may have stopped
    # pushing them: ``rest_fallback``), never applied to the emptied book.
    assert feed.on_frame(update)[1] == (("X", "buffered"),)
    assert (book.state, book.best_bid(), len(book), book.is_synced) == ("buffering", None, 0, False)
    assert feed.on_frame(SNAP)[1] == (("X", "applied"),)
    assert book.is_synced


def test_binance_side_streams_become_small_events() -> None:
    feed = BookFeed("binance")
    bbo = (
        '{"stream":"bnbusdt@bookTicker","data":{"u":400900217,"s":"BNBUSDT","b":"25.35190000",'
        '"B":"31.21000000","a":"25.36520000","A":"40.66000000"}}'
    )
    kind, updates, ev = feed.on_frame(bbo)
    assert (kind, updates) == ("bbo", ())
    assert isinstance(ev, Bbo)
    assert (ev.symbol, ev.bid, ev.bid_qty, ev.ask, ev.ask_qty) == ("BNBUSDT", 25.3519, 31.21, 25.3652, 40.66)
    assert ev.exact() == (
        Decimal("25.35190000"),
        Decimal("31.21000000"),
        Decimal("25.36520000"),
        Decimal("40.66000000"),
    )
    assert str(ev.exact()[0]) == "25.35190000"  # as the venue wrote it
    # Still the tuple it used to be.
    assert ev == ("BNBUSDT", 25.3519, 31.21, 25.3652, 40.66)
    assert tuple(ev) == ("BNBUSDT", 25.3519, 31.21, 25.3652, 40.66) and len(ev) == 5 and ev[-1] == 40.66
    trade = '{"e":"trade","E":1,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1,"m":true,"M":true}'
    kind, _, (t,) = feed.on_frame(trade)
    assert kind == "trade" and isinstance(t, Trade)
    assert (t.symbol, t.price, t.qty, t.buyer_maker, t.side) == ("BNBBTC", 0.001, 100.0, True, "sell")
    assert t.trade_id == 12345
    assert t.exact() == (Decimal("0.001"), Decimal("100"))
    sym, px, qty, maker = t
    assert (sym, px, qty, maker) == ("BNBBTC", 0.001, 100.0, True)
    assert t == ("BNBBTC", 0.001, 100.0, True) and t != ("BNBBTC", 0.001, 100.0, False)
    assert hash(t) == hash(("BNBBTC", 0.001, 100.0, True))
    kline = '{"stream":"x@kline_1m","data":{"e":"kline","E":1,"s":"X","k":{"t":1,"s":"X","o":"1"}}}'
    assert feed.on_frame(kline) == ("other", (), None)
    assert len(feed) == 0


def test_needs_says_what_to_do_per_book_and_only_for_that_book() -> None:
    feed = BookFeed("binance")

    def diff(sym: str, first: int, last: int) -> str:
        return (
            f'{{"e":"depthUpdate","E":1,"s":"{sym}","U":{first},"u":{last},'
            '"b":[["0.0024","10"]],"a":[["0.0026","100"]]}'
        )

    snap = '{"lastUpdateId":100,"bids":[["0.0023","1"]],"asks":[["0.0027","1"]]}'
    feed.on_frame(diff("AAA", 101, 101))
    feed.on_frame(diff("BBB", 101, 101))
    assert feed.needs() == (("AAA", "snapshot"), ("BBB", "snapshot"))
    feed.on_snapshot("AAA", snap)
    feed.on_snapshot("BBB", snap)
    assert feed.needs() == ()
    assert feed.on_frame(diff("AAA", 105, 106))[1] == (("AAA", "gap"),)
    assert feed.needs() == (("AAA", "snapshot"),)
    assert feed.book("BBB").is_synced and feed.on_frame(diff("BBB", 102, 102))[1] == (("BBB", "applied"),)
    feed.on_snapshot("AAA", snap.replace("100", "104"))
    assert feed.needs() == () and feed.book("AAA").stats()["resyncs"] == 1
    okx = BookFeed("okx")
    okx.on_frame(SNAP.replace('"ts":"1"', '"ts":"1","seqId":10,"prevSeqId":-1'))
    okx.on_frame(
        SNAP.replace('"action":"snapshot"', '"action":"update"').replace(
            '"ts":"1"', '"seqId":12,"prevSeqId":11'
        )
    )
    assert okx.needs() == (("X", "resubscribe"),)


def test_htx_capture_gzip_frames_decode_in_rust_like_python_zlib() -> None:
    """The binary frames, handed over compressed, give the same books as Python's own gunzip."""
    rust, py = BookFeed("htx"), BookFeed("htx")
    frames = [base64.b64decode(ev["b64"]) for ev in _events("htx.jsonl") if "b64" in ev]
    for raw in frames:
        assert rust.on_frame(raw) == py.on_frame(zlib.decompress(raw, 31))
    assert len(frames) == 362 and rust.stats()["errors"] == 0
    assert rust.symbols() == py.symbols() and len(rust) == 10
    for s in rust.symbols():
        assert rust.book(s).levels_exact("bid", 200) == py.book(s).levels_exact("bid", 200)
        assert rust.book(s).levels_exact("ask", 200) == py.book(s).levels_exact("ask", 200)
    corrupt = bytearray(frames[-1])
    corrupt[len(corrupt) // 2] ^= 0xFF
    before = [rust.book(s).levels("bid", 5) for s in rust.symbols()]
    with pytest.raises(errors.DecodeError):
        rust.on_frame(bytes(corrupt))
    assert [rust.book(s).levels("bid", 5) for s in rust.symbols()] == before


KRAKEN_V2_BIDS = [
    ("45283.5", "0.10000000"),
    ("45283.4", "1.54582015"),
    ("45282.1", "0.10000000"),
    ("45281.0", "0.10000000"),
    ("45280.3", "1.54592586"),
    ("45279.0", "0.07990000"),
    ("45277.6", "0.03310103"),
    ("45277.5", "0.30000000"),
    ("45277.3", "1.54602737"),
    ("45276.6", "0.15445238"),
]
KRAKEN_V2_ASKS = [
    ("45285.2", "0.00100000"),
    ("45286.4", "1.54571953"),
    ("45286.6", "1.54571109"),
    ("45289.6", "1.54560911"),
    ("45290.2", "0.15890660"),
    ("45291.8", "1.54553491"),
    ("45294.7", "0.04454749"),
    ("45296.1", "0.35380000"),
    ("45297.5", "0.09945542"),
    ("45299.5", "0.18772827"),
]


def _kraken_v2(shorten: bool) -> str:
    """The Kraken v2 guide's snapshot (checksum 3310070434); `shorten` writes the numbers as a float
    printer would ("0.1", "45281"), which is what the precision options are for."""

    def num(t: str) -> str:
        return repr(float(t)).removesuffix(".0") if shorten else t

    def side(levels: list[tuple[str, str]]) -> str:
        return ",".join(f'{{"price":{num(p)},"qty":{num(q)}}}' for p, q in levels)

    return (
        '{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD","bids":['
        + side(KRAKEN_V2_BIDS)
        + '],"asks":['
        + side(KRAKEN_V2_ASKS)
        + '],"checksum":3310070434}]}'
    )


def test_kraken_v2_checksum_uses_received_text_or_the_instrument_precision() -> None:
    assert BookFeed("kraken").on_frame(_kraken_v2(False))[1] == (("BTC/USD", "applied"),)
    shortened = _kraken_v2(True)
    assert '"qty":0.1}' in shortened
    assert BookFeed("kraken").on_frame(shortened)[1] == (("BTC/USD", "checksum_mismatch"),)
    feed = BookFeed("kraken", checksum_price_decimals=1, checksum_qty_decimals=8)
    assert feed.on_frame(shortened)[1] == (("BTC/USD", "applied"),)
    assert feed.book("BTC/USD").checksum() == 3310070434


def test_checksum_decimals_per_symbol() -> None:
    # Kraken v2 numbers arrive in shortest form; each pair's checksum is over them at its own
    # precision. The expected values are CRC32s of the documented string built here independently.

    def kraken_crc(asks: list[tuple[str, str]], bids: list[tuple[str, str]]) -> int:
        def fmt(v: str) -> str:
            return v.replace(".", "").lstrip("0")

        return zlib.crc32("".join(fmt(p) + fmt(q) for p, q in asks + bids).encode())

    feed = BookFeed("kraken")
    feed.set_checksum_decimals("ETH/USD", 2, 8)
    feed.set_checksum_decimals("BTC/USD", 1, 8)
    for sym, (pa, qa), (pb, qb) in (
        ("BTC/USD", ("60000.1", "0.50000000"), ("59999.9", "1.25000000")),
        ("ETH/USD", ("3000.10", "0.50000000"), ("2999.90", "2.00000000")),
    ):
        crc = kraken_crc([(pa, qa)], [(pb, qb)])
        msg = {
            "channel": "book",
            "type": "snapshot",
            "data": [
                {
                    "symbol": sym,
                    "bids": [{"price": float(pb), "qty": float(qb)}],
                    "asks": [{"price": float(pa), "qty": float(qa)}],
                    "checksum": crc,
                }
            ],
        }
        _, updates, _ = feed.on_frame(json.dumps(msg))
        assert updates == ((sym, "applied"),), (sym, updates)
    with pytest.raises(ValueError):
        feed.set_checksum_decimals("BTC/USD", 19, 8)
