"""``QuoteRule`` on the frame route (``Dispatcher``), without a session: on the real Binance capture
every order it writes is what ``OrderTemplate.fill`` makes for the book's best bid (read back through
the book's own view in ``on_book``, which runs after the rule) plus the offset, under the template's
next client id; one write per load; nothing on a book out of sync, without room in the budget, or
after a refusal (which reaches ``on_error`` and spends nothing)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from test_dispatch import capture, synced, synthetic
from test_template_fire import RULES, TS, Clock, budget
from tickwire import BookFeed, _core
from tickwire._core import Dispatcher, QuoteRule
from tickwire.errors import InvalidOrder
from tickwire.venues import binance

QTY = 100


def template(symbol: str = "BTCUSDT", price_scale: int = 2) -> _core.OrderTemplate:
    signer = binance.Signer("quote-key", "quote-secret")
    head, tail = b"POST /api/v3/order?", b" HTTP/1.1\r\nHost: x\r\n\r\n"
    rules = {**RULES, "price_scale": price_scale}
    return _core.OrderTemplate.binance_spot(
        signer, symbol.upper(), "BUY", transport="rest", head=head, tail=tail, **rules
    )


class Rig:
    """A feed, its route, a rule on ``symbol`` and a template whose writes are kept."""

    def __init__(
        self, feed: BookFeed, symbol: str, offset: int = 0, when: str = "every", scale: int = 2
    ) -> None:
        self.feed, self.symbol, self.scale = feed, symbol, scale
        self.form = template(symbol, scale)
        self.form.give_ids("q", 0, 10_000)
        self.written: list[bytes] = []
        self.sent: list[tuple[str, bytes, int]] = []
        self.errors: list[BaseException] = []
        self.route_errors: list[BaseException] = []
        self.seen: list[tuple[int, int | None]] = []  # (orders sent so far, best bid) per on_book
        self.reload = True  # load the next write from on_sent (False: the order stays in flight)
        self.rule = QuoteRule(
            symbol, reference="bid", offset=offset, qty=QTY, when=when, price_scale=scale,
            on_sent=self.on_sent, on_error=self.errors.append,
        )  # fmt: skip
        self.route = Dispatcher(feed, self.on_book, self.route_errors.append, None, coalesce=False)
        self.route.quotes.arm(self.rule)

    def load(self, take: Any = None) -> None:
        self.rule.load(self.form, TS, "", self.written.append, None, take)

    def on_sent(self, cid: str, data: bytes, price: int) -> None:
        self.sent.append((cid, data, price))
        if self.reload:
            self.load()  # the next write, as a session does once the answer is in

    def on_book(self, book: Any) -> None:
        if book.symbol == self.symbol.upper():
            self.seen.append((len(self.sent), book.best_bid_mantissa(self.scale)))


def on_the_capture() -> tuple[BookFeed, list[bytes]]:
    """The capture's feed with every book synced, and the frames after the first."""
    snaps, frames = capture()
    feed = BookFeed("binance")
    feed.on_frame(frames[0])
    for symbol, snap in snaps.items():
        feed.on_snapshot(symbol, snap)
    return feed, frames


def test_on_the_real_capture_each_order_is_the_fill_of_the_best_bid_plus_the_offset() -> None:
    feed, frames = on_the_capture()
    rig = Rig(feed, "NKNUSDT", offset=-7, scale=4)  # NKNUSDT's prices: 4 decimals (0.3517)
    rig.load()
    for fr in frames[1:]:
        rig.route.on_frame(fr, 1, 1)
    assert rig.route_errors == [] and rig.errors == []
    mine = [bid for _, bid in rig.seen]
    assert len(mine) > 20  # the capture moves this book
    # One order per change of the book, before on_book saw it, at the bid on_book then read.
    assert [n for n, _ in rig.seen] == list(range(1, len(mine) + 1))
    assert [p for _, _, p in rig.sent] == [b - 7 for b in mine if b is not None]
    for k, (cid, data, price) in enumerate(rig.sent):
        assert cid == "q" + _b62(k)
        assert data == rig.written[k] == rig.form.fill(price, QTY, cid, TS)
    assert rig.rule.sent == len(rig.sent) and rig.rule.last_price == rig.sent[-1][2]


