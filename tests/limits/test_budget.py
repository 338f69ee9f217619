"""The budget: lanes with a reserve only cancels may use, windows shared by every session on the same
address or key, a refusal that blocks every lane, and waiting versus failing at once."""

from __future__ import annotations

import asyncio
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tickwire.errors import RateLimitError
from tickwire.limits import Limit, RateBudget
from tickwire.limits.budget import JITTER_S

ORDERS = Limit("ORDERS", 10, 1.0, "account", frozenset({"-1015"}))
WEIGHT = Limit("WEIGHT", 100, 60.0, "ip", frozenset({"-1003"}))


class Clock:
    def __init__(self) -> None:
        self.t = 500.0

    def __call__(self) -> float:
        return self.t


def budget(clock: Clock, account: str) -> RateBudget:
    """Windows are process-wide: each test names its own account, and its address after it."""
    ip = f"ip-of-{account.split('-')[1]}"
    return RateBudget("v-budget", [ORDERS, WEIGHT], ip=ip, account=account, max_wait_s=0, clock=clock)


def test_new_orders_leave_the_reserve_to_cancels() -> None:
    clock = Clock()
    b = budget(clock, "acct-reserve")
    for _ in range(9):  # 10 minus a reserve of 1
        assert b.try_take({"ORDERS": 1}, "order") == 0.0
    assert b.try_take({"ORDERS": 1}, "order") > 0
    assert b.try_take({"ORDERS": 1}, "cancel") == 0.0
    assert b.try_take({"ORDERS": 1}, "cancel") > 0  # the limit itself holds for everyone


def test_sessions_on_one_key_or_one_address_share_their_windows() -> None:
    clock = Clock()
    a, b = budget(clock, "acct-shared"), budget(clock, "acct-shared")
    other_key = budget(clock, "acct-shared-other")
    for _ in range(5):
        a.try_take({"ORDERS": 1, "WEIGHT": 10}, "order")
        b.try_take({"ORDERS": 1, "WEIGHT": 10}, "order")
    assert a.try_take({"ORDERS": 1}, "order") > 0 and b.try_take({"ORDERS": 1}, "order") > 0
    assert other_key.try_take({"ORDERS": 1}, "order") == 0.0  # its own order count...
    assert other_key.try_take({"WEIGHT": 1}, "order") > 0  # ... but the address's weight is spent


def test_a_refusal_blocks_every_lane_for_the_retry_after() -> None:
    clock = Clock()
    b = budget(clock, "acct-refused")
    assert b.limit_for_code(-1015) == ["ORDERS"]
    assert b.refused(b.limit_for_code(-1015), 2.5) == 2.5
    assert b.try_take({"ORDERS": 1}, "cancel") == pytest.approx(2.5)
    assert b.try_take({"WEIGHT": 1}, "order") == 0.0  # another limit is not blocked
    clock.t += 2.5
    assert b.try_take({"ORDERS": 1}, "order") == 0.0
    # Unknown code, no Retry-After: every limit, for the shortest window first, doubling while such
    # refusals go on, up to the longest — not the longest at once for one unexplained 429.
    first = b.refused(None, None)
    assert first == 1.0 + JITTER_S and b.try_take({"WEIGHT": 1}, "cancel") > 0
    blocks = [first]
    for _ in range(8):
        clock.t += blocks[-1]
        blocks.append(b.refused(None, None))
    assert blocks == [min(60.0 + JITTER_S, first * 2**i) for i in range(9)]
    clock.t += 1000  # quiet since: the next one starts over
    assert b.refused(None, None) == first


def test_acquire_waits_or_fails_at_once_with_the_retry_after() -> None:
    b = RateBudget("v-acquire", [Limit("L", 2, 0.2, "account")], ip="x", account="acct-acq", reserve=0)

    async def go() -> None:
        await b.acquire({"L": 1})
        await b.acquire({"L": 1})
        with pytest.raises(RateLimitError) as e:
            await b.acquire({"L": 1}, max_wait_s=0)
        assert 0 < e.value.retry_after <= 0.2 + JITTER_S + 0.02  # type: ignore[attr-defined]
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await b.acquire({"L": 1})  # waits for room
        assert loop.time() - t0 >= e.value.retry_after - 0.02  # type: ignore[attr-defined]

    asyncio.run(go())


