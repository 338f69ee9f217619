"""A late first write counted from its write moves its entry in the window's record of recent takes
too (what a venue's usage report is topped up with: ``Window.taken_after``): a report answering a
request taken between the take and the late write counts the late request. Before (a review of stop
48's changes): ``resend_gate`` read its own ``then`` from a second ``clock()`` call, which on a real
clock never equals the take's time, so ``Window.restamp`` found no entry to move and the floor came
out one request short of what the venue counts (8 for 9) — with other processes on the address, one
request too many let through."""

from __future__ import annotations

import pytest
from tickwire.limits import Limit, RateBudget
from tickwire.limits.budget import resend_gate

COST = {"REQUESTS": 1}


class Clock:
    """Monotonic seconds that move on by ``tick`` at every reading (a microsecond: ``time.monotonic``)."""

    def __init__(self, tick: float) -> None:
        self.t, self.tick = 1000.0, tick

    def __call__(self) -> float:
        self.t += self.tick
        return self.t


@pytest.mark.parametrize("tick", [0.0, 1e-6], ids=["frozen clock", "real clock"])
def test_a_report_answering_a_request_taken_before_a_late_write_counts_the_late_request(tick: float) -> None:
    clock = Clock(tick)
    budget = RateBudget(
        "v-review-record", [Limit("REQUESTS", 10, 1.0)], ip=f"ip-review-{tick}",
        account=f"acct-review-{tick}", reserve=0, clock=clock,
    )  # fmt: skip
    w = budget.windows["REQUESTS"]
    # T: taken now, its connection slow to set up (its gate made right after the take, as callers do).
    assert budget.try_take(COST, "query") == 0
    gate = resend_gate(budget, COST)
    # R2: taken and written 0.3 s later, on a connection already open.
    clock.t += 0.3
    assert budget.try_take(COST, "query") == 0
    r2_at = clock.t  # the take's reading
    # T written only now (past LATE_S), after R2: the venue counts it after R2.
    clock.t += 0.2
    gate()
    # R2's answer: the venue counted 8 when R2 came (7 of other processes on the address, and R2). T
    # reached it after R2: not in that count, it must be added — 9.
    clock.t += 0.1
    age = (clock.t + tick) - r2_at - 1e-7  # ``since`` just after R2's take (R2 is in the report)
    budget.observe({"REQUESTS": 8}, age=age)
    assert w.used(clock.t) == 9, w.used(clock.t)