def _b62(n: int) -> str:
    from tickwire.trading.client_ids import _base62

    return _base62(n)


def test_change_sends_only_when_the_price_moves() -> None:
    feed, frames = on_the_capture()
    rig = Rig(feed, "NKNUSDT", when="change", scale=4)
    rig.load()
    for fr in frames[1:]:
        rig.route.on_frame(fr, 1, 1)
    bids = [b for _, b in rig.seen]
    moves = [b for k, b in enumerate(bids) if b is not None and (k == 0 or b != bids[k - 1])]
    assert [p for _, _, p in rig.sent] == moves and len(moves) < len(bids)


def test_one_write_per_load_then_nothing_until_loaded_again() -> None:
    snap, frames = synthetic(8)
    feed = BookFeed("binance")
    synced(feed, snap, frames[0])
    rig = Rig(feed, "btcusdt")  # as a user writes it: found under the venue's key
    rig.on_sent = lambda cid, data, price: rig.sent.append((cid, data, price))  # type: ignore[method-assign]
    rig.rule = QuoteRule(
        "btcusdt", reference="bid", offset=0, qty=QTY, when="every", price_scale=2,
        on_sent=rig.on_sent, on_error=rig.errors.append,
    )  # fmt: skip
    rig.route = Dispatcher(feed, rig.on_book, rig.route_errors.append, None, coalesce=False)
    rig.route.quotes.arm(rig.rule)
    rig.route.on_frame(frames[1], 1, 1)
    assert rig.written == []  # never loaded
    rig.load()
    assert rig.rule.loaded
    for fr in frames[2:5]:
        rig.route.on_frame(fr, 1, 1)
    assert len(rig.written) == 1 and not rig.rule.loaded and rig.sent[0][2] == 10000  # bid 100.00
    rig.load()
    assert rig.route.quotes.disarm(rig.rule) and not rig.route.quotes.disarm(rig.rule)
    rig.route.on_frame(frames[5], 1, 1)
    assert len(rig.written) == 1 and rig.rule.loaded  # disarmed: loaded, never offered a book
    assert rig.rule.unload() and not rig.rule.unload()


def test_a_book_out_of_sync_sends_nothing() -> None:
    snap, frames = synthetic(6)
    feed = BookFeed("binance")
    feed.on_frame(frames[0])  # no snapshot yet: buffered, not in sync
    rig = Rig(feed, "BTCUSDT")
    rig.load()
    rig.route.on_frame(frames[1], 1, 1)
    assert rig.written == [] and rig.rule.loaded
    feed.on_snapshot("BTCUSDT", snap)
    rig.route.on_frame(frames[2], 1, 1)
    assert len(rig.written) == 1


def test_no_room_in_the_budget_writes_nothing_and_stays_loaded() -> None:
    snap, frames = synthetic(8)
    feed = BookFeed("binance")
    synced(feed, snap, frames[0])
    clock = Clock()
    b = budget(1, clock)
    take = b.taker({"ORDERS_10S": 1}, "cancel")
    rig = Rig(feed, "BTCUSDT")
    rig.on_sent = lambda cid, data, price: (rig.sent.append((cid, data, price)), rig.load(take))  # type: ignore[method-assign]
    rig.rule = QuoteRule(
        "BTCUSDT", reference="bid", offset=0, qty=QTY, when="every", price_scale=2,
        on_sent=rig.on_sent, on_error=rig.errors.append,
    )  # fmt: skip
    rig.route = Dispatcher(feed, None, rig.route_errors.append, None, coalesce=False)
    rig.route.quotes.arm(rig.rule)
    rig.load(take)
    for fr in frames[1:4]:
        rig.route.on_frame(fr, 1, 1)
    w = b.windows["ORDERS_10S"]
    assert len(rig.written) == 1 and w.used(clock.now) == 1  # then the window was full
    assert rig.rule.loaded and rig.form.ids_left == 10_000 - 1
    clock.now += 11.0
    rig.route.on_frame(frames[4], 1, 1)
    assert len(rig.written) == 2 and w.used(clock.now) == 1


