"""Clarofinlore's advice, followed: "monitor failed login attempts via the security logs endpoint — set
alerts for more than three failures per minute" (seed-venues.md). :class:`SecurityWatch` polls the key's
security log and puts one ``("alert", SecurityAlert)`` on the session's ``events()`` each time a minute
holds more than ``max_failures`` failed log-ins (someone may be trying the key)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tickwire.loop import Periodic

log = logging.getLogger("tickwire.trading")

WINDOW_MS = 60_000
MAX_FAILURES = 3
# The alerts kept in ``SecurityWatch.alerts``, the newest (each went on ``events()`` as it fired): one a
# minute at most, each holding its minute's failures, for as long as someone keeps trying the key.
MAX_ALERTS = 100


@dataclass(frozen=True, slots=True)
class SecurityAlert:
    """More than ``limit`` failed log-ins within a minute ending at ``at_ms`` (venue time)."""

    failures: int
    limit: int
    at_ms: int
    entries: tuple[dict[str, Any], ...]


class SecurityWatch(Periodic):
    """``logs(since_ms)`` reads the venue's security log (``Session.security_logs``), ``emit(kind,
    value)`` is the session's event stream. Each failed log-in is counted once, however often it is
    read; an alert fires when a minute's count goes over ``max_failures``, and again only after a
    quiet minute."""

    def __init__(
        self,
        logs: Callable[[int | None], Awaitable[list[dict[str, Any]]]],
        emit: Callable[[str, Any], None],
        *,
        every_s: float = 10.0,
        max_failures: int = MAX_FAILURES,
    ) -> None:
        self.logs = logs
        self.emit = emit
        self.every_s = every_s
        self.max_failures = max_failures
        self.alerts: list[SecurityAlert] = []
        self._seen: set[tuple[Any, ...]] = set()
        self._failures: list[dict[str, Any]] = []
        self._since: int | None = None
        self._alerted_until = -1
        # Failed log-ins at or before this (venue ms) can be in no window still to look at: forgotten
        # (``_failures``, ``_seen``), and one read again is not counted anew. The log is read from
        # ``_since`` on, so every window yet to end ends at ``_since`` or later.
        self._horizon: int | None = None

    async def poll(self) -> SecurityAlert | None:
        """One read of the log; the alert it raised, if any."""
        entries = await self.logs(self._since)
        for e in entries:
            key = (e.get("ts"), e.get("event"), e.get("code"), e.get("ip"), e.get("path"))
            if key in self._seen or e.get("event") != "login_failed" or not isinstance(e.get("ts"), int):
                continue
            if self._horizon is not None and int(e["ts"]) <= self._horizon:
                continue
            self._seen.add(key)
            self._failures.append(e)
            self._since = max(self._since or 0, int(e["ts"]))
        self._failures.sort(key=lambda e: int(e["ts"]))
        for i, last in enumerate(self._failures):
            window = [e for e in self._failures[: i + 1] if int(last["ts"]) - int(e["ts"]) < WINDOW_MS]
            if len(window) > self.max_failures and int(last["ts"]) > self._alerted_until:
                alert = SecurityAlert(len(window), self.max_failures, int(last["ts"]), tuple(window))
                self._alerted_until = int(last["ts"]) + WINDOW_MS
                self.alerts.append(alert)
                del self.alerts[:-MAX_ALERTS]
                log.error("clarofinlore: %d failed log-ins within a minute", len(window))
                self.emit("alert", alert)
                # The windows ending after this one are looked at by the next poll.
                self._forget_before(int(last["ts"]) - WINDOW_MS)
                return alert
        if self._since is not None:
            self._forget_before(self._since - WINDOW_MS)
        return None

    def _forget_before(self, horizon: int) -> None:
        """Forgets the failures at or before ``horizon``: every window not yet looked at (ending at or
        after the first failure not yet looked at, or at one read later: at ``_since`` or after) starts
        after it. What each poll walks, twice over, is then about a minute's failures, not every one
        the session ever read."""
        if self._horizon is not None and horizon <= self._horizon:
            return
        self._horizon = horizon
        self._failures = [e for e in self._failures if int(e["ts"]) > horizon]
        self._seen = {k for k in self._seen if k[0] > horizon}

    async def round(self) -> SecurityAlert | None:
        return await self.poll()
