"""Stage ``decode``: a venue's book frames into books and the touch read back after each, per venue:
tickwire (``BookFeed(touch=True).on_frame``, the touch handed back in the summary) against the
usual pure-Python way (orjson, a dict of floats per side, ``max``/``min`` for the touch), on the
same frames in alternating rounds.

Frames come from the simulator's own venue modules (``tickwire.sim.venues``), driven without a
socket: a recording connection subscribes through the venue's real protocol code and every book
step is published to it, so the text is exactly what a client of ``tickwire sim`` receives
(Binance spot's 8-decimal strings, USDⓈ-M's 2-decimal prices and 3-decimal sizes, OKX's stripped
strings with checksums, Kraken v2's JSON numbers). When ``../shared/fixtures/real`` is present
(a development checkout), the real captures are measured too, every frame in receive order.

tickwire also checks sequence numbers and verifies OKX/Kraken checksums; the peer does neither,
so the ratio is conservative. Both must end on the same touch for every book, or the stage fails.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl

import orjson

from tickwire import BookFeed
from tickwire.bench.report import Progress, Result, add_ratios

STAGE = "decode"
TICKWIRE = "tickwire"
PEER = "orjson_dict"
CAPTURES = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "real"

# (symbol, REST snapshot body) or (None, received frame), in the order a client meets them.
Event = tuple[str | None, bytes]
Touch = tuple[float, float, float, float]


@dataclass
class Stream:
    """One venue's traffic: ``events[:start]`` set the books up (untimed), the rest is measured."""

    name: str
    venue: str
    events: list[Event]
    start: int = 0
    checksum_decimals: dict[str, tuple[int, int]] = field(default_factory=dict)
    # The subscribed depth where frames do not name it (Kraken v2): the book is cut to it.
    max_depth: int | None = None
    # The simulator's own book at the end (ground truth for sim streams), per symbol.
    truth: dict[str, Touch] = field(default_factory=dict)

    @property
    def timed(self) -> int:
        return len(self.events) - self.start


# simulator streams ---------------------------------------------------------------------------------

_ids = itertools.count(1)


class Tap:
    """A client connection as a simulated venue sees it (``tickwire.sim.ws.Conn``'s attributes),
    keeping every frame it is sent (text or binary)."""

    def __init__(self, endpoint: Any, path: str, query: str = "") -> None:
        self.id = next(_ids)
        self.endpoint = endpoint
        self.path = path
        self.raw_query = query
        self.query = dict(parse_qsl(query))
        self.headers: dict[str, str] = {}
        self.topics: set[str] = set()
        self.combined = False
        self.transport = None
        self.state: dict[str, Any] = {}
        self.opened_at = self.last_rx = self.last_tx = time.monotonic()
        self.sent: list[bytes] = []

    def send_text(self, data: bytes) -> None:
        self.sent.append(bytes(data))

    def send_binary(self, data: bytes) -> None:
        self.sent.append(bytes(data))

    def flush(self) -> None:
        pass


_OKX_SUB = b'{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}'
_KRAKEN_SUB = b'{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":100}}'
# venue -> (symbol, ws path, query, subscribe request or None, REST depth path or None)
STREAM_VENUES: dict[str, tuple[str, str, str, bytes | None, str | None]] = {
    "binance": ("BTCUSDT", "/stream", "streams=btcusdt@depth@100ms", None, "/api/v3/depth"),
    "binance-usdm": ("BTCUSDT", "/stream", "streams=btcusdt@depth@100ms", None, "/fapi/v1/depth"),
    "okx": ("BTC-USDT", "/ws/v5/public", "", _OKX_SUB, None),
    "kraken": ("BTC/USD", "/v2", "", _KRAKEN_SUB, None),
}
# The simulator's streams written as a venue writes them now where that differs from what the
# captures recorded: OKX's book checksum, deprecated on 2026-06-23, is always 0 (nothing to verify).
SIM_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "okx (sim, checksum 0)": ("okx", {"checksum": "zero"}),
}