def test_a_refused_order_reaches_on_error_writes_nothing_and_spends_no_id() -> None:
    snap, frames = synthetic(4)
    feed = BookFeed("binance")
    synced(feed, snap, frames[0])
    rig = Rig(feed, "BTCUSDT", offset=-10_000)  # a price of zero: the rule gives no order
    rig.load()
    rig.route.on_frame(frames[1], 1, 1)
    assert rig.written == [] and rig.errors == [] and rig.rule.loaded
    bad = Rig(feed, "BTCUSDT")
    bad.rule = QuoteRule(
        "BTCUSDT", reference="bid", offset=0, qty=0, when="every", price_scale=2,
        on_sent=bad.on_sent, on_error=bad.errors.append,
    )  # fmt: skip
    bad.route.quotes.arm(bad.rule)
    bad.load()
    bad.route.on_frame(frames[2], 1, 1)
    assert bad.written == [] and len(bad.errors) == 1 and isinstance(bad.errors[0], InvalidOrder)
    assert not bad.rule.loaded and bad.form.ids_left == 10_000


def test_a_book_price_finer_than_the_orders_scale_stops_the_rule() -> None:
    snap, frames = synthetic(3)
    feed = BookFeed("binance")
    synced(feed, snap, frames[0])
    errors: list[BaseException] = []
    rule = QuoteRule(
        "BTCUSDT", reference="ask", offset=0, qty=QTY, when="every", price_scale=0,
        on_sent=lambda *a: None, on_error=errors.append,
    )  # fmt: skip
    route = Dispatcher(feed, None, errors.append, None, coalesce=False)
    route.quotes.arm(rule)
    form, written = template(), []  # type: ignore[var-annotated]
    form.give_ids("q", 0, 10)
    rule.load(form, TS, "", written.append)
    feed_ask = synthetic(3)[1][1].replace(b'"a":[]', b'"a":[["100.5","1"]]')
    route.on_frame(feed_ask, 1, 1)
    assert written == [] and len(errors) == 1 and isinstance(errors[0], InvalidOrder)
    assert "decimals" in str(errors[0]) and not rule.loaded


def test_a_raising_callback_is_reported_and_the_route_goes_on() -> None:
    snap, frames = synthetic(4)
    feed = BookFeed("binance")
    synced(feed, snap, frames[0])
    rig = Rig(feed, "BTCUSDT")

    def boom(cid: str, data: bytes, price: int) -> None:
        raise RuntimeError("tracking bug")

    rule = QuoteRule(
        "BTCUSDT", reference="bid", offset=0, qty=QTY, when="every", price_scale=2,
        on_sent=boom, on_error=rig.errors.append,
    )  # fmt: skip
    rig.route.quotes.disarm(rig.rule)
    rig.route.quotes.arm(rule)
    rule.load(rig.form, TS, "", rig.written.append)
    for fr in frames[1:3]:
        rig.route.on_frame(fr, 1, 1)
    assert len(rig.written) == 1 and [type(e) for e in rig.route_errors] == [RuntimeError]
    assert len(rig.seen) == 2 and feed.book("BTCUSDT").last_update_id == 103