def test_what_the_venue_announces_replaces_the_documented_default_even_when_looser() -> None:
    clock = Clock()
    b = budget(clock, "acct-announced")
    for _ in range(9):
        b.try_take({"ORDERS": 1}, "order")
    assert b.try_take({"ORDERS": 1}, "order") > 0  # the default: 10 a second
    b.set_limits([Limit("ORDERS", 1000, 1.0, "account")], replace=True)
    assert b.try_take({"ORDERS": 1}, "order") == 0.0  # the announcement: 1000, the 9 still counted
    assert b.windows["ORDERS"].used(clock.t) == 10
    assert "WEIGHT" not in b.limits  # only what was announced is counted


PER_INST = Limit("PLACE", 4, 2.0, "account", frozenset({"50011"}), keyed=True)


def test_a_keyed_limit_counts_each_key_on_its_own_window() -> None:
    """OKX counts place per instrument: BTC-USDT at its limit leaves ETH-USDT's room whole."""
    clock = Clock()
    b = RateBudget("v-keyed", [PER_INST], ip="ip-keyed", account="acct-keyed", max_wait_s=0, clock=clock)
    for _ in range(3):  # 4 minus a reserve of 1
        assert b.try_take({"PLACE:BTC-USDT": 1}, "order") == 0.0
    assert b.try_take({"PLACE:BTC-USDT": 1}, "order") > 0
    assert b.try_take({"PLACE:ETH-USDT": 1}, "order") == 0.0
    assert b.try_take({"PLACE:BTC-USDT": 1}, "cancel") == 0.0  # the reserve, per key too
    # Another session of the key shares each instrument's window.
    other = RateBudget("v-keyed", [PER_INST], ip="ip-keyed", account="acct-keyed", max_wait_s=0, clock=clock)
    assert other.try_take({"PLACE:BTC-USDT": 1}, "cancel") > 0
    clock.t += 2.0 + JITTER_S + 0.2
    assert b.try_take({"PLACE:BTC-USDT": 1}, "order") == 0.0


def test_a_refusal_with_the_calls_cost_blocks_only_what_that_call_charged() -> None:
    clock = Clock()
    b = RateBudget("v-keyed", [PER_INST, ORDERS], ip="ip-kr", account="acct-keyed-refused", clock=clock)
    b.try_take({"PLACE:ETH-USDT": 1}, "order")  # a key seen before the refusal
    named = b.limit_for_code("50011")
    assert named == ["PLACE"]
    assert b.refused(named, None, {"PLACE:BTC-USDT": 1}) == pytest.approx(2.0 + JITTER_S)  # its window
    assert b.try_take({"PLACE:BTC-USDT": 1}, "cancel") == pytest.approx(2.0 + JITTER_S)
    assert b.try_take({"PLACE:ETH-USDT": 1}, "order") == 0.0  # another instrument is not blocked
    assert b.try_take({"ORDERS": 1}, "order") == 0.0  # nor another limit
    # Without the cost, every key of the named limit seen so far is blocked.
    b.refused(named, 1.0)
    assert b.try_take({"PLACE:ETH-USDT": 1}, "order") > 0


