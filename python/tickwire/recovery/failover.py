"""Endpoint ranking for failover: an ordered list, reordered by measured round-trip time and by
failures, so a reconnect goes to the best endpoint that is not known to be failing.

An endpoint's RTT is an exponentially weighted average of probe samples (TCP connect time, which
costs the venue nothing and no request weight); one whose RTT is more than ``slow_factor`` times
the best is demoted behind the others. A failed connect adds a penalty that decays after
``penalty_s`` seconds, so a venue host that was down is tried again later.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Collection, Sequence
from urllib.parse import urlsplit

from tickwire.streams import Endpoint


class EndpointPool:
    def __init__(
        self,
        endpoints: Sequence[Endpoint],
        *,
        alpha: float = 0.3,
        slow_factor: float = 3.0,
        slow_margin_s: float = 0.002,
        penalty_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not endpoints:
            raise ValueError("at least one endpoint is needed")
        self.endpoints = list(endpoints)
        self.alpha = alpha
        self.slow_factor = slow_factor
        self.slow_margin_s = slow_margin_s
        self.penalty_s = penalty_s
        self._clock = clock
        self.rtt: list[float | None] = [None] * len(endpoints)
        self.failures: list[int] = [0] * len(endpoints)
        self._failed_at: list[float] = [-math.inf] * len(endpoints)

    def observe_rtt(self, i: int, seconds: float) -> None:
        old = self.rtt[i]
        self.rtt[i] = seconds if old is None else old + self.alpha * (seconds - old)

    def success(self, i: int) -> None:
        self.failures[i] = 0

    def failure(self, i: int, soft: bool = False) -> None:
        """A failed connect (or, ``soft``, a connection that dropped) counts against the endpoint."""
        self.failures[i] += 1
        if not soft or self.failures[i] > 1:
            self._failed_at[i] = self._clock()

    def slow(self, i: int) -> bool:
        known = [r for r in self.rtt if r is not None]
        r = self.rtt[i]
        if r is None or not known:
            return False
        best = min(known)
        return r > best * self.slow_factor and r - best > self.slow_margin_s

    def penalised(self, i: int) -> bool:
        return self._clock() - self._failed_at[i] < self.penalty_s

    def ranking(self) -> list[int]:
        """Best first: not failing, not slow, then listed order (the user's preference) — RTT orders
        only within the not-slow group when it differs a lot, so listed order is kept on ties."""

        def key(i: int) -> tuple[bool, int, bool, float, int]:
            penalised, slow = self.penalised(i), self.slow(i)
            return (
                penalised,
                self.failures[i] if penalised else 0,
                slow,
                (self.rtt[i] or 0.0) if slow else 0.0,
                i,
            )

        return sorted(range(len(self.endpoints)), key=key)

    def pick(self, in_use: Collection[int] = ()) -> int:
        """The best endpoint not already used by another line (redundant lines spread out), or the
        best overall when every endpoint is in use."""
        order = self.ranking()
        for i in order:
            if i not in in_use:
                return i
        return order[0]

    async def probe(self, i: int, timeout: float = 2.0) -> float | None:
        """TCP connect time to the endpoint's WebSocket host; None (and a failure) if unreachable."""
        url = next(iter(self.endpoints[i].ws.values()))
        u = urlsplit(url)
        port = u.port or (443 if u.scheme in ("wss", "https") else 80)
        t = time.perf_counter()
        try:
            _, w = await asyncio.wait_for(asyncio.open_connection(u.hostname, port), timeout)
        except (OSError, TimeoutError):
            self.failure(i)
            return None
        rtt = time.perf_counter() - t
        w.close()
        self.observe_rtt(i, rtt)
        return rtt

    async def probe_all(self, timeout: float = 2.0) -> list[float | None]:
        return list(await asyncio.gather(*(self.probe(i, timeout) for i in range(len(self.endpoints)))))
