"""Mutating requests by request id (``rid``) for a gateway's ``outcome`` question: in flight or done
(their reply, kept a while), or abandoned by a client that gave up waiting — refused unrun should
they still arrive; and a request that arrives after its client stopped waiting (``late_s``).

A request id is the requesting strategy's (``rid_key``: the strategy and the rid): one strategy's
request under an id another used is its own request, run, and its ``outcome`` question never answers
with, nor abandons, another strategy's request (before 2026-12-07 the ids were account-wide: a place
under an id another strategy had used got that strategy's order back as its reply, unrun)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import Any

Reply = dict[str, Any]
Key = tuple[str, str]  # (strategy, rid): ``rid_key``

# How long a reply is kept for ``outcome``: a client asks once its own time-out ran out, seconds after
# sending; minutes cover a client held up by a reconnect. A count caps the memory at any order rate.
KEEP_S = 300.0
KEEP_MAX = 200_000
KEEP_ABANDONED = 65_536


def rid_key(req: dict[str, Any]) -> Key:
    """The request's id as the requesting strategy's (a ``KeyError`` when it names no ``rid``)."""
    return str(req.get("strategy")), str(req["rid"])


class Outcomes:
    """Mutating requests by request id: in flight or done (their reply), or abandoned by their client."""

    def __init__(self) -> None:
        self.replies: OrderedDict[Key, tuple[float, asyncio.Future[Reply]]] = OrderedDict()
        self.abandoned: OrderedDict[Key, None] = OrderedDict()

    def begin(self, rid: Key) -> tuple[str, asyncio.Future[Reply] | None]:
        """("new", future) for a request to run, ("again", future) for one already running or run,
        ("abandoned", None) for one its client gave up on."""
        if rid in self.abandoned:
            return "abandoned", None
        seen = self.replies.get(rid)
        if seen is not None:
            return "again", seen[1]
        now = time.monotonic()
        fut: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self.replies[rid] = (now, fut)
        # Oldest first; one still running goes to the back, kept with its time, so that a request
        # that runs long (a rate wait, a venue slow to answer) does not hold back the pruning of every
        # reply after it (before 2026-12-07 it did: past ``KEEP_S`` and past ``KEEP_MAX``).
        for _ in range(len(self.replies)):
            key, (t, head) = next(iter(self.replies.items()))
            if now - t < KEEP_S and len(self.replies) <= KEEP_MAX:
                break
            if head.done():
                self.replies.popitem(last=False)
            else:
                self.replies.move_to_end(key)
        return "new", fut

    def abandon(self, rid: Key) -> asyncio.Future[Reply] | None:
        """The request's future if it was seen; else it is marked abandoned and None."""
        seen = self.replies.get(rid)
        if seen is None:
            self.abandoned[rid] = None
            if len(self.abandoned) > KEEP_ABANDONED:
                self.abandoned.popitem(last=False)
            return None
        return seen[1]


# Refused unrun when they arrive after their client stopped waiting (``until_ms``): run late, they would
# add risk the client no longer expects. A late cancel, cancel-all or kill still runs: it only takes
# risk away, and a kill must not be lost.
RISKING = frozenset({"place", "place_many", "amend", "resume"})
# Allowed between a client's wall clock and the gateway's before a request counts as arriving after
# its client stopped waiting: hosts kept by NTP agree within milliseconds.
LATE_MARGIN_MS = 1000


def late_s(op: str, req: dict[str, Any]) -> float:
    """How long after its client stopped waiting (``until_ms``, the client's wall clock) a request of
    ``op`` that adds risk arrived, beyond ``LATE_MARGIN_MS``; 0 when in time, unstated (an older
    client) or one that only takes risk away."""
    until = req.get("until_ms")
    if op not in RISKING or not isinstance(until, int) or isinstance(until, bool):
        return 0.0
    return max(0, time.time_ns() // 1_000_000 - until - LATE_MARGIN_MS) / 1000
