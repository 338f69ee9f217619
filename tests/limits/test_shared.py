"""The state every budget of the process shares (python/tickwire/limits/shared.py): what it keeps per
window must go with the window, in a bot that starts sessions for days."""

from __future__ import annotations

import gc

from tickwire.limits import Limit, RateBudget
from tickwire.limits import budget as budget_module

DOCUMENTED = Limit("WEIGHT", 1_000, 60.0, "ip")
ANNOUNCED = Limit("WEIGHT", 6_000, 60.0, "ip")  # the venue's own word, looser than its documentation


class Clock:
    def __init__(self) -> None:
        self.t = 500.0

    def __call__(self) -> float:
        return self.t


def _reported() -> int:
    return len(budget_module._reported)


def test_report_times_of_windows_made_again_do_not_pile_up_across_session_starts() -> None:
    """Each session start declares the documented limit (stricter than the announced one: a window
    made again) and then the announced one (made again once more), and each reads the venue's usage
    reports. Before, every window so replaced kept its entry — and itself — in the report times for
    the process's life (100 after 50 starts); now only windows a budget can observe have one."""
    clock = Clock()
    gc.collect()
    before = _reported()
    sessions = []
    for i in range(50):
        b = RateBudget("v-shared", [DOCUMENTED], ip="ip-shared", account=f"acct-{i}", clock=clock)
        b.observe({"WEIGHT": 10 + i}, age=0.0)
        b.set_limits([ANNOUNCED], replace=True)
        b.observe({"WEIGHT": 20 + i}, age=0.0)
        clock.t += 1.0
        sessions.append(b)
        if len(sessions) > 2:  # sessions end too: two at most run together
            sessions.pop(0)
    gc.collect()
    kept = _reported() - before
    assert kept <= 2, f"{kept} report times kept after 50 session starts"


def test_the_report_time_carries_to_the_window_made_again() -> None:
    """A window made again inherits the old one's floor, so it keeps that floor's report time: an
    answer to an older request, counting less, cannot lower it on the new window either."""
    clock = Clock()
    b = RateBudget("v-carry", [ANNOUNCED], ip="ip-carry", account="acct-carry", clock=clock)
    b.observe({"WEIGHT": 500}, age=0.0)  # the request went out at 500.0
    clock.t = 501.0
    b.set_limits([DOCUMENTED])  # stricter: the window is made again, with the floor of 500
    clock.t = 502.0
    b.observe({"WEIGHT": 50}, age=2.5)  # went out at 499.5: as of before the report of 500
    floor = b.windows["WEIGHT"].state()[3]
    assert floor == 500, f"floor {floor}"
