"""Request limits as venues enforce them: a fixed window, a warning status, then (some venues) a ban."""

from __future__ import annotations

import math


class WeightLimiter:
    """Weight used per fixed window. Going over the limit answers ``warn`` (e.g. 429); with ``ban_s``,
    a client that keeps sending after the warning in the same window is banned for ``ban_s`` (e.g.
    Binance's 418). Without it every excess request gets the warning, and none of them counts.

    ``aligned``: windows on the clock (Binance's per-minute counters reset on the minute); otherwise a
    window opens with the first request after the previous one ended, so a burst is never split
    across two windows by chance."""

    def __init__(
        self, limit: int, window_s: float, ban_s: float | None = None, aligned: bool = False
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.ban_s = ban_s
        self.aligned = aligned
        self.start = -math.inf  # when the current window opened
        self.used = 0
        self.warned = False
        self.banned_until = 0.0
        self.refused = 0  # requests answered other than "ok" (what rate-limit tests count)

    def charge(self, now: float, weight: int = 1) -> tuple[str, float]:
        """("ok" | "warn" | "ban", seconds until the client may retry)."""
        verdict = self._charge(now, weight)
        if verdict[0] != "ok":
            self.refused += 1
        return verdict

    def _charge(self, now: float, weight: int) -> tuple[str, float]:
        if now < self.banned_until:
            return "ban", self.banned_until - now
        if now >= self.start + self.window_s:
            self.start = math.floor(now / self.window_s) * self.window_s if self.aligned else now
            self.used, self.warned = 0, False
        self.used += weight
        if self.used <= self.limit:
            return "ok", 0.0
        if self.ban_s is None or not self.warned:
            self.warned = True
            if self.ban_s is None:
                self.used -= weight  # refused: never executed, so it weighs nothing
            return "warn", self.reset_at() - now
        self.used -= weight
        self.banned_until = now + self.ban_s
        return "ban", self.ban_s

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def reset_at(self) -> float:
        """When the current window ends (same clock as ``charge``'s ``now``)."""
        return self.start + self.window_s