def tapped(
    venue: str, symbol: str, path: str, query: str, seed: int, profile: dict[str, Any] | None = None
) -> tuple[Any, Any, Tap]:
    """A simulated ``venue`` of one ``symbol`` (its ``Venue`` and ``VenueServer``), and a ``Tap``
    connected to its ``path``: what it sends that connection is kept, no socket in between."""
    from tickwire.sim.server import VenueServer
    from tickwire.sim.simulator import venue_class
    from tickwire.sim.venues.base import VenueConfig
    from tickwire.sim.ws import Conn

    v = venue_class(venue)(VenueConfig(seed=seed, symbols=[symbol], profile=dict(profile or {})))
    ep = VenueServer(v, 0)
    v.endpoints.append(ep)
    tap = Tap(ep, path, query)
    conn = cast(Conn, tap)
    ep.conns[tap.id] = conn
    v.on_open(conn)
    return v, ep, tap


def sim_stream(
    venue: str, frames: int, seed: int = 13, profile: dict[str, Any] | None = None, name: str | None = None
) -> Stream:
    """``frames`` book frames of ``venue`` as the simulator publishes them (with its ``profile``),
    after the subscription's snapshot (in-stream, or Binance's REST depth answer fetched after
    subscribing)."""
    from tickwire.sim.http import Request
    from tickwire.sim.ws import Conn

    symbol, path, query, subscribe, rest = STREAM_VENUES[venue]
    v, ep, tap = tapped(venue, symbol, path, query, seed, profile)
    if subscribe is not None:
        v.on_message(cast(Conn, tap), subscribe, False)
    events: list[Event] = [(None, f) for f in tap.sent if b'"bids"' in f]
    tap.sent.clear()
    if rest is not None:
        # As the official sync asks: diffs buffered first, then the REST snapshot, which the first
        # buffered diff reaching past it (USDⓈ-M: the one that straddles it) connects to.
        while len(tap.sent) < 3:
            v.book_step(symbol)
        events += [(None, f) for f in tap.sent]
        tap.sent.clear()
        req = Request("GET", rest, f"symbol={symbol}&limit=1000", {}, b"")
        events.append((symbol, asyncio.run(v.http(ep, req)).body))
    start = len(events)
    while len(tap.sent) < frames:
        v.book_step(symbol)
    events += [(None, f) for f in tap.sent[:frames]]
    inst = v.instruments[symbol]
    book = v.books[symbol]
    (bp, bq), (ap, aq) = book.bids.top(1)[0], book.asks.top(1)[0]
    truth = {symbol: (float(inst.price(bp)), float(inst.qty(bq)), float(inst.price(ap)), float(inst.qty(aq)))}
    # Kraken v2 sends shortest-form numbers; its checksum is over the pair's precision.
    kraken = venue == "kraken"
    cd = {symbol: (inst.price_decimals, 8)} if kraken else {}
    # Each step publishes exactly one frame to this one subscriber, so the book after the last
    # frame is the simulator's book now.
    return Stream(name or f"{venue} (sim)", venue, events, start, cd, 100 if kraken else None, truth)


# real captures --------------------------------------------------------------------------------------

CAPTURE_FILES = {
    "binance": "binance_spot.jsonl",
    "binance-usdm": "binance_usdm.jsonl",
    "okx": "okx.jsonl",
    "kraken": "kraken.jsonl",
}


def capture_stream(venue: str, root: Path = CAPTURES) -> Stream | None:
    """Every text frame and REST snapshot of a real capture in receive order; ``None`` if absent."""
    p = root / CAPTURE_FILES[venue]
    if not p.is_file():
        return None
    events: list[Event] = []
    for line in p.read_text().splitlines():
        e = json.loads(line)
        text = e.get("text")
        if text is None:
            continue
        if e["kind"] == "recv":
            events.append((None, text.encode()))
        elif e["kind"] == "http":
            events.append((e["url"].split("symbol=")[1].split("&")[0], text.encode()))
    return Stream(f"{venue} (capture)", venue, events)


# the two contenders ---------------------------------------------------------------------------------


def tickwire_feed(s: Stream) -> BookFeed:
    feed = BookFeed(s.venue, max_depth=s.max_depth, touch=True)
    for sym, (p, q) in s.checksum_decimals.items():
        feed.set_checksum_decimals(sym, p, q)
    return feed


def tickwire_pass(feed: BookFeed, events: list[Event]) -> object:
    """One Rust call per frame: decoded, applied, and the touch of each book it updated handed back
    in its summary (``touch=True``)."""
    on_frame, on_snapshot = feed.on_frame, feed.on_snapshot
    best: object = None
    for sym, raw in events:
        summary = on_snapshot(sym, raw) if sym is not None else on_frame(raw)
        if summary[0] == "book":
            best = summary[2]
    return best


