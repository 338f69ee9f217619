"""Request-weight limits as venues enforce them: a fixed window, a warning status, then a ban."""

from __future__ import annotations

import math


class WeightLimiter:
    """Weight used per fixed window. Going over the limit answers ``warn`` (e.g. 429); a client that
    keeps sending after the warning in the same window is banned for ``ban_s`` (e.g. 418)."""

    def __init__(self, limit: int, window_s: float, ban_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self.ban_s = ban_s
        self.window = -1
        self.used = 0
        self.warned = False
        self.banned_until = 0.0

    def charge(self, now: float, weight: int) -> tuple[str, float]:
        """("ok" | "warn" | "ban", seconds until the client may retry)."""
        if now < self.banned_until:
            return "ban", self.banned_until - now
        w = math.floor(now / self.window_s)
        if w != self.window:
            self.window, self.used, self.warned = w, 0, False
        self.used += weight
        if self.used <= self.limit:
            return "ok", 0.0
        if self.warned:
            self.used -= weight  # refused outright: never executed, so it weighs nothing
            self.banned_until = now + self.ban_s
            return "ban", self.ban_s
        self.warned = True
        return "warn", (w + 1) * self.window_s - now
