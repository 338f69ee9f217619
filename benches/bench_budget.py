"""The rate budget's check-and-take as an order template runs it (``RateBudget.taker``: one Rust call
inside ``OrderTemplate.fire``) against ``RateBudget.try_take`` (Python over the same Rust windows), on
twin budgets fed the same clock, rounds alternating. Two regimes: takes 1 ms apart (nothing leaves
the windows between two) and 1 s apart (a slot leaves every time: an order after a quiet spell).

    python benches/bench_budget.py [--rounds 7] [--takes 2000]

Under pytest it runs briefly as a smoke test.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable

from tickwire.limits import Limit
from tickwire.limits.budget import RateBudget

COST = {"ORDERS": 1, "WEIGHT": 1}
_NAMES = itertools.count()


class _Clock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


def _budget(clock: _Clock) -> RateBudget:
    """Windows are process-wide: each budget names its own account and address. Limits far above
    what a run takes, so every take is counted (what is timed is the check and the count)."""
    n = next(_NAMES)
    limits = [Limit("ORDERS", 10**9, 10.0, "account"), Limit("WEIGHT", 10**9, 60.0, "ip")]
    return RateBudget("bench-budget", limits, ip=f"ip-bench-{n}", account=f"acct-bench-{n}", clock=clock)


def _per_take(take: Callable[[], float], clock: _Clock, step: float, takes: int) -> float:
    t0 = time.perf_counter_ns()
    for _ in range(takes):
        clock.t += step
        take()
    return (time.perf_counter_ns() - t0) / takes


def measure(rounds: int, takes: int) -> dict[str, tuple[float, float]]:
    """Per regime, the best ns per take of (the Rust taker, ``try_take``) over ``rounds`` alternating
    rounds."""
    out: dict[str, tuple[float, float]] = {}
    for name, step in (("1 ms apart", 0.001), ("1 s apart (a slot leaves)", 1.0)):
        ca, cb = _Clock(), _Clock()
        a, b = _budget(ca), _budget(cb)
        taker = a.taker(COST, "order")

        def slow(b: RateBudget = b) -> float:
            return b.try_take(COST, "order")

        best = [float("inf"), float("inf")]
        for r in range(rounds):
            pair = ((0, taker, ca), (1, slow, cb))
            for i, fn, clock in pair if r % 2 == 0 else pair[::-1]:
                best[i] = min(best[i], _per_take(fn, clock, step, takes))
        out[name] = (best[0], best[1])
    return out


def test_budget_smoke() -> None:
    got = measure(2, 50)
    assert all(x > 0 and y > 0 for x, y in got.values())
    ca, cb = _Clock(), _Clock()
    a, b = _budget(ca), _budget(cb)
    taker = a.taker(COST, "order")
    for _ in range(30):
        ca.t += 1.0
        cb.t += 1.0
        assert taker() == b.try_take(COST, "order") == 0.0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--takes", type=int, default=2000)
    args = ap.parse_args()
    print(f"{'takes':28s} {'taker (Rust)':>13s} {'try_take':>10s} {'ratio':>7s}")
    for name, (rust, py) in measure(args.rounds, args.takes).items():
        print(f"{name:28s} {rust:10.0f} ns {py:7.0f} ns {rust / py:7.2f}")