def test_a_limits_own_reserve_keeps_room_for_a_heavy_cancel() -> None:
    """Kraken's cancel of a young order weighs 8: 10% of 60 would not leave room for one."""
    clock = Clock()
    pair = Limit("PAIR", 60, 60.0, "account", keyed=True, reserve=16)
    b = RateBudget("v-reserve", [pair], ip="ip-rsv", account="acct-heavy", max_wait_s=0, clock=clock)
    assert b.try_take({"PAIR:X": 44}, "order") == 0.0
    assert b.try_take({"PAIR:X": 1}, "order") > 0
    assert b.try_take({"PAIR:X": 8}, "cancel") == 0.0 and b.try_take({"PAIR:X": 8}, "cancel") == 0.0
    assert b.try_take({"PAIR:X": 1}, "cancel") > 0  # 60: the limit itself


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0.0, 0.4),  # time passing before the step
            st.sampled_from(["take", "observe", "block"]),
            st.integers(0, 120),  # what the venue reports used (observe)
        ),
        max_size=120,
    )
)
def test_a_pre_keyed_taker_decides_and_counts_as_try_take_does(steps: list[tuple[float, str, int]]) -> None:
    """``taker(cost, lane)()`` (an order template's inlined check) against ``try_take`` on twin
    budgets fed the same time, reports and refusals: the same answer every time, the same windows."""
    n = next(_TWINS)
    c1, c2 = Clock(), Clock()
    a, b = budget(c1, f"acct-twinA{n}"), budget(c2, f"acct-twinB{n}")
    cost = {"ORDERS": 1, "WEIGHT": 7}
    take = a.taker(cost, "order")
    for dt, what, used in steps:
        c1.t += dt
        c2.t += dt
        if what == "take":
            assert take() == b.try_take(cost, "order")  # the same wait, to the bit
        elif what == "observe":
            a.observe({"WEIGHT": used})
            b.observe({"WEIGHT": used})
        else:
            a.refused("ORDERS", 0.3, cost)
            b.refused("ORDERS", 0.3, cost)
    for name in ("ORDERS", "WEIGHT"):
        wa, wb = a.windows[name], b.windows[name]
        assert (wa.used(c1.t), wa.state()[2]) == (wb.used(c2.t), wb.state()[2])  # [2]: blocked until


_TWINS = iter(range(1_000_000))


def test_a_rotation_carries_the_count_once_also_when_undone_or_shared() -> None:
    """10 orders a second, one kept for cancels. 5 taken on key A; moving to key B carries them (4 more
    fit, not 9); moving back to A (a rotation the venue refused) still counts 5, not 10; a second
    session moving from A to B too does not add them again."""
    clock = Clock()
    b = budget(clock, "acct-rot-a")
    for _ in range(5):
        assert b.try_take({"ORDERS": 1}, "order") == 0.0
    b.rescope("acct-rot-b")
    assert b.windows["ORDERS"].used(clock.t) == 5
    b.rescope("acct-rot-a")  # undone
    assert b.windows["ORDERS"].used(clock.t) == 5
    other = budget(clock, "acct-rot-a")  # a second session on key A (the same process-wide windows)
    b.rescope("acct-rot-b")
    other.rescope("acct-rot-b")
    assert b.windows["ORDERS"] is other.windows["ORDERS"] and b.windows["ORDERS"].used(clock.t) == 5
    for _ in range(4):
        assert b.try_take({"ORDERS": 1}, "order") == 0.0
    assert b.try_take({"ORDERS": 1}, "order") > 0  # 9 counted on the account


@pytest.mark.parametrize("minute", [29_600_000, 29_600_017, 29_612_345])
@pytest.mark.parametrize("into", [0.5, 5.0, 31.0, 59.0])
def test_a_reported_count_of_an_aligned_window_holds_until_the_venues_minute_ends(
    minute: int, into: float
) -> None:
    """Binance counts weight per clock minute: what it reports used is held until that minute's end
    (plus the clock margin), whatever the minute — before, the boundary was taken on a grid of the
    window counted here (the venue's plus ``JITTER_S``), which drifts 0.1 s a minute off the venue's,
    so a full count was dropped up to a minute early and the next request met a 429."""
    from tickwire.limits.budget import ALIGN_MARGIN_S

    clock = Clock()
    wall = minute * 60.0 + into
    limit = Limit("W", 100, 60.0, "ip", frozenset({"-1003"}), aligned=True)
    b = RateBudget(
        "v-aligned", [limit], ip=f"ip-al-{minute}-{into}", account="acct-al", clock=clock, wall=lambda: wall
    )
    b.observe({"W": 100})
    assert b.try_take({"W": 1}, "query") == pytest.approx(60.0 - into + ALIGN_MARGIN_S)


