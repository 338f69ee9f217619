"""``OrderTemplate.fire``, the one call a template's ``send`` makes (client id, rate budget, fill,
signature, write): against ``fill`` (held byte for byte to the slow path in ``test_template.py``), the
client ids ``ClientIds`` spells in Python, and the budget's own windows — nothing written, nothing
taken and no id spent when the budget has no room or the numbers break the instrument's rules."""

from __future__ import annotations

import itertools
import threading
import time

import pytest
from tickwire import _core
from tickwire.errors import InvalidOrder
from tickwire.limits import Limit, RateBudget
from tickwire.limits import budget as budget_module
from tickwire.trading.client_ids import ClientIds, _base62
from tickwire.venues import binance

TS = 1_700_000_000_123
RULES = dict(price_scale=2, qty_scale=5, tick=1, lot=1, min_qty=1, max_qty=10**12)


def template() -> _core.OrderTemplate:
    signer = binance.Signer("fire-key", "fire-secret")
    head, tail = b"POST /api/v3/order?", b" HTTP/1.1\r\nHost: x\r\n\r\n"
    return _core.OrderTemplate.binance_spot(
        signer, "BTCUSDT", "BUY", transport="rest", head=head, tail=tail, **RULES
    )


_accounts = itertools.count()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def budget(orders: int, clock: Clock) -> RateBudget:
    limits = [Limit("ORDERS_10S", orders, 10.0, "account")]
    return RateBudget("fire-test", limits, ip="127.0.0.9", account=f"fire-{next(_accounts)}", clock=clock)


def test_fire_writes_what_fill_makes_under_the_ids_client_ids_spells() -> None:
    ids, twin = ClientIds("binance", "bot"), ClientIds("binance", "bot")
    twin.nonce, twin._stem, twin._count = ids.nonce, ids._stem, 3840  # the same session, in Python
    ids._count = 3840
    stem, first, end = ids.reserve(6)  # across the two-symbol / three-symbol boundary (62²)
    assert (first, end) == (3840, 3846)
    t = template()
    t.give_ids(stem, first, end)
    written: list[bytes] = []
    for k in range(6):
        got = t.fire(4_325_001 + k, 100, TS, "", written.append)
        assert got is not None
        cid, data = got
        assert cid == twin.next() == stem + _base62(first + k)
        assert data == written[-1] == t.fill(4_325_001 + k, 100, cid, TS)
    assert t.ids_left == 0 and t.fire(4_325_001, 100, TS, "", written.append) is None
    assert len(written) == 6
    assert ids.next() == stem + _base62(end)  # never one the template was given


def test_a_picows_style_write_gets_the_frame_type_first() -> None:
    t = template()
    t.give_ids("s", 0, 1)
    calls: list[tuple[object, ...]] = []
    got = t.fire(100, 100, TS, "r1", lambda *a: calls.append(a), "TEXT")
    assert got is not None and calls == [("TEXT", got[1])]


def test_ready_ns_is_stamped_after_the_bytes_are_made_and_before_the_write() -> None:
    """``ready_ns``: where the library's own work for an order ends (``tickwire bench``'s "order's
    bytes handed to the write" row) — on Python's monotonic clock, between the call and the write;
    a fire that writes nothing leaves it as it was."""
    t = template()
    t.give_ids("s", 0, 1)
    assert t.ready_ns == 0
    at_write: list[int] = []
    before = time.monotonic_ns()
    got = t.fire(100, 100, TS, "", lambda data: at_write.append(time.monotonic_ns()))
    assert got is not None and before <= t.ready_ns <= at_write[0]
    stamped = t.ready_ns
    assert t.fire(100, 100, TS, "", at_write.append) is None  # no client id left: nothing written
    assert t.ready_ns == stamped and len(at_write) == 1


def test_a_budget_without_room_writes_nothing_takes_nothing_and_keeps_the_id() -> None:
    clock = Clock()
    b = budget(3, clock)
    take = b.taker({"ORDERS_10S": 1}, "cancel")  # the cancel lane: the whole limit, no reserve
    t = template()
    t.give_ids("s", 0, 10)
    written: list[bytes] = []
    sent = [t.fire(100, 100, TS, "", written.append, None, take) for _ in range(3)]
    assert [g[0] for g in sent if g] == ["sa", "sb", "sc"]
    w = b.windows["ORDERS_10S"]
    assert w.used(clock.now) == 3
    assert t.fire(100, 100, TS, "", written.append, None, take) is None
    assert len(written) == 3 and w.used(clock.now) == 3 and t.ids_left == 7
    clock.now += 10.0 + 10.0 / 20 + 0.2  # the window (plus its jitter and a slot) has passed
    got = t.fire(100, 100, TS, "", written.append, None, take)
    assert got is not None and got[0] == "sd" and w.used(clock.now) == 1


def test_numbers_off_the_rules_write_nothing_take_nothing_and_keep_the_id() -> None:
    clock = Clock()
    b = budget(5, clock)
    take = b.taker({"ORDERS_10S": 1}, "cancel")
    t = template()
    t.give_ids("s", 0, 10)
    written: list[bytes] = []
    for p, q in ((100, 0), (0, 100)):
        with pytest.raises(InvalidOrder):
            t.fire(p, q, TS, "", written.append, None, take)
    with pytest.raises(OverflowError):
        t.fire(-1, 100, TS, "", written.append, None, take)
    assert written == [] and b.windows["ORDERS_10S"].used(clock.now) == 0 and t.ids_left == 10


def test_a_write_that_raises_spends_the_id_but_nothing_else_is_lost() -> None:
    """The bytes may have reached the wire before the transport raised: that id is never given again."""
    t = template()
    t.give_ids("s", 0, 2)

    def broken(data: bytes) -> None:
        raise ConnectionError("gone")

    with pytest.raises(ConnectionError):
        t.fire(100, 100, TS, "", broken)
    got = t.fire(100, 100, TS, "", lambda d: None)
    assert got is not None and got[0] == "sb"


def test_the_taker_counts_under_the_budgets_lock() -> None:
    """Another thread in the middle of a check-then-take holds the lock: the taker waits for it
    (the slow way) instead of counting past it."""
    clock = Clock()
    b = budget(5, clock)
    take = b.taker({"ORDERS_10S": 1}, "cancel")
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with budget_module._lock:
            held.set()
            release.wait(5)

    th = threading.Thread(target=holder)
    th.start()
    held.wait(5)
    threading.Timer(0.2, release.set).start()
    t0 = time.monotonic()
    assert take() == 0.0
    assert time.monotonic() - t0 >= 0.15
    th.join()
    assert b.windows["ORDERS_10S"].used(clock.now) == 1
