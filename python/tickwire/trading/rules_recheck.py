"""The venue's instrument list read again when a symbol's trading status may have moved since the
session read it: the venue refused an order because its market is closed (the rules said it trades),
or the session refused one before sending because the rules say it does not (the market may have
reopened). Venues announce neither change on any stream tickwire reads, and an order refused either
way is the first sign. At most one read every ``RECHECK_S``, one at a time, in the background: a
refusal is never held up by it, and a strategy retrying on a closed market costs the venue a read of
its instrument list every few seconds, no more."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger("tickwire.trading")

RECHECK_S = 5.0


class RulesRecheck:
    """``soon()``: a read of the rules (``load``) started through ``spawn`` unless one ran or is
    running within ``RECHECK_S``."""

    def __init__(
        self,
        load: Callable[[], Awaitable[object]],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        closing: Callable[[], bool] = lambda: False,
    ) -> None:
        self._load = load
        self._spawn = spawn
        # The session closing or closed: no read starts (its task would outlive the close, which
        # cancels only the tasks it holds by then, and ask a closed wire).
        self._closing = closing
        self._last = float("-inf")
        self._running = False
        self.reads = 0  # how many it started (observability, tests)

    def soon(self) -> None:
        now = time.monotonic()
        if self._running or now - self._last < RECHECK_S or self._closing():
            return
        self._last = now
        self._running = True
        self.reads += 1
        self._spawn(self._run())

    async def _run(self) -> None:
        try:
            await self._load()
        except Exception as e:  # the rules stay as they were; the next refusal tries again
            log.warning("instrument rules not read again: %s: %s", type(e).__name__, e)
        finally:
            self._running = False
