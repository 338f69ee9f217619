"""Fuzzing BookFeed with mutated frames of the venues that have no real capture (Bybit, Coinbase,
Bitfinex, Binance SBE and the seed venues), as the project's own simulator publishes them: only
tickwire errors come out, a refused frame leaves every book exactly as it was, and an untouched
stream ends on the simulator's own book."""

from __future__ import annotations

import copy
import json
import zlib
from decimal import Decimal
from typing import Any

from feed_state import whole_state
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sim_frames import VENUES, feed_of, sim_events, split, step
from tickwire import BookFeed, errors


def test_untouched_sim_streams_end_on_the_simulators_book() -> None:
    for venue in VENUES:
        events, (bids, asks) = sim_events(venue)
        feed = BookFeed(venue)
        for sym, payload in events:
            if sym is not None:
                feed.on_snapshot(sym, payload)
            else:
                feed.on_frame(payload)
        sym = VENUES[venue][1]
        book = feed.book(sym)
        assert book.is_synced, venue
        got_b = book.levels_exact("bid", 10**6)
        got_a = book.levels_exact("ask", 10**6)
        n = len(got_b)
        assert [(Decimal(p), Decimal(q)) for p, q in got_b] == [
            (Decimal(p), Decimal(q)) for p, q in bids[:n]
        ], venue
        n = len(got_a)
        assert [(Decimal(p), Decimal(q)) for p, q in got_a] == [
            (Decimal(p), Decimal(q)) for p, q in asks[:n]
        ], venue


# --- mutations ---------------------------------------------------------------------------------------


class Raw(str):
    """A JSON number kept as its text."""


class Obj(list[tuple[str, Any]]):
    """A JSON object as its (key, value) pairs, so keys can be doubled."""


def parse(text: bytes) -> Any:
    return json.loads(text, object_pairs_hook=Obj, parse_float=Raw, parse_int=Raw)


def dump(v: Any) -> str:
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, Obj):
        return "{" + ",".join(f"{json.dumps(k)}:{dump(x)}" for k, x in v) + "}"
    if isinstance(v, list):
        return "[" + ",".join(dump(x) for x in v) + "]"
    return json.dumps(v)


# Values in odd forms: numbers (quoted and not) in exponents, with leading zeros, huge, negative,
# empty, and values of the wrong type.
ODD: list[Any] = [
    "1e2", "1E-2", "01", "00.5", "1" * 40, "-1", "-0", "", " 1", "+1", ".5", "5.", "0x10", "NaN", "inf",
    "1e400", "0.000000000000000000000001", "9223372036854775807", "18446744073709551616",
    Raw("1e2"), Raw("-1"), Raw("0"), Raw("1" * 30), Raw("1.5"), Raw("-0"), Raw("1e-30"),
    Raw("9223372036854775808"), Raw("-9223372036854775809"), None, True, False, [], {},
    Obj([("a", Raw("1"))]), [Raw("1")], "BTCUSDT", "ETHUSDT", "tETHUSD", "ETH-USD", "eth-usdt", "GOOGL",
    "snapshot", "update", "delta", "bid", "offer", "ask",
]  # fmt: skip


