"""The sliding window in longhand Python (what ``tickwire.limits.Window`` was before it moved to Rust):
the reference ``test_window_reference.py`` holds the Rust window to, operation by operation."""

from __future__ import annotations

import math
from collections import deque

SLOTS = 20
_RING = SLOTS + 1
RECENT = 64  # takes remembered exactly


class ReferenceWindow:
    """Weight used in the last ``window_s`` seconds, and how long until more fits."""

    __slots__ = (
        "blocked_until", "floor", "floor_until", "limit", "recent", "slot_s", "slots", "start", "total",
        "window_s",
    )  # fmt: skip

    def __init__(self, limit: int, window_s: float) -> None:
        if limit <= 0 or window_s <= 0:
            raise ValueError("a limit needs a positive weight and window")
        self.limit = limit
        self.window_s = window_s
        self.slot_s = window_s / SLOTS
        # SLOTS + 1 slots: a slot leaves the count a whole window after its *last* instant.
        self.slots = [0] * _RING
        self.total = 0  # sum(self.slots), kept as it changes: a check costs O(1) unless time moved on
        self.start = 0  # the number of the oldest slot still counted
        self.blocked_until = 0.0  # nothing at all before this (a 429/418 and its Retry-After)
        self.floor = 0  # what the venue last reported used (other processes on the IP included) ...
        self.floor_until = 0.0  # ... counted until a whole window after the report
        self.recent: deque[tuple[float, int]] = deque(maxlen=RECENT)  # the latest takes, (now, weight)

    def _advance(self, now: float) -> None:
        oldest = math.floor(now / self.slot_s) - SLOTS
        if oldest > self.start:
            slots = self.slots
            for n in range(self.start, min(oldest, self.start + _RING)):
                self.total -= slots[n % _RING]
                slots[n % _RING] = 0
            self.start = oldest
        if self.floor and now >= self.floor_until:
            self.floor = 0

    def used(self, now: float) -> int:
        self._advance(now)
        return max(self.total, self.floor)

    def wait(self, weight: int, cap: int, now: float) -> float:
        """Seconds until ``weight`` fits under ``cap`` (≤ ``limit``); 0.0 when it fits now, ``inf``
        when it never can (heavier than the cap)."""
        if now < self.blocked_until:
            return self.blocked_until - now
        if weight > cap:
            return math.inf
        self._advance(now)
        total = self.total
        if max(total, self.floor) + weight <= cap:
            return 0.0
        if self.floor + weight > cap:
            return self.floor_until - now
        # The oldest slots leave one by one: the first moment enough has left.
        for k in range(_RING):
            total -= self.slots[(self.start + k) % _RING]
            if total + weight <= cap:
                return (self.start + k + _RING) * self.slot_s - now
        return self.window_s  # unreachable: an empty window fits any weight ≤ cap

    def take(self, weight: int, now: float) -> None:
        self._advance(now)
        self.slots[math.floor(now / self.slot_s) % _RING] += weight
        self.total += weight
        self.recent.append((now, weight))
        if self.floor:
            self.floor += weight

    def counted(self, then: float, now: float) -> bool:
        self._advance(now)
        return math.floor(then / self.slot_s) >= self.start

    def restamp(self, weight: int, then: float, now: float) -> None:
        """A take of ``weight`` at ``then`` counted from ``now`` instead (written only now)."""
        self._advance(now)
        old = math.floor(then / self.slot_s)
        if self.start <= old <= self.start + SLOTS:
            moved = max(0, min(weight, self.slots[old % _RING]))
            self.slots[old % _RING] -= moved
            self.total = max(0, self.total - moved)
        self.slots[math.floor(now / self.slot_s) % _RING] += weight
        self.total += weight
        for i in range(len(self.recent) - 1, -1, -1):
            if self.recent[i] == (then, weight):
                self.recent[i] = (now, weight)
                break

    def observe(self, used: int, now: float, until: float | None = None, since: float | None = None) -> None:
        """The venue says ``used`` weight is counted in its current window (ours and anyone else's on
        the same IP or key): count at least that until ``until`` (default: a whole window), plus what
        was taken after ``since`` (the report's own request), which the report cannot hold yet."""
        self._advance(now)
        after = 0 if since is None else self.taken_after(since)
        self.floor, self.floor_until = used + after, now + self.window_s if until is None else until

    def taken_after(self, t: float) -> int:
        if len(self.recent) == RECENT and self.recent[0][0] > t:  # the exact record ends after t
            first = max(math.floor(t / self.slot_s), self.start)
            return sum(self.slots[k % _RING] for k in range(first, self.start + SLOTS + 1))
        return sum(w for at, w in self.recent if at > t)

    def block(self, seconds: float, now: float) -> None:
        """The venue refused for ``seconds`` (429/418 with Retry-After): nothing before then."""
        self.blocked_until = max(self.blocked_until, now + seconds)
