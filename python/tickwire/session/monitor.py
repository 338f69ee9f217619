"""The session's background upkeep, off the hot path: stale connections and symbols, expired A/B
holds, endpoint RTT probes, venue clock sync."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tickwire.clock import sync_venue
from tickwire.errors import RateLimitError, TickwireError
from tickwire.limits.budget import resend_gate
from tickwire.loop import after_reads

if TYPE_CHECKING:
    # The session's public members only (lines, books, counters, status, remedies).
    from tickwire.session.market import MarketData

log = logging.getLogger("tickwire.session")


def reaped(tasks: list[asyncio.Task[None]]) -> list[asyncio.Task[None]]:
    """``tasks`` without the finished ones, a failure among those logged: read, not dropped unread
    (asyncio's "exception was never retrieved" at exit, the failure otherwise unseen)."""
    for t in tasks:
        if t.done() and not t.cancelled() and t.exception() is not None:
            log.warning("%s failed: %r", t.get_name(), t.exception())
    return [t for t in tasks if not t.done()]


async def monitor(md: MarketData) -> None:
    period = max(0.005, min(md.stale_after / 4, (md.symbol_stale_after or 1.0) / 4, 0.5))
    next_probe = time.monotonic() + (md.probe_interval or 0)
    while not md.closing:
        await asyncio.sleep(period)
        now = time.monotonic_ns()
        # What follows is judged once the sockets were read: woken after a stall of the process (a
        # busy CPU, a long callback), this may run before what came meanwhile was (uvloop runs timers,
        # and the tasks they wake, before I/O) — a healthy connection read as silent for the stall
        # was cut (a reconnect, a resubscription, a snapshot), held A/B frames released as gaps.
        # ``now`` stays the time before those reads: what they brought is no older than it.
        await asyncio.sleep(0)
        for ln in md.lines:
            # A connection with no data at all (the venue stalled, or a half-open TCP connection).
            if ln.connected and ln.last_rx_ns and (now - ln.last_rx_ns) / 1e9 > md.stale_after:
                md.counters["stale"] += 1
                md.status("stale", line=ln.index, detail=f"no data for {md.stale_after} s")
                ln.kill("stale: no data")
        if md.symbol_stale_after is not None:
            check_symbols(md, now, md.symbol_stale_after)
        # A/B frames whose hole no line filled go to their books as gaps (frames ask for it too, but
        # a quiet stream may bring none for a while) — once the sockets were read (above).
        md.release_held(now)
        if md.probe_interval and time.monotonic() >= next_probe:
            next_probe = time.monotonic() + md.probe_interval
            await md.pool.probe_all()


def release_soon(release: Callable[[int], None]) -> Callable[[], None]:
    """The dispatcher's ``on_due`` (``Dispatcher.defer_expiry``): held A/B frames whose time is up
    are released once the loop read its sockets again (``after_reads``) — after a stall of the
    process (a busy CPU, a long callback) every connection's frames are read in any order, the
    frame filling the hole maybe after the one that found the hold run out, maybe a read later."""

    def due() -> None:
        after_reads(lambda: release(time.monotonic_ns()))

    return due


def check_symbols(md: MarketData, now: int, window: float) -> None:
    """A symbol that stops updating while others on the connection flow — or while only control
    frames do — is resubscribed alone."""
    ages = {}
    for key in md.book_keys():
        last = md.last_update_ns(key)
        if last is not None:
            ages[key] = (now - max(last, md.stale_mark.get(key, 0))) / 1e9
    if not ages:
        return
    if min(ages.values()) > window and all(
        (now - ln.last_rx_ns) / 1e9 > window for ln in md.lines if ln.connected
    ):
        return  # the connection sends nothing at all either: the connection check handles that
    # (Every book quiet while the connection still brings pings, pongs or heartbeats: the venue
    # stopped the books' streams — resubscribed below, or such a book would stay "synced", frozen.)
    for sym, age in ages.items():
        if age > window and sym not in md.resyncer.tasks:
            md.counters["stale"] += 1
            md.status("stale", symbol=sym, detail=f"no update for {age:.2f} s while others flow")
            md.stale_mark[sym] = now
            # The stream itself stopped: resubscribe. A venue whose books are rebuilt from REST
            # then reports a gap on the next diff if any were missed, and resyncs from there.
            subs = md.resyncer.subs_for_key(sym)
            try:
                md.send_first(md.adapter.unsubscribe(subs) + md.adapter.subscribe(subs))
            except TickwireError:
                pass


async def _time_room(md: MarketData) -> None:
    """A server-time reading waits for room in the address's budget, as every request from the
    address does: sent inside a Retry-After another session there met, Binance bans the address."""
    budget = md.rest_budget()
    cost = md.adapter.server_time_cost()
    if budget is not None and cost:
        await budget.acquire(cost, "query")


def _time_gate(md: MarketData) -> Callable[[], None] | None:
    """A reading's gate: the HTTP client's resend of it (a kept-alive connection closed under it)
    charged to the address's budget again, as the venue counts it."""
    budget = md.rest_budget()
    cost = md.adapter.server_time_cost()
    return resend_gate(budget, cost) if budget is not None and cost else None


async def clock_loop(md: MarketData, every: float) -> None:
    while not md.closing:
        try:
            off = await sync_venue(
                md.clock, md.rest(), md.venue, before=lambda: _time_room(md), gate=lambda: _time_gate(md)
            )
            log.debug("%s clock offset %.3f ms (rtt %s ms)", md.venue, off, md.clock.rtt_ms)
        except RateLimitError as e:
            # A reading refused for rate blocks the address for its Retry-After, for every session of
            # the process, as a snapshot's refusal does: only logged, the next request from the
            # address (a trading session's, this loop's next round) went inside it, and Binance bans.
            budget = md.rest_budget()
            if budget is not None and getattr(e, "status", None) is not None:  # the venue's refusal
                named = budget.limit_for_code(getattr(e, "code", None))
                budget.refused(named or None, getattr(e, "retry_after", None), md.adapter.server_time_cost())
            log.warning("%s clock sync refused for rate: %s", md.venue, e)
        except (TickwireError, OSError, KeyError, ValueError) as e:
            log.warning("%s clock sync failed: %s", md.venue, e)
        await asyncio.sleep(every)


def health(md: MarketData) -> dict[str, Any]:
    """What ``MarketData.health()`` returns."""
    now = time.monotonic_ns()
    books = {}
    for s in md.registry.symbols("book"):
        try:
            b = md.book(s)
            state, synced = b.state, b.is_synced
        except KeyError:
            state, synced = "empty", False
        last = md.last_update_ns(md.adapter.book_key(s))
        books[s] = {
            "state": state,
            "synced": synced,
            "age_s": None if last is None else (now - last) / 1e9,
            "resyncing": md.adapter.book_key(s) in md.resyncer.tasks,
        }
    lines = [
        {
            "connected": ln.connected,
            "endpoint": None if ln.endpoint is None else md.pool.endpoints[ln.endpoint].name,
            "frames": ln.frames,
            "connects": ln.connects,
            "idle_s": (now - ln.last_rx_ns) / 1e9 if ln.last_rx_ns else None,
        }
        for ln in md.lines
    ]
    out: dict[str, Any] = {"venue": md.venue, "lines": lines, "books": books, **md.counters}
    out["endpoint_rtt_ms"] = [None if r is None else r * 1e3 for r in md.pool.rtt]
    arbiter = md.feed.arbiter_stats()
    if arbiter is not None:
        out["arbiter"] = arbiter
    return out