@pytest.mark.parametrize("how", ["stricter", "announced"])
def test_sessions_on_one_key_keep_one_window_when_its_limit_is_declared_anew(how: str) -> None:
    """Two sessions on one key share its window. When the second declares the limit anew — stricter
    numbers, or numbers the venue announced (``set_limits(replace=True)``) — the shared window is made
    again; the first session must count on the new one too (before, it kept the old window: the two
    counted apart, and together took more than the limit)."""
    clock = Clock()
    acct = f"acct-anew-{how}"
    first = RateBudget("v-anew", [Limit("L", 100, 1.0, "account")], ip="ip-anew", account=acct,
                       reserve=0, max_wait_s=0, clock=clock)  # fmt: skip
    second = RateBudget("v-anew", [Limit("L", 100, 1.0, "account")], ip="ip-anew", account=acct,
                        reserve=0, max_wait_s=0, clock=clock)  # fmt: skip
    assert first.try_take({"L": 1}, "cancel") == 0  # a plan made with the old window
    second.set_limits([Limit("L", 50, 1.0, "account")], replace=how == "announced")
    taken = 1
    while first.try_take({"L": 1}, "cancel") == 0 or second.try_take({"L": 1}, "cancel") == 0:
        taken += 1
    assert taken == 50


def test_a_clock_in_nanoseconds_is_a_value_error_and_the_taker_lets_go_of_the_lock() -> None:
    """``time.time_ns()`` where seconds belong: refused before any window changes (a count at such a
    time would wrap in the window's slot numbers), and the budget's lock is free again after."""
    clock = Clock()
    a = budget(clock, "acct-nanos")
    take = a.taker({"ORDERS": 1}, "order")
    assert take() == 0.0
    before = {n: w.state() for n, w in a.windows.items()}
    clock.t = 1.7e18
    with pytest.raises(ValueError, match="not seconds on a clock"):
        take()
    with pytest.raises(ValueError):
        a.windows["ORDERS"].take(1, clock.t)
    assert {n: w.state() for n, w in a.windows.items()} == before
    clock.t = 500.5
    # Another thread can take the lock: the refused call gave it back (held, the thread would wait).
    out: list[float] = []
    t = threading.Thread(target=lambda: out.append(a.try_take({"ORDERS": 1}, "order")), daemon=True)
    t.start()
    t.join(5.0)
    assert out == [0.0]
    assert a.windows["ORDERS"].used(clock.t) == 2


def test_a_reported_count_past_an_i64_is_held_to_one_and_blocks() -> None:
    clock = Clock()
    a = budget(clock, "acct-huge")
    a.observe({"WEIGHT": 10**30})
    assert a.try_take({"WEIGHT": 1}, "order") > 0.0


def test_a_negative_weight_is_refused_before_any_plan_or_count() -> None:
    """A cost with a negative weight would give room back that the venue still counts; refused at
    once, on every path, the windows unchanged (before: ``try_take`` took it, and a full window
    had room again; the taker's fast path would have taken it from then on without asking)."""
    clock = Clock()
    b = budget(clock, "acct-negative")
    for _ in range(9):
        assert b.try_take({"ORDERS": 1}, "order") == 0.0
    full = b.windows["ORDERS"].state()
    bad = {"ORDERS": -5}
    for attempt in (lambda: b.try_take(bad, "order"), lambda: b.check(bad, "order"), b.taker(bad, "order")):
        with pytest.raises(ValueError):
            attempt()
        assert b.windows["ORDERS"].state() == full
    assert b.try_take({"ORDERS": 1}, "order") > 0  # still full


def test_refusals_of_requests_in_flight_together_do_not_escalate_the_block() -> None:
    """Refusals that name no one window arriving together (the requests in flight when the venue's
    window ran out, each answered 429 at once) are one refusal, not many in a row: the block does not
    double once per request already sent (20 in flight: 2**19 s, capped at the longest window — the
    day the backoff exists to avoid; found by the second last read)."""
    clock = Clock()
    b = RateBudget("v-inflight", [ORDERS, WEIGHT], ip="ip-of-inflight", account="acct-inflight",
                   max_wait_s=0, clock=clock)  # fmt: skip
    first = b.refused(None, None)
    assert first == 1.0 + JITTER_S
    # 19 more answers of requests sent before the first refusal, read within the same millisecond.
    for _ in range(19):
        clock.t += 0.00005
        b.refused(None, None)
    # The block still ends about when the first refusal said (the shortest window), not a minute later.
    wait = b.try_take({"ORDERS": 1}, "cancel")
    assert 0 < wait <= first + 0.01, wait
    # Refused again once that block passed: doubled, as before.
    clock.t += wait
    assert b.refused(None, None) == 2 * first
