"""A line renewed before the venue's connection lifetime ends it (Binance closes every connection 24 h
after it opened): make-before-break. A successor connection of the same line is opened and
subscribed beside the old one; once it delivers, the old one is retired. Meanwhile both feed the
session's one frame route: book frames the books already have are stale by their sequence (which is
why only venues whose books follow one sequence on every connection are renewed, ``redundant_ok``),
trade copies are dropped by their venue id (``BookFeed.dedupe_trades``) and, where a venue numbers
each symbol's trades one by one (Binance), trades ahead wait for the ones before them while the two
are arbitrated (``Overlaps``), and what carries no id (a BBO, an id-less trade) is delivered from one
of the two (the session's primary line). Left to the
venue's cut, a single-line session lost its books' confirmation until the next diff proved them,
and A/B lines opened together were cut together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Protocol

from tickwire.session.ports import Reporter

if TYPE_CHECKING:
    from tickwire._core import BookFeed
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

    @property
    def hold_s(self) -> float:
        """How long a frame ahead of its book waits for the other connection (the arbiter's hold)."""
        ...

    def start_successor(self, old: Line) -> Line:
        """A new line of ``old``'s index beside it, its run started (trade copies dropped by id, book
        frames arbitrated as A/B lines' are while the two overlap)."""
        ...

    def retire(self, old: Line, new: Line | None) -> None:
        """``old`` out of the session's lines, ``new`` (if any) in its place; ``old`` retired."""
        ...


class OverlapPort(Protocol):
    """What arbitrating a single line's two connections needs of its session."""

    feed: BookFeed
    redundancy: int

    @property
    def hold_s(self) -> float: ...

    def books_held(self) -> contextlib.AbstractContextManager[object]: ...

    def release_held(self, now_ns: int) -> None: ...


class Overlaps:
    """A single line's two connections (a renewal's) arbitrated while they overlap, as A/B lines are:
    a frame of the one ahead waits ``hold_s`` for the hole the one behind fills. Before, the
    successor's first diff, come before the old connection's last ones, was a gap and a REST
    resync. A/B sessions arbitrate always and are left as they are."""

    def __init__(self, port: OverlapPort) -> None:
        self.port = port
        self.under_way = 0

    def begin(self) -> None:
        p = self.port
        if p.redundancy == 1 and not self.under_way:
            with p.books_held():
                p.feed.arbitrate(p.hold_s)
        self.under_way += 1

    def end(self, renewed: bool) -> None:
        """One overlap over (``renewed``: the successor took the line, else it failed)."""
        self.under_way -= 1
        p = self.port
        if p.redundancy != 1 or self.under_way:
            return
        # One connection again. What the successor brought that is still held waited for a hole
        # only the retired connection could fill: to its book now (which reports the gap). A failed
        # successor's book frames are copies of what the old connection brings: dropped. Held trades
        # go out either way, in id order: while one waits, its copy from the other connection is
        # dropped as a copy, so it may be the only one. Then the feed stops arbitrating (a single
        # line's gap must not wait ``hold_s`` to be seen).
        if not renewed:
            with p.books_held():
                p.feed.clear_held()
        p.release_held(2**62)
        with p.books_held():
            p.feed.arbitrate(None)


def replaced(lines: list[Line], old: Line, new: Line | None) -> list[Line]:
    """The session's lines once ``old`` is retired: ``new``, appended while the two overlapped, in
    its place (the order is the lines' order of preference), or ``old`` gone (a failed successor)."""
    kept = [ln for ln in lines if ln is not new]
    if new is None:
        return [ln for ln in kept if ln is not old]
    return [new if ln is old else ln for ln in kept]


async def caught_up(old: Line, wait_s: float) -> None:
    """Returns once ``old`` read a frame (or ``wait_s`` passed, a quiet connection): what reached its
    socket by now is then delivered, not retired with it. The process may have stalled through the
    wait before (another busy process, a long callback): the wait's end and the old connection's
    last frames then come due together, and the wait's end may run first."""
    seen = old.frames
    end = time.monotonic() + wait_s
    while old.frames == seen and time.monotonic() < end and old.connected:
        await asyncio.sleep(0.005)
    await asyncio.sleep(0)  # a read already due runs before the caller goes on


async def renew(port: RenewalPort, old: Line) -> None:
    """Renews ``old`` (connected for most of its lifetime): its successor up and delivering, then
    ``old`` retired; a successor not up within ``SUCCESSOR_WAIT_S`` is retired instead, ``old`` kept."""
    if port.closing or old.retired or not old.connected:
        return
    new = port.start_successor(old)
    wait_s = SUCCESSOR_WAIT_S
    end = time.monotonic() + wait_s
    while True:
        while not (new.connected and new.frames > 0):
            if port.closing or old.retired:
                port.retire(new, None)
                return
            if time.monotonic() > end:
                log.warning(
                    "line %d: its successor was not up within %g s; the old connection kept",
                    old.index,
                    wait_s,
                )
                port.record("renewal_failed", line=old.index, waited_s=wait_s)
                port.retire(new, None)
                return
            await asyncio.sleep(0.005)
        # The old connection may lag the venue: frames sent before the successor subscribed, which
        # only it brings, may still be on their way. The successor's frames ahead of them are held
        # meanwhile (the arbiter); retired at once, the old one took them with it and the book
        # reported the gap. The successor must still be on the same connection then.
        connects = new.connects
        await asyncio.sleep(port.hold_s)
        await caught_up(old, port.hold_s)
        if port.closing or old.retired:
            port.retire(new, None)
            return
        if new.connected and new.connects == connects:
            break
    port.retire(old, new)
    port.record("renewed", line=old.index, endpoint=new.endpoint)
    port.status("renewed", line=old.index, detail="before the venue's connection lifetime ends")
