"""Refusals that name no limit and no Retry-After, met by two sessions of one process on one key: the
block doubles while such refusals go on whichever session meets them — they share the windows it
blocks, so they share how long the last block was (before: each session kept its own, and refusals
met in turn by two sessions each blocked for the shortest window: the block never grew toward the
window that had run out, and the venue was asked again every shortest window)."""

from __future__ import annotations

from tickwire.limits import Limit, RateBudget
from tickwire.limits.budget import JITTER_S

ORDERS = Limit("ORDERS", 10, 1.0, "account")
DAILY = Limit("ORDERS_1D", 1000, 86_400.0, "account")


class Clock:
    def __init__(self) -> None:
        self.t = 900.0

    def __call__(self) -> float:
        return self.t


def test_unexplained_refusals_met_in_turn_by_two_sessions_on_a_key_double_the_block() -> None:
    clock = Clock()

    def session() -> RateBudget:
        return RateBudget(
            "v-unsure", [ORDERS, DAILY], ip="ip-unsure", account="acct-unsure", max_wait_s=0, clock=clock
        )

    a, b = session(), session()
    first = a.refused(None, None)
    assert first == 1.0 + JITTER_S
    clock.t += first  # the block passed; the other session is refused right after it
    assert b.refused(None, None) == 2 * first
    clock.t += 2 * first
    assert a.refused(None, None) == 4 * first