def test_bad_arguments_are_refused() -> None:
    for kw in ({"reference": "mid"}, {"when": "sometimes"}, {"price_scale": 19}):
        args: dict[str, Any] = dict(
            reference="bid", offset=0, qty=1, when="every", price_scale=2, on_sent=print, on_error=print
        )
        args.update(kw)
        with pytest.raises(ValueError):
            QuoteRule("BTCUSDT", **args)


def test_a_rule_is_disarmed_or_armed_from_callbacks_the_route_is_running() -> None:
    """``on_book`` (and a rule's own ``on_sent``) run while the route is busy with the frame: the rules
    are held apart from it, so disarming one there takes effect for the next frame, and arming one
    there is offered the next frame."""
    snap, frames = synthetic(8)
    feed = BookFeed("binance")
    synced(feed, snap, frames[0])
    rig = Rig(feed, "BTCUSDT")
    other = Rig(feed, "BTCUSDT")  # its own rule and form, armed from rig's on_book below
    rig.route.quotes.disarm(rig.rule)
    board = rig.route.quotes
    calls: list[str] = []

    def on_book(book: Any) -> None:
        calls.append("book")
        if len(calls) == 1:
            assert board.disarm(rig.rule) and not board.disarm(rig.rule)
            board.arm(other.rule)

    route = Dispatcher(feed, on_book, rig.route_errors.append, None, coalesce=False)
    board = route.quotes
    board.arm(rig.rule)
    rig.load()
    other.load()
    for fr in frames[1:4]:
        route.on_frame(fr, 1, 1)
    assert rig.route_errors == [] and len(calls) == 3
    assert len(rig.written) == 1  # the first frame, before on_book disarmed it; nothing after
    assert len(other.written) == 2  # armed from on_book: the second and third frames
    assert len(board) == 1


def test_a_rule_disarming_itself_does_not_cost_the_next_rule_its_frame() -> None:
    snap, frames = synthetic(4)
    feed = BookFeed("binance")
    synced(feed, snap, frames[0])
    first, second = Rig(feed, "BTCUSDT"), Rig(feed, "BTCUSDT")
    route = Dispatcher(feed, None, first.route_errors.append, None, coalesce=False)
    board = route.quotes

    def once(cid: str, data: bytes, price: int) -> None:  # disarms itself from its own callback
        first.sent.append((cid, data, price))
        board.disarm(first.rule)

    first.rule = QuoteRule(
        "BTCUSDT", reference="bid", offset=0, qty=QTY, when="every", price_scale=2,
        on_sent=once, on_error=first.errors.append,
    )  # fmt: skip
    board.arm(first.rule)
    board.arm(second.rule)
    first.load()
    second.load()
    route.on_frame(frames[1], 1, 1)
    assert len(first.written) == 1 and len(second.written) == 1  # both fired on the one frame
    assert len(board) == 1 and first.route_errors == []


def test_updates_gone_by_unloaded_are_priced_once_at_the_next_load_on_the_book_as_it_is() -> None:
    feed, frames = on_the_capture()
    rig = Rig(feed, "NKNUSDT", offset=-7, scale=4)
    rig.reload = False  # the order stays in flight
    rig.load()
    k = 1
    while not rig.sent:
        rig.route.on_frame(frames[k], 1, 1)
        k += 1
    assert not rig.rule.missed
    fired, at = rig.sent[0][2] + 7, len(rig.seen)
    # Updates of the book while nothing is loaded, until its bid moved.
    while len(rig.seen) < at + 2 or rig.seen[-1][1] == fired:
        rig.route.on_frame(frames[k], 1, 1)
        k += 1
    assert len(rig.written) == 1 and rig.rule.missed
    assert not rig.rule.catch_up() and rig.rule.missed  # nothing loaded: nothing, the miss kept
    rig.load()
    assert rig.rule.catch_up()
    bid = feed.book("NKNUSDT").best_bid_mantissa(4)
    assert bid is not None and bid != fired  # the book moved meanwhile
    cid, data, price = rig.sent[1]
    assert price == bid - 7 and data == rig.written[1] == rig.form.fill(price, QTY, cid, TS)
    assert not rig.rule.missed and not rig.rule.loaded
    rig.load()
    assert not rig.rule.catch_up() and len(rig.written) == 2 and rig.rule.loaded  # once only
    assert rig.errors == [] and rig.route_errors == []