Side = dict[float, float]
Books = dict[str, tuple[Side, Side]]


def _levels(side: Side, levels: list[list[Any]]) -> None:
    for lvl in levels:
        px, qty = float(lvl[0]), float(lvl[1])
        if qty == 0.0:
            side.pop(px, None)
        else:
            side[px] = qty


def _touch(bids: Side, asks: Side) -> object:
    if not bids or not asks:
        return None
    bb, ba = max(bids), min(asks)
    return (bb, bids[bb]), (ba, asks[ba])


def _binance_pass(events: list[Event], books: Books, wait: dict[str, list[Any]]) -> object:
    """Diffs before a symbol's REST snapshot are kept and replayed past its lastUpdateId (the
    minimum the official algorithm asks for); later ones apply as they come."""
    loads = orjson.loads
    best: object = None
    for sym, raw in events:
        if sym is not None:
            snap = loads(raw)
            bids: Side = {}
            asks: Side = {}
            _levels(bids, snap["bids"])
            _levels(asks, snap["asks"])
            books[sym] = (bids, asks)
            last = snap["lastUpdateId"]
            for d in wait.pop(sym, []):
                if d["u"] > last:
                    _levels(bids, d["b"])
                    _levels(asks, d["a"])
            continue
        msg = loads(raw)
        d = msg.get("data", msg)
        if d.get("e") != "depthUpdate":
            continue
        book = books.get(d["s"])
        if book is None:
            wait.setdefault(d["s"], []).append(d)
            continue
        _levels(book[0], d["b"])
        _levels(book[1], d["a"])
        best = _touch(*book)
    return best


def _okx_pass(events: list[Event], books: Books, _wait: dict[str, list[Any]]) -> object:
    loads = orjson.loads
    best: object = None
    for _, raw in events:
        msg = loads(raw)
        arg = msg.get("arg") if isinstance(msg, dict) else None
        if arg is None or arg.get("channel") != "books" or "data" not in msg:
            continue
        inst = arg["instId"]
        for d in msg["data"]:
            if msg.get("action") == "snapshot" or inst not in books:
                books[inst] = ({}, {})
            bids, asks = books[inst]
            _levels(bids, d["bids"])
            _levels(asks, d["asks"])
            best = _touch(bids, asks)
    return best


def _kraken_pass(events: list[Event], books: Books, _wait: dict[str, list[Any]]) -> object:
    """v1 arrays (``[id, {"as"|"a": …}, …, "book-N", pair]``) and v2 objects (JSON numbers)."""
    loads = orjson.loads
    best: object = None
    for _, raw in events:
        msg = loads(raw)
        if isinstance(msg, list):
            if len(msg) < 4 or not str(msg[-2]).startswith("book"):
                continue
            pair = msg[-1]
            for part in msg[1:-2]:
                if "as" in part or "bs" in part:
                    books[pair] = ({}, {})
                bids, asks = books.setdefault(pair, ({}, {}))
                _levels(asks, part.get("as") or part.get("a") or [])
                _levels(bids, part.get("bs") or part.get("b") or [])
                best = _touch(bids, asks)
            continue
        if msg.get("channel") != "book":
            continue
        for d in msg["data"]:
            if msg["type"] == "snapshot":
                books[d["symbol"]] = ({}, {})
            bids, asks = books.setdefault(d["symbol"], ({}, {}))
            for side, levels in ((bids, d["bids"]), (asks, d["asks"])):
                for lvl in levels:
                    if lvl["qty"] == 0:
                        side.pop(lvl["price"], None)
                    else:
                        side[lvl["price"]] = lvl["qty"]
            best = _touch(bids, asks)
    return best


PeerPass = Callable[[list[Event], Books, dict[str, list[Any]]], object]
PEERS: dict[str, PeerPass] = {
    "binance": _binance_pass,
    "binance-usdm": _binance_pass,
    "okx": _okx_pass,
    "kraken": _kraken_pass,
}


