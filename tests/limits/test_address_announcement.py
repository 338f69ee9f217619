"""Sessions of one process on one address made before a session there was announced the venue's
per-address limits (``exchangeInfo``): from the announcement they count on the announced windows too,
so the venue's refusal met by one blocks the others (a 429 a market-data snapshot met on the
documented window left a trading session on the announced one sending — and Binance bans an address
that goes on after a 429)."""

from __future__ import annotations

from tickwire.limits import RateBudget
from tickwire.limits.budget import address_budget
from tickwire.venues.binance import limits as binance_limits

DOCUMENTED = binance_limits.LIMITS  # WEIGHT_1M 6000 per address; the order counts per account
# What ``exchangeInfo`` announces at the simulator's profile of 120 weight per 3 s.
ANNOUNCED = binance_limits.read_limits(
    {
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "SECOND", "intervalNum": 3, "limit": 120},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
        ]
    }
)


class Clock:
    def __init__(self) -> None:
        self.t = 700.0

    def __call__(self) -> float:
        return self.t


def test_a_budget_of_the_address_made_before_the_announcement_counts_on_the_announced_windows() -> None:
    """A market-data session's budget made on the documented weight (its snapshots taken before a
    trading session there read ``exchangeInfo``), the snapshot's answer a 429 read after it: the
    trading session must be blocked for the Retry-After (before: the block fell on the documented
    window, which the trading session no longer counted on — it went on sending, and was banned)."""
    clock = Clock()
    ip = "announce-ip:1"
    md = address_budget("v-announce", ip, DOCUMENTED)  # the market-data session's, made first
    md.clock = clock
    tr = RateBudget("v-announce", DOCUMENTED, ip=ip, account=f"k@{ip}", max_wait_s=0, clock=clock)
    assert md.limits.keys() == {"WEIGHT_1M"}
    tr.set_limits(ANNOUNCED, replace=True)  # the trading session's exchangeInfo
    # The snapshot's 429 (-1003, Retry-After 2 s) blocks the address for the trading session too.
    md.refused(md.limit_for_code("-1003") or None, 2.0, {"WEIGHT": 50})
    assert tr.check({"WEIGHT": 1}, "query") >= 2.0 - 1e-9
    # And what each takes counts against the one announced window.
    clock.t += 10
    for _ in range(50):
        assert md.try_take({"WEIGHT": 2}, "query") == 0.0
    assert tr.try_take({"WEIGHT": 10}, "query") > 0  # 100 of 120, the reserve 12: no room left
    assert md.windows["WEIGHT_3S"] is tr.windows["WEIGHT_3S"]


def test_a_key_rotation_on_documented_limits_does_not_undo_the_addresss_announcement() -> None:
    """A session still on the documented weight (its ``exchangeInfo`` not read) rotates its key: the
    rotation re-declares its own limits, which announces nothing. Before, it was taken for an
    announcement — every other budget of the address (the session that read ``exchangeInfo``, a
    market-data session's) went back to the documented 6000 per minute while the venue counts 120
    per 3 s."""
    ip = "announce-ip:2"
    tr = RateBudget("v-rotate", DOCUMENTED, ip=ip, account=f"k@{ip}", max_wait_s=0)
    tr.set_limits(ANNOUNCED, replace=True)  # its exchangeInfo
    md = address_budget("v-rotate", ip, DOCUMENTED)
    other = RateBudget("v-rotate", DOCUMENTED, ip=ip, account=f"k2@{ip}", max_wait_s=0)
    other.rescope(f"k3@{ip}")  # a rotation before it read exchangeInfo
    assert "WEIGHT_3S" in tr.limits and "WEIGHT_1M" not in tr.limits, sorted(tr.limits)
    assert "WEIGHT_3S" in md.limits and "WEIGHT_1M" not in md.limits, sorted(md.limits)
    assert address_budget("v-rotate", ip, DOCUMENTED, md) is md and "WEIGHT_3S" in md.limits