def _nodes(v: Any, path: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    out = [path]
    if isinstance(v, Obj):
        for i, (_, x) in enumerate(v):
            out += _nodes(x, (*path, i))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            out += _nodes(x, (*path, i))
    return out


def _at(v: Any, path: tuple[int, ...]) -> Any:
    for i in path:
        v = v[i][1] if isinstance(v, Obj) else v[i]
    return v


def mutate_json(doc: Any, edits: list[tuple[str, int, int]]) -> str:
    for op, where, what in edits:
        nodes = [p for p in _nodes(doc) if p]
        if not nodes:
            break
        path = nodes[where % len(nodes)]
        parent, i = _at(doc, path[:-1]), path[-1]
        if op == "delete":
            del parent[i]
        elif op == "double":
            parent.insert(i + 1, parent[i])
        elif op == "rename" and isinstance(parent, Obj):
            parent[i] = (parent[i][0] + "x" if what % 2 else parent[i][0].upper(), parent[i][1])
        elif op == "value":
            # A copy: ODD's lists and objects are shared by every example, and an edit inside one
            # placed here would change it for later examples (one once came to hold itself, and
            # ``dump`` recursed without end: a failure hypothesis could not replay).
            new = copy.deepcopy(ODD[what % len(ODD)])
            parent[i] = (parent[i][0], new) if isinstance(parent, Obj) else new
        elif op == "swap" and len(parent) > 1:
            j = what % len(parent)
            parent[i], parent[j] = parent[j], parent[i]
        elif op == "wrap":
            x = parent[i][1] if isinstance(parent, Obj) else parent[i]
            parent[i] = (parent[i][0], [x]) if isinstance(parent, Obj) else [x]
    return dump(doc)


def mutate_bytes(frame: bytearray, edits: list[tuple[str, int, int]]) -> bytes:
    for op, pos, byte in edits:
        i = pos % max(len(frame), 1)
        if op in ("flip", "delete", "double", "rename", "wrap") and frame:
            frame[i] ^= 1 << (byte % 8)
        elif op in ("value", "swap") and frame:
            frame[i] = byte % 256
        elif op == "cut":
            del frame[i:]
        elif op == "insert":
            frame.insert(i, byte % 256)
    return bytes(frame)


edits = st.lists(
    st.tuples(
        st.sampled_from(["delete", "double", "rename", "value", "swap", "wrap", "cut", "insert", "flip"]),
        st.integers(0, 1 << 30),
        st.integers(0, 1 << 30),
    ),
    min_size=1,
    max_size=3,
)


def _mutant(venue: str, frame: bytes, structural: bool, ed: list[tuple[str, int, int]]) -> bytes | str:
    if venue == "binance-sbe" or not structural:
        return mutate_bytes(bytearray(frame), ed)
    if venue == "clarofinlore":
        text = mutate_json(
            parse(zlib.decompress(frame)), [e for e in ed if e[0] not in ("cut", "insert", "flip")]
        )
        return zlib.compress(text.encode())
    return mutate_json(parse(frame), [e for e in ed if e[0] not in ("cut", "insert", "flip")])


def _check(
    venue: str, which: int, structural: bool, ed: list[tuple[str, int, int]], extra: bool = False
) -> None:
    warm, later = split(venue, extra)
    k = which % len(later)
    feed = feed_of(venue, warm + tuple((None, f) for f in later[:k]))
    frame = _mutant(venue, later[k], structural, ed)
    before = whole_state(feed)
    try:
        feed.on_frame(frame)
    except errors.TickwireError:
        assert whole_state(feed) == before, (venue, frame)
    for f in later[k + 1 : k + 3]:
        step(feed, (None, f))
    # Every book the feed lists can be read back by its listed name.
    whole_state(feed)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(VENUES)), st.integers(0, 1 << 30), st.booleans(), edits, st.booleans())
def test_mutated_sim_frames_never_crash_and_refusals_change_nothing(
    venue: str, which: int, structural: bool, ed: list[tuple[str, int, int]], extra: bool
) -> None:
    _check(venue, which, structural, ed, extra)


# --- seed venues: a lost update is never hidden -----------------------------------------------------

SEEDS = ("clarofinlore", "tradefence", "cloud9trader")


def _text(venue: str, frame: bytes) -> bytes:
    return zlib.decompress(frame) if venue == "clarofinlore" else frame


def _frame(venue: str, text: bytes) -> bytes:
    return zlib.compress(text) if venue == "clarofinlore" else text


def _sim_levels(venue: str) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    _, (bids, asks) = sim_events(venue)
    return [(Decimal(p), Decimal(q)) for p, q in bids], [(Decimal(p), Decimal(q)) for p, q in asks]


def _agrees_with_sim(venue: str, feed: BookFeed) -> bool:
    """A synced book must be the simulator's own (at the depth the feed holds)."""
    book = feed.book(VENUES[venue][1])
    if not book.is_synced:
        return True
    bids, asks = _sim_levels(venue)
    got_b, got_a = book.levels_exact("bid", 10**6), book.levels_exact("ask", 10**6)
    return got_b == bids[: len(got_b)] and got_a == asks[: len(got_a)]


