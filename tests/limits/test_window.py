"""The client-side window against a reference: whatever the requests' timing and weights, no interval
of the window's length holds more than the cap of what was admitted — the promise every venue counter
(fixed, aligned or rolling) relies on — and the wait it names is enough, and not needlessly long."""

from __future__ import annotations

import copy
import math

from hypothesis import given, settings
from hypothesis import strategies as st
from tickwire.limits import SLOTS, Window

W = 2.0


def _max_in_any_window(taken: list[tuple[float, int]]) -> int:
    """The reference: the heaviest half-open interval (t - W, t] over every admitted time t."""
    return max((sum(w for s, w in taken if t - W < s <= t) for t, _ in taken), default=0)


@settings(max_examples=300, deadline=None)
@given(
    cap=st.integers(1, 40),
    steps=st.lists(st.tuples(st.floats(0, 0.7), st.integers(1, 5)), min_size=1, max_size=200),
)
def test_no_interval_of_the_window_holds_more_than_the_cap(cap: int, steps: list[tuple[float, int]]) -> None:
    win = Window(cap, W)
    now, taken = 1000.0, []
    for dt, weight in steps:
        now += dt
        wait = win.wait(weight, cap, now)
        if wait == 0.0:
            win.take(weight, now)
            taken.append((now, weight))
        elif weight <= cap:
            # The named wait is enough: after it, the weight fits (asked of a copy: time only runs forward).
            assert copy.deepcopy(win).wait(weight, cap, now + wait) == 0.0
            # ... and not longer than one window plus one slot of rounding.
            assert wait <= W + W / SLOTS + 1e-9
    assert _max_in_any_window(taken) <= cap
    total, *_, slots = win.state()
    assert total == sum(slots)  # the running total a check reads


def test_a_weight_above_the_cap_never_fits_and_a_block_stops_everything() -> None:
    win = Window(10, W)
    assert win.wait(11, 10, 0.0) == math.inf
    win.block(1.5, 5.0)
    assert win.wait(1, 10, 5.0) == 1.5 and win.wait(1, 10, 6.6) == 0.0


def test_usage_the_venue_reports_is_counted_for_a_whole_window() -> None:
    win = Window(10, W)
    win.take(1, 100.0)
    win.observe(9, 100.0)  # other processes on the same address used 8 more
    assert win.used(100.1) == 9 and win.wait(2, 10, 100.1) > 0
    win.take(1, 100.2)
    assert win.used(100.2) == 10
    assert win.used(100.0 + W + 0.01) == 2  # the report has expired; our own weight counts a slot longer
    assert win.used(100.2 + W + W / SLOTS + 0.01) == 0