def test_catching_up_follows_when_and_a_disarmed_rule_forgets_what_it_missed() -> None:
    snap, frames = synthetic(8)  # every frame adds a bid under 100.00: the best bid never moves
    feed = BookFeed("binance")
    synced(feed, snap, frames[0])
    rig = Rig(feed, "BTCUSDT", when="change")
    rig.reload = False
    rig.load()
    rig.route.on_frame(frames[1], 1, 1)
    assert [p for _, _, p in rig.sent] == [10000]
    for fr in frames[2:4]:
        rig.route.on_frame(fr, 1, 1)
    assert rig.rule.missed
    rig.load()
    assert not rig.rule.catch_up()  # the price is the last order's: "change" sends nothing
    assert len(rig.written) == 1 and rig.rule.loaded and not rig.rule.missed
    assert rig.rule.unload()
    rig.route.on_frame(frames[4], 1, 1)
    assert rig.rule.missed and rig.route.quotes.disarm(rig.rule)
    assert not rig.rule.missed  # offered no book now: nothing to catch up on


def test_an_update_a_catch_up_already_priced_is_not_priced_again() -> None:
    """One read holds an update of another book and then one of the rule's: with coalescing, the
    other book's ``on_book`` runs first and loads the rule (as ``q.resume()`` from there would),
    whose catch-up prices the rule's book with that update applied; the route then offers the same
    update to the rule, which must not count it as missed: one order for it, not two."""

    def snap(px: str) -> bytes:
        return orjson.dumps({"lastUpdateId": 100, "bids": [[px, "1"]], "asks": [["9999.0", "1"]]})

    def upd(sym: str, u: int, px: str) -> bytes:
        return orjson.dumps({"e": "depthUpdate", "E": 1, "s": sym, "U": u, "u": u, "b": [[px, "2"]], "a": []})

    feed = BookFeed("binance")
    for sym, px in (("BTCUSDT", "100.0"), ("ETHUSDT", "50.0")):
        feed.on_frame(upd(sym, 101, px))
        feed.on_snapshot(sym, snap(px))
    form = template()
    form.give_ids("q", 0, 100)
    written: list[bytes] = []
    sent: list[int] = []
    rule = QuoteRule(
        "BTCUSDT", reference="bid", offset=0, qty=QTY, when="every", price_scale=2,
        on_sent=lambda cid, data, price: sent.append(price), on_error=print,
    )  # fmt: skip

    def load() -> None:  # as Quote.load does
        rule.load(form, TS, "", written.append, None, None)
        if rule.missed:
            rule.catch_up()

    load_on_eth = [False]

    def on_book(book: Any) -> None:
        if book.symbol == "ETHUSDT" and load_on_eth[0]:
            load_on_eth[0] = False
            load()

    route = Dispatcher(feed, on_book, print, None, coalesce=True)
    route.quotes.arm(rule)
    load()
    route.on_frame(upd("BTCUSDT", 102, "101.0"), 1, 1)  # fires; its order stays in flight
    route.on_frame(upd("BTCUSDT", 103, "102.0"), 1, 1)  # missed
    load_on_eth[0] = True
    route.on_frame(upd("ETHUSDT", 102, "51.0"), 1, 0)  # one read: ETH, then BTC, called back at its end
    route.on_frame(upd("BTCUSDT", 104, "103.0"), 1, 1)
    assert sent == [10100, 10300] and not rule.missed  # the catch-up priced BTC with 103.0 applied
    load()  # its answer came; no update of BTCUSDT since
    assert sent == [10100, 10300] and len(written) == 2 and rule.loaded
