"""A line renewed before the venue's connection lifetime ends it (Binance closes every connection 24 h
after it opened): make-before-break. A successor connection of the same line is opened and
subscribed beside the old one; once it delivers, the old one is retired. Meanwhile both feed the
session's one frame route: book frames the books already have are stale by their sequence (which is
why only venues whose books follow one sequence on every connection are renewed, ``redundant_ok``),
trade copies are dropped by their venue id (``BookFeed.dedupe_trades``), and what carries no id (a
BBO, an id-less trade) is delivered from one of the two (the session's primary line). Left to the
venue's cut, a single-line session lost its books' confirmation until the next diff proved them,
and A/B lines opened together were cut together."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Protocol

from tickwire.session.ports import Reporter

if TYPE_CHECKING:
    from tickwire.session.line import Line

log = logging.getLogger("tickwire.session")

# A line is renewed this long before its lifetime ends (at most a tenth of the lifetime).
MARGIN_S = 300.0
# How long a successor may take to connect, subscribe and deliver its first frame; past it the old
# connection is kept (the venue's cut then reconnects it as before).
SUCCESSOR_WAIT_S = 30.0


def renew_after(lifetime_s: float) -> float:
    """Seconds after a connect at which its line is renewed."""
    return lifetime_s - min(MARGIN_S, lifetime_s / 10)


class RenewalPort(Reporter, Protocol):
    """What renewing a line needs of its session."""

    @property
    def closing(self) -> bool: ...

    def start_successor(self, old: Line) -> Line:
        """A new line of ``old``'s index beside it, its run started (trade copies dropped by id)."""
        ...

    def retire(self, old: Line, new: Line | None) -> None:
        """``old`` out of the session's lines, ``new`` (if any) in its place; ``old`` retired."""
        ...


def replaced(lines: list[Line], old: Line, new: Line | None) -> list[Line]:
    """The session's lines once ``old`` is retired: ``new``, appended while the two overlapped, in
    its place (the order is the lines' order of preference), or ``old`` gone (a failed successor)."""
    kept = [ln for ln in lines if ln is not new]
    if new is None:
        return [ln for ln in kept if ln is not old]
    return [new if ln is old else ln for ln in kept]


async def renew(port: RenewalPort, old: Line) -> None:
    """Renews ``old`` (connected for most of its lifetime): its successor up and delivering, then
    ``old`` retired; a successor not up within ``SUCCESSOR_WAIT_S`` is retired instead, ``old`` kept."""
    if port.closing or old.retired or not old.connected:
        return
    new = port.start_successor(old)
    wait_s = SUCCESSOR_WAIT_S
    end = time.monotonic() + wait_s
    while not (new.connected and new.frames > 0):
        if port.closing or old.retired:
            port.retire(new, None)
            return
        if time.monotonic() > end:
            log.warning(
                "line %d: its successor was not up within %g s; the old connection kept", old.index, wait_s
            )
            port.record("renewal_failed", line=old.index, waited_s=wait_s)
            port.retire(new, None)
            return
        await asyncio.sleep(0.005)
    port.retire(old, new)
    port.record("renewed", line=old.index, endpoint=new.endpoint)
    port.status("renewed", line=old.index, detail="before the venue's connection lifetime ends")
