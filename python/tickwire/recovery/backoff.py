"""Reconnect delays and connection-rate limits.

Full jitter (delay drawn uniformly from ``[0, min(cap, base * factor**n)]``) spreads the reconnects
of many clients cut at once by the same venue incident, so they do not come back in lock-step and
trip the venue's connection-rate limit together (AWS Architecture Blog, "Exponential Backoff And
Jitter"). The limiter enforces the venue's own ceiling on top (Binance: 300 connections per
5 minutes per IP; Clarofinlore: 10 sockets per key), shared by every session in the process.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("tickwire.session")


@dataclass
class Backoff:
    """``next_delay()`` after each failed attempt; ``reset()`` once a connection has proved healthy.

    ``immediate_first``: the first retry after a healthy connection drops happens at once (a single
    dropped TCP connection is the common case and waiting costs market data). ``max_attempts``:
    ``next_delay()`` returns None when exhausted (None: retry forever).
    """

    base: float = 0.1
    cap: float = 30.0
    factor: float = 2.0
    immediate_first: bool = True
    max_attempts: int | None = None
    rng: random.Random = field(default_factory=random.Random, repr=False)
    attempts: int = 0

    def next_delay(self) -> float | None:
        n = self.attempts
        if self.max_attempts is not None and n >= self.max_attempts:
            return None
        self.attempts += 1
        if self.immediate_first:
            if n == 0:
                return 0.0
            n -= 1
        ceiling = min(self.cap, self.base * self.factor**n)
        return self.rng.uniform(0.0, ceiling)

    def ceiling(self, attempt: int) -> float:
        """The upper bound of the delay drawn before retry number ``attempt`` (0-based)."""
        if self.immediate_first:
            if attempt == 0:
                return 0.0
            attempt -= 1
        return min(self.cap, self.base * self.factor**attempt)

    def reset(self) -> None:
        self.attempts = 0


class ConnectLimiter:
    """At most ``limit`` connection attempts in any ``window`` seconds, as the venue counts them
    (a sliding log).

    The venue counts an attempt when it arrives, somewhere between our taking its slot and the
    attempt being over: :meth:`take` stamps a slot and the attempt counts from then, whatever the
    window, until :meth:`settle` says it is over; from then it counts from that moment. So a slow
    attempt (even one slower than the window) cannot let later, faster ones reach the venue less than
    ``window`` after it. One limiter per (venue, host) is shared process-wide through
    :func:`limiter_for`, since venues count per IP or per key, not per session.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        # (limit, window) pairs, each held: the first given, and any other a session asks for at the
        # same host (``add_rule``).
        self.rules: list[tuple[int, float]] = [(limit, window)]
        self.limit = limit
        self.window = window  # the longest rule's: how long a stamp is kept
        self._clock = clock
        self._log: deque[float] = deque()  # stamps, oldest first
        self._pending: dict[float, int] = {}  # stamps of slots taken and not settled yet

    def add_rule(self, limit: int, window: float) -> None:
        """Also at most ``limit`` attempts in any ``window`` seconds (every rule is held)."""
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        if (limit, window) not in self.rules:
            self.rules.append((limit, window))
            self.window = max(self.window, window)

    def _trim(self, now: float) -> None:
        # Written as wait_time computes it (t + window - now): a wait it returned always ends with
        # the entry gone (``now - t >= window`` can be one ulp short of it, and a slot was then
        # granted with the entry still counted: found by the property test).
        window, pending = self.window, self._pending
        self._log = deque(t for t in self._log if t + window > now or t in pending)

    def wait_time(self) -> float:
        """Seconds until one more attempt may be allowed (0: now; after a wait, ask again)."""
        now = self._clock()
        self._trim(now)
        return max(self._rule_wait(limit, window, now) for limit, window in self.rules)

    def _rule_wait(self, limit: int, window: float, now: float) -> float:
        pending = self._pending
        counted = [t for t in self._log if t + window > now or t in pending]
        if len(counted) < limit:
            return 0.0
        over = [t for t in counted if t not in pending]  # oldest first, as the log is
        # Attempts that are over free slots oldest first, until one is left for this attempt; one
        # still going counts at least a window from now (it settles no earlier than now).
        need = len(counted) - limit + 1
        return over[need - 1] + window - now if len(over) >= need else window

    def try_take(self) -> float | None:
        """A slot now, if one is free: its stamp for :meth:`settle`; None otherwise."""
        if self.wait_time() > 0:
            return None
        at = self._clock()
        self._log.append(at)
        self._pending[at] = self._pending.get(at, 0) + 1
        return at

    async def take(self) -> tuple[float, float]:
        """Waits for a slot and takes it: ``(seconds waited, the slot's stamp)``; :meth:`settle` the
        stamp once the attempt is over."""
        waited = 0.0
        while (at := self.try_take()) is None:
            w = self.wait_time()
            await asyncio.sleep(w)
            waited += w
        return waited, at

    def settle(self, at: float) -> None:
        """The attempt whose slot was stamped ``at`` is over (connected or refused): from now on it
        counts from now, when the venue had certainly seen it."""
        n = self._pending.get(at, 0)
        if n == 0:
            return
        if n == 1:
            del self._pending[at]
        else:
            self._pending[at] = n - 1
        self._log.remove(at)  # a pending stamp is never trimmed
        bisect.insort(self._log, self._clock())  # oldest first: the oldest entry frees a slot first

    @property
    def used(self) -> int:
        self._trim(self._clock())
        return len(self._log)


_LIMITERS: dict[tuple[str, str], ConnectLimiter] = {}


def limiter_for(venue: str, key: str, limit: int, window: float) -> ConnectLimiter:
    """The process-wide limiter for ``venue`` and ``key`` (host or API key), created on first use; a
    rule it did not hold yet is added to it."""
    lim = _LIMITERS.get((venue, key))
    if lim is None:
        lim = _LIMITERS[(venue, key)] = ConnectLimiter(limit, window)
    else:  # another session's rule for the same host (a ``connect_limit`` option): both are held
        lim.add_rule(limit, window)
    return lim


async def connect_slot(venue: str, host: str, limit: tuple[int, float] | None) -> Callable[[], None]:
    """A slot of ``venue``'s connection-rate ``limit`` (attempts, seconds) at ``host`` — venues count
    per IP, the host dialled stands for it — from the process-wide limiter every socket dialling
    there shares, waited for. Returns what to call once the attempt is over (nothing to do without
    a limit)."""
    if limit is None:
        return settled
    limiter = limiter_for(venue, host, *limit)
    waited, at = await limiter.take()
    if waited:
        log.warning("%s: waited %.1f s for the venue's connection-rate limit", venue, waited)
    return functools.partial(limiter.settle, at)


def settled() -> None:
    """An attempt over that held no slot."""


class SocketBudget:
    """At most ``limit`` sockets open at once for one key (Clarofinlore: 10 per API key), shared by
    every session and line of the process: a reconnect waits for a slot instead of being refused."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._sem = asyncio.Semaphore(limit)

    async def acquire(self) -> None:
        await self._sem.acquire()

    def release(self) -> None:
        self._sem.release()

    @property
    def in_use(self) -> int:
        return self.limit - self._sem._value


_BUDGETS: dict[tuple[str, str], SocketBudget] = {}


def budget_for(venue: str, key: str, limit: int) -> SocketBudget:
    b = _BUDGETS.get((venue, key))
    if b is None:
        b = _BUDGETS[(venue, key)] = SocketBudget(limit)
    return b
