"""The terms of ``settle_bound.settle_bound_s`` on a stand-in reconciler: from each lost order's own stamp
its venue's window (with the venue clock's correction) or the session's ``lost_order_wait_s``, then the
queries; ``request_bound_s`` for an order still in flight; the ``IN_FLIGHT_WAIT`` floor and the
``SETTLE_CAP_S`` cap. The waits themselves, against the simulator: ``test_settle_bound.py``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import pytest
from tickwire.trading.settle_bound import (
    IN_FLIGHT_WAIT,
    SETTLE_CAP_S,
    query_budget_s,
    request_bound_s,
    settle_bound_s,
)

TIMEOUT = 0.5
Q = query_budget_s(TIMEOUT)


class _Session:
    """The settings: a venue window of ``window_s`` (None: it bounds nothing) and the session's wait."""

    timeout = TIMEOUT

    def __init__(self, window_s: float | None, wait_s: float = 3.0) -> None:
        self.window_s, self.lost_order_wait_s = window_s, wait_s

    def request_window_s(self) -> float | None:
        return self.window_s


class _Verdicts:
    """Orders settling, those lost (monotonic stamp, offset), and a venue clock fallen ``fell_back_s``
    behind what a lost request was stamped on."""

    def __init__(
        self, session: _Session, settling: set[str], lost: dict[str, float], fell_back_s: float = 0.0
    ):
        self.session, self._settling, self.fell_back_s = session, settling, fell_back_s
        self._lost = {cid: (at, 0.0) for cid, at in lost.items()}
        self.unwaited: set[str] = set()

    def settling(self) -> set[str]:
        return set(self._settling)

    def losses(self) -> Mapping[str, tuple[float, float]]:
        return self._lost

    async def lost_order_window_s(self, offset_ms: float, since: float) -> tuple[float, bool]:
        w = self.session.window_s
        return (self.session.lost_order_wait_s, False) if w is None else (w + self.fell_back_s, True)


def _bound(session: _Session, verdicts: _Verdicts, ids: set[str] | None = None) -> float:
    return asyncio.run(settle_bound_s(session, verdicts, ids))


def test_a_lost_order_waits_what_is_left_of_its_own_wait_then_the_queries() -> None:
    s = _Session(None, wait_s=3.0)
    got = _bound(s, _Verdicts(s, {"a"}, {"a": time.monotonic() - 1.0}))
    assert got == pytest.approx(2.0 + Q, abs=0.05)


def test_the_venues_window_counts_the_venue_clocks_fall_back() -> None:
    s = _Session(1.25)
    got = _bound(s, _Verdicts(s, {"a"}, {"a": time.monotonic()}, fell_back_s=4.0))
    assert got == pytest.approx(5.25 + Q, abs=0.05)


def test_an_order_still_in_flight_waits_its_time_out_then_the_wait_and_the_queries() -> None:
    s = _Session(None, wait_s=3.0)
    assert _bound(s, _Verdicts(s, {"a"}, {})) == pytest.approx(request_bound_s(s)) == TIMEOUT + 3.0 + Q


def test_an_unwaited_order_waits_no_guess_where_the_venue_bounds_nothing() -> None:
    s = _Session(None, wait_s=30.0)
    v = _Verdicts(s, {"a"}, {"a": time.monotonic()})
    v.unwaited.add("a")
    assert _bound(s, v) == pytest.approx(Q, abs=0.05)


def test_the_floor_is_two_time_outs_and_the_cap_holds_a_window_set_to_a_day() -> None:
    s = _Session(None, wait_s=0.0)
    gone = _Verdicts(s, {"a"}, {"a": time.monotonic() - 60.0})
    assert _bound(s, gone) == max(IN_FLIGHT_WAIT * TIMEOUT, Q)
    assert _bound(s, _Verdicts(s, set(), {})) == IN_FLIGHT_WAIT * TIMEOUT  # nothing settling
    day = _Session(86_400.0)
    assert _bound(day, _Verdicts(day, {"a"}, {"a": time.monotonic()})) == SETTLE_CAP_S


def test_only_the_orders_asked_about_count() -> None:
    s = _Session(None, wait_s=3.0)
    v = _Verdicts(s, {"a", "b"}, {"a": time.monotonic() - 2.5})  # "b" in flight: the longer
    assert _bound(s, v, {"a"}) == pytest.approx(0.5 + Q, abs=0.05)
    assert _bound(s, v) == pytest.approx(TIMEOUT + 3.0 + Q)


def test_orders_sharing_one_loss_stamp_are_bounded_one_round_of_queries_each() -> None:
    """The terms alone: three orders of one batch whose answer was lost now, the venue bounding
    nothing (a 3 s wait): resolved one after another, the last one's verdict is 3 s and three rounds
    of queries away."""
    session = _Session(None, 3.0)
    now = time.monotonic()
    ids = {"a", "b", "c"}
    verdicts = _Verdicts(session, ids, dict.fromkeys(ids, now))
    assert _bound(session, verdicts) >= 3.0 + 3 * Q - 0.1, (_bound(session, verdicts), 3.0 + 3 * Q)