def test_seed_update_without_prev_seq_after_a_lost_one_does_not_hide_the_loss() -> None:
    """seed-venues.md: every book message names `seq` and `prev_seq`, and a gap forces a resync. An
    update that came without its `prev_seq` cannot show that the one before it was lost: taking it
    anyway leaves a book that says it is synced but is not the venue's."""
    for venue in SEEDS:
        events, _ = sim_events(venue)
        updates = [
            i
            for i, (s, f) in enumerate(events)
            if s is None and b'"update"' in _text(venue, f) and b'"bids"' in _text(venue, f)
        ]
        # Updates follow the stripped one: until one comes, no feed could know of the loss.
        for lost in updates[-8:-2]:
            nxt = updates[updates.index(lost) + 1]
            msg = json.loads(_text(venue, events[nxt][1]))
            del msg["prev_seq"]
            stream = [e for i, e in enumerate(events) if i != lost]
            stream[nxt - 1] = (None, _frame(venue, json.dumps(msg).encode()))
            feed = BookFeed(venue)
            for ev in stream:
                step(feed, ev)
            assert _agrees_with_sim(venue, feed), (venue, lost, feed.book(VENUES[venue][1]).state)


# --- Coinbase: a refused frame that shows a connection gap changes nothing -----------------------


def _no_product(msg: dict[str, Any]) -> None:
    del msg["events"][0]["product_id"]


def _bad_snapshot(msg: dict[str, Any]) -> None:
    ev = msg["events"][0]
    ev["type"] = "snapshot"
    ev["updates"].append(dict(ev["updates"][0], new_quantity="-1"))


def test_coinbase_refused_frame_after_a_lost_one_changes_nothing_and_the_next_shows_the_gap() -> None:
    """venues.md §5.2: a `sequence_num` gap is loss. A frame past a lost one that is refused (an
    event naming no product; a snapshot with a negative size) must leave every book as it was, like
    any refused frame; its number is not taken, so the next frame reports the gap."""
    events, _ = sim_events("coinbase")
    l2 = [i for i, (s, f) in enumerate(events) if s is None and b'"l2_data"' in f and b'"update"' in f]
    for mangle in (_no_product, _bad_snapshot):
        for lost in l2[-8:-2]:
            feed = BookFeed("coinbase")
            for ev in events[:lost]:
                step(feed, ev)
            msg = json.loads(events[lost + 1][1])
            mangle(msg)
            before = whole_state(feed)
            try:
                feed.on_frame(json.dumps(msg))
            except errors.TickwireError:
                assert whole_state(feed) == before, (mangle.__name__, lost)
            else:
                raise AssertionError(f"{mangle.__name__} was taken")
            _, updates, _ = feed.on_frame(events[lost + 2][1])
            assert ("BTC-USD", "gap") in updates, (mangle.__name__, updates)
            assert feed.needs() == (("BTC-USD", "resubscribe"),)


def _every_listed_book(feed: BookFeed) -> None:
    for s in feed.symbols():
        feed.book(s)


def test_a_symbol_that_is_not_text_makes_no_book_the_caller_cannot_name() -> None:
    """JSON text is UTF-8 (RFC 8259 §8.1) and so is SBE's varString8 symbol: a frame whose symbol a
    flipped byte left invalid is malformed. Taken, it made a book `symbols()` lists under a name
    (U+FFFD in place of the byte) that `book()` does not know, so reading every listed book raised
    a raw KeyError."""
    for venue in VENUES:
        events, _ = sim_events(venue)
        sym = VENUES[venue][1].encode()
        unpack = zlib.decompress if venue == "clarofinlore" else bytes
        at = max(i for i, (s, f) in enumerate(events) if s is None and sym in unpack(f))
        text = unpack(events[at][1])
        k = text.rindex(sym) + 1
        mangled = text[:k] + b"\xff" + text[k + 1 :]
        feed = BookFeed(venue)
        for ev in events[:at]:
            step(feed, ev)
        before = whole_state(feed)
        try:
            feed.on_frame(zlib.compress(mangled) if venue == "clarofinlore" else mangled)
        except errors.TickwireError:
            assert whole_state(feed) == before, venue
        for ev in events[at + 1 :]:
            step(feed, ev)
        _every_listed_book(feed)


def test_a_text_frame_with_a_lone_surrogate_is_a_decode_error_that_changes_nothing() -> None:
    """A text frame handed over as str whose bytes were mangled into a lone surrogate (text decoded
    with "surrogateescape") has no UTF-8 form: a malformed frame like any other, not a raw
    UnicodeEncodeError."""
    for venue in VENUES:
        if venue in ("clarofinlore", "binance-sbe"):
            continue  # binary frames
        warm, later = split(venue)
        feed = feed_of(venue, warm)
        before = whole_state(feed)
        text = later[0].decode()
        try:
            feed.on_frame(text[:10] + "\udcff" + text[11:])
        except errors.TickwireError:
            pass
        assert whole_state(feed) == before, venue