def final_touches(s: Stream) -> tuple[dict[str, Touch], dict[str, Touch]]:
    """Every book's touch after the whole stream, (tickwire, peer), for the agreement check."""
    feed = tickwire_feed(s)
    tickwire_pass(feed, s.events)
    ours = {sym: cast(Touch, feed.book(sym).top()) for sym in feed.symbols() if feed.book(sym).is_synced}
    books: Books = {}
    PEERS[s.venue](s.events, books, {})
    theirs: dict[str, Touch] = {}
    for sym, (bids, asks) in books.items():
        (bb, bq), (ba, aq) = cast(tuple[tuple[float, float], tuple[float, float]], _touch(bids, asks))
        theirs[sym] = (bb, bq, ba, aq)
    return ours, theirs


def interleaved_ns(s: Stream, rounds: int) -> tuple[list[float], list[float]]:
    """Per round, mean ns per timed event of (tickwire, peer), rounds alternating; setting books
    up to ``s.start`` is outside the timed part."""
    setup, timed = s.events[: s.start], s.events[s.start :]
    peer = PEERS[s.venue]
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(rounds):
        feed = tickwire_feed(s)
        tickwire_pass(feed, setup)
        t0 = time.perf_counter_ns()
        tickwire_pass(feed, timed)
        t1 = time.perf_counter_ns()
        books: Books = {}
        wait: dict[str, list[Any]] = {}
        peer(setup, books, wait)
        t2 = time.perf_counter_ns()
        peer(timed, books, wait)
        t3 = time.perf_counter_ns()
        ours.append((t1 - t0) / len(timed))
        theirs.append((t3 - t2) / len(timed))
    return ours, theirs


def streams(quick: bool, progress: Progress, captures: Path = CAPTURES) -> list[Stream]:
    frames = 300 if quick else 2000
    out = []
    for venue in STREAM_VENUES:
        progress(f"decode: simulating {frames} {venue} frames")
        out.append(sim_stream(venue, frames))
    for name, (venue, profile) in SIM_VARIANTS.items():
        progress(f"decode: simulating {frames} {name} frames")
        out.append(sim_stream(venue, frames, profile=profile, name=name))
    if not quick:
        for venue in CAPTURE_FILES:
            c = capture_stream(venue, captures)
            if c is not None:
                out.append(c)
            else:
                progress(f"decode: no {venue} capture at {captures} (a development checkout has them)")
    return out


def measure(quick: bool, progress: Progress) -> list[Result]:
    """Rows per venue: ``tickwire`` and ``orjson_dict`` (the peer), with the ratio, frames/s, and
    how many books ended on the same touch both ways (``books_agree`` of ``books``)."""
    rounds = 3 if quick else 11
    rows: list[Result] = []
    for s in streams(quick, progress):
        progress(f"decode: {s.name}, {s.timed} frames x {rounds} rounds")
        ours, theirs = final_touches(s)
        # Every book either side (or the simulator) ended with counts, so a book one side lost or
        # never built is a disagreement, not a book left out; no book at all agrees on nothing.
        names = set(ours) | set(theirs) | set(s.truth)
        agree = sum(
            1
            for sym in names
            if sym in ours and ours[sym] == theirs.get(sym) and (not s.truth or ours[sym] == s.truth.get(sym))
        )
        books = float(len(names))
        ns_t, ns_p = interleaved_ns(s, rounds)
        stage = f"{STAGE} {s.name}"
        for key, name, ns in (
            (TICKWIRE, "tickwire on_frame(touch=True)", ns_t),
            (PEER, "orjson + dict/float", ns_p),
        ):
            extra = {
                "frames": float(s.timed),
                "frames_per_s": 1e9 / statistics.median(ns),
                "books": books,
                "books_agree": float(agree),
            }
            rows.append(Result.of(stage, key, name, ns, extra=extra, note=f"{s.venue}, same frames"))
    add_ratios(rows, PEER)
    return rows


def disagreements(rows: list[Result]) -> list[str]:
    """A note for each stream of ``rows`` whose books did not all end on the same touch both ways
    (and as the simulator's, for its streams), or that had no book to compare: the stage's check."""
    out = []
    for r in rows:
        if r.key != TICKWIRE:
            continue
        books, agree = int(r.extra["books"]), int(r.extra["books_agree"])
        if books == 0 or agree != books:
            out.append(
                f"{r.stage}: tickwire and the peer did NOT agree ({agree} of {books} books on the same touch)"
            )
    return out
