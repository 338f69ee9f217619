"""The venue's instrument list read again when a symbol's rules may have moved since the session read
them: the venue refused an order because its market is closed (the rules said it trades) or because
its price or size is off the grid the venue now enforces (``stale_rules`` decides which refusals say
so), or the session refused one before sending because the rules say the market does not trade (it
may have reopened). Venues announce none of these on any stream tickwire reads, and an order refused
either way is the first sign. At most one read every ``RECHECK_S``, one at a time, in the background:
a refusal is never held up by it, and a strategy retrying on a closed market costs the venue a read of
its instrument list every few seconds, no more.

Where the list itself announces changes ahead (OKX ``upcChg``: a new ``tickSz`` or ``minSz`` and the
time it takes effect), the list is also read shortly after the earliest one (``at``): one timer,
re-armed by each read, gone with the session. Until then the rules read stay the ones checked — the
venue enforces them until that time.

Some changes show in no refusal: a tick made finer while the strategy's prices sit on both grids, a
larger maximum, a lower minimum value. With ``every_s`` the same timer also reads the list that long
after the last read of any cause (the session's ``rules_refresh_s``, ``REFRESH_S`` by default), so a
change is seen within that time whether or not an order shows it."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from tickwire.trading.stale_rules import rules_may_be_stale
from tickwire.trading.unsent import was_unsent

log = logging.getLogger("tickwire.trading")

RECHECK_S = 5.0
# An announced change is read this long after its time: the venue's list is not expected to show it
# in force to the millisecond.
AFTER_CHANGE_S = 1.0
# A change whose time has passed while the list does not show it yet (the venue late) is looked for
# again every RECHECK_S for this long, then left to the next refusal.
LATE_S = 60.0
# A read the budget refused before sending is tried again this many times in all, each once its block
# ends (a block longer than LATE_S is left to the next refusal).
UNSENT_TRIES = 3
# The session's default ``rules_refresh_s``: the instrument list read again this long after the last
# read, change or not (Hummingbot's exchange base reads its trading rules every 30 minutes too). One
# request: Binance's exchangeInfo weighs 20 of 6,000 a minute.
REFRESH_S = 1800.0
# The shortest ``rules_refresh_s``: a read on a refusal comes at most every ``RECHECK_S`` (5 s), and a
# period shorter than that would pass the rate every other read of the list keeps to.
MIN_REFRESH_S = 5.0


def _refresh_seconds(x: object) -> bool:
    """A real number of seconds (no bool; float subclasses such as numpy's taken), finite and at least
    ``MIN_REFRESH_S``."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return False
    return math.isfinite(x) and x >= MIN_REFRESH_S


def _wall_ms() -> int:
    return int(time.time() * 1000)


class RulesRecheck:
    """``soon()``: a read of the rules (``load``) started through ``spawn`` unless one ran or is
    running within ``RECHECK_S``. ``at(times)``, after each read: a read shortly after the earliest of
    the venue's announced change times (``now_ms``: the venue's clock, Unix ms) and, with ``every_s``,
    one ``every_s`` after this read — whichever comes first, on one timer."""

    def __init__(
        self,
        load: Callable[[], Awaitable[object]],
        spawn: Callable[[Coroutine[Any, Any, None]], object],
        closing: Callable[[], bool] = lambda: False,
        now_ms: Callable[[], int] = _wall_ms,
        every_s: float | None = None,
    ) -> None:
        if every_s == 0 and not isinstance(every_s, bool):  # "never", as a gateway's TOML can say it
            every_s = None
        if every_s is not None and not _refresh_seconds(every_s):
            raise ValueError(
                f"rules_refresh_s is seconds, finite and at least {MIN_REFRESH_S} (the list is read at"
                f" most that often), or None or 0 (never), not {every_s!r}"
            )
        self._every = every_s
        self._load = load
        self._spawn = spawn
        # The session closing or closed: no read starts (its task would outlive the close, which
        # cancels only the tasks it holds by then, and ask a closed wire).
        self._closing = closing
        self._now_ms = now_ms
        self._last = float("-inf")
        self._running = False
        self._again = False  # a timed read fell due while one ran: another once it ends
        self._due: float | None = None  # monotonic time of the announced change's read, None: none
        self._refresh: float | None = None  # monotonic time of the periodic read, None: none armed
        self._timer_on = False
        self._rearmed = asyncio.Event()
        self.reads = 0  # how many it started (observability, tests)
        self.timed = 0  # of which were due to an announced change
        self.refreshes = 0  # of which were due to ``every_s``

    def stop(self) -> None:
        """No read from now on, and the timer ended, while the session stays open: its account is
        another gateway's now (this one stepped down), whose budget at the venue each read would spend."""
        self._closing = lambda: True
        self._every = self._due = self._refresh = None
        self._arm()

    def after(self, refusal: BaseException) -> None:
        """``soon()`` where an order's ``refusal`` — the venue's or this session's own — says the
        rules may be out of date (``stale_rules.rules_may_be_stale``: a closed market, the grid)."""
        if rules_may_be_stale(refusal):
            self.soon()

    def soon(self) -> None:
        now = time.monotonic()
        if self._running or now - self._last < RECHECK_S or self._closing():
            return
        self._start(now)

    def at(self, times_ms: Iterable[int] = ()) -> None:
        """The list was just read, announcing changes taking effect at ``times_ms`` that it does not
        show in force yet: the next read is armed for shortly after the earliest to come — for one
        whose time has passed (the venue late to show it), ``RECHECK_S`` from now, for ``LATE_S`` at
        most — replacing any armed before; none left, none armed. With ``every_s``, the periodic
        read is armed for ``every_s`` from now as well."""
        now = self._now_ms()
        waits = []
        for t in times_ms:
            wait = (t - now) / 1000 + AFTER_CHANGE_S
            if wait > 0:
                waits.append(wait)
            elif -wait < LATE_S:
                waits.append(RECHECK_S)
        mono = time.monotonic()
        self._due = mono + min(waits) if waits else None
        if self._every is not None:
            self._refresh = mono + self._every
        self._arm()

    def _arm(self) -> None:
        """The timer told of the times armed now: woken to take them (or to end, none left), else
        started where one is armed."""
        if self._timer_on:
            self._rearmed.set()
        elif self._next() is not None and not self._closing():
            self._timer_on = True
            self._spawn(self._timer())

    def _next(self) -> float | None:
        due = [t for t in (self._due, self._refresh) if t is not None]
        return min(due) if due else None

    def _start(self, now: float) -> None:
        self._last = now
        self._running = True
        self.reads += 1
        self._spawn(self._run())

    async def _run(self) -> None:
        try:
            for attempt in range(UNSENT_TRIES):
                try:
                    await self._load()
                    break
                except Exception as e:
                    # Refused here before a byte went out (the budget blocked by the venue's rate
                    # refusal): the venue was not asked, so the read waits the block out and goes —
                    # dropped, it spent the window and left the rules stale until a refusal after it.
                    # The window counts from the read that goes out.
                    wait = getattr(e, "retry_after", None) if was_unsent(e) else None
                    if wait is None or wait > LATE_S or attempt + 1 == UNSENT_TRIES or self._closing():
                        raise
                    await asyncio.sleep(wait)
                    if self._closing():
                        return
                    self._last = time.monotonic()
        except Exception as e:  # the rules stay as they were; the next refusal tries again
            log.warning("instrument rules not read again: %s: %s", type(e).__name__, e)
        finally:
            self._running = False
            if self._again and not self._closing():
                self._again = False
                self._start(time.monotonic())

    async def _timer(self) -> None:
        """Sleeps until the earliest armed time, re-armed meanwhile by ``at``; a task of the
        session's, so its close cancels it."""
        try:
            while (due := self._next()) is not None:
                self._rearmed.clear()
                # Not ``wait_for``: on 3.11 it swallows a cancel that lands as the event is set, and
                # the close's cancel would leave this task asleep until the next change.
                rearmed = asyncio.ensure_future(self._rearmed.wait())
                try:
                    woke, _ = await asyncio.wait((rearmed,), timeout=max(0.0, due - time.monotonic()))
                finally:
                    rearmed.cancel()
                if woke:
                    continue
                if self._closing():
                    return
                now = time.monotonic()
                if self._due is not None and self._due <= now:
                    self._due = None
                    self.timed += 1
                    if self._running:  # its answer may predate the change: read once more after it
                        self._again = True
                    else:
                        self._start(now)
                if self._every is not None and self._refresh is not None and self._refresh <= now:
                    # Armed again from now: a read that fails re-arms nothing (``at`` follows only
                    # a read that succeeded), and one already running counts as this one.
                    self._refresh = now + self._every
                    if not self._running:
                        self.refreshes += 1
                        self._start(now)
        finally:
            self._timer_on = False
