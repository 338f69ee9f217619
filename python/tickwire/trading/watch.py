"""A health monitor that throws a trading session's kill switch (:meth:`TradingSession.kill`) when the
bot is no longer in a state to trade safely:

- an order's outcome has been **unknown** for longer than ``unknown_after_s`` (its answer was lost and
  reconciliation has not settled it: the bot does not know what it holds);
- the **order connection** — the order socket (``transport="ws"``/``"auto"``) or the private order
  stream — has been down for longer than ``link_lost_s`` (fills and cancels go unseen);
- the process's resident memory is over ``max_rss_mb``, or its CPU use over ``max_cpu_pct`` percent of
  one core averaged over ``cpu_window_s`` (a leak or a spin about to starve the event loop).

    watch = Watch(tr, unknown_after_s=30, link_lost_s=20, max_rss_mb=2048, on_kill=alert)
    watch.start()          # checks every ``every_s`` seconds on the session's loop
    ...
    watch.stop()           # ends the checks; a kill it threw runs to its end all the same

Each threshold is off when None. The monitor fires once: after the kill it stays quiet until the
session is resumed (``tr.resume()``). Memory and CPU come from ``psutil`` when it is installed, else
from ``/proc/self/status`` and ``os.times()`` (Linux; elsewhere the memory check is skipped). The
reason given to ``kill`` names the trigger and its figures; the kill's report goes to ``on_kill``."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from typing import Any, Protocol

from tickwire.loop import Periodic
from tickwire.trading.kill import KillReport
from tickwire.trading.tracker import OrderTracker

log = logging.getLogger("tickwire.trading")


class WatchPort(Protocol):
    venue: str
    tracker: OrderTracker
    halted: str | None
    orders_ws: Any  # an OrderSocket (``connected``) or None
    stream: Any  # a PrivateStream (``connected``) or None

    async def kill(self, reason: str) -> KillReport: ...


class MarketPort(Protocol):
    """What the monitor reads of a market-data session (``tickwire.connect``)."""

    def health(self) -> dict[str, Any]: ...

    def book(self, symbol: str) -> Any: ...


def rss_mb() -> float | None:
    """The process's resident memory in MiB (None where it cannot be read)."""
    try:
        import psutil  # type: ignore[import-untyped,import-not-found,unused-ignore]

        return float(psutil.Process().memory_info().rss) / 2**20
    except ImportError:
        pass
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def cpu_s() -> float:
    """CPU seconds the process has used (user + system)."""
    t = os.times()
    return t.user + t.system


class Watch(Periodic):
    def __init__(
        self,
        session: WatchPort,
        *,
        unknown_after_s: float | None = 30.0,
        link_lost_s: float | None = 30.0,
        max_rss_mb: float | None = None,
        max_cpu_pct: float | None = None,
        cpu_window_s: float = 10.0,
        every_s: float = 1.0,
        on_kill: Callable[[KillReport], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        market: MarketPort | None = None,
        book_stale_s: float | None = None,
        crossed: bool = True,
    ) -> None:
        self.session = session
        # The strategy's market data: every line down longer than ``link_lost_s``, a book not updated
        # for ``book_stale_s``, or (``crossed``) a synced book whose best bid is at or above its best ask.
        self.market = market
        self.book_stale_s = book_stale_s
        self.crossed = crossed
        self.unknown_after_s = unknown_after_s
        self.link_lost_s = link_lost_s
        self.max_rss_mb = max_rss_mb
        self.max_cpu_pct = max_cpu_pct
        self.cpu_window_s = cpu_window_s
        self.every_s = every_s
        self.on_kill = on_kill
        self.clock = clock
        self._unknown_since: dict[str, float] = {}
        self._down_since: dict[str, float] = {}
        self._cpu: list[tuple[float, float]] = []  # (wall, cpu seconds) samples over the window
        self.report: KillReport | None = None  # the last kill this monitor caused
        self.killing: asyncio.Future[KillReport] | None = None  # that kill's task (it outlives ``stop``)

    def check(self) -> str | None:
        """The reason to kill now, or None. Called every ``every_s`` by :meth:`start`'s task."""
        now = self.clock()
        # Every rule read on every check, the first reason given: a rule skipped while an earlier one
        # answered (the switch thrown, held until a resume) would keep what it last saw — an outage
        # since ended taken, after the resume, for one still running since then.
        reasons = [
            self._unknown(now),
            self._links(now),
            self._market(now),
            self._memory(),
            self._cpu_use(now),
        ]
        return next((r for r in reasons if r is not None), None)

    def _unknown(self, now: float) -> str | None:
        unknown = {o.client_id for o in self.session.tracker.unknown()}
        self._unknown_since = {c: self._unknown_since.get(c, now) for c in unknown}
        if self.unknown_after_s is None:
            return None
        old = sorted(c for c, t in self._unknown_since.items() if now - t >= self.unknown_after_s)
        if old:
            return f"orders {', '.join(old)} unknown for over {self.unknown_after_s:g} s"
        return None

    def _links(self, now: float) -> str | None:
        s = self.session
        links = {"order socket": s.orders_ws, "private stream": s.stream}
        for name, sock in links.items():
            if sock is None or sock.connected:
                self._down_since.pop(name, None)
            else:
                self._down_since.setdefault(name, now)
        if self.link_lost_s is None:
            return None
        for name, since in sorted(self._down_since.items()):
            if now - since >= self.link_lost_s:
                return f"{name} down for over {self.link_lost_s:g} s"
        return None

    def _market(self, now: float) -> str | None:
        md = self.market
        if md is None:
            return None
        h = md.health()
        if any(ln["connected"] for ln in h["lines"]):
            self._down_since.pop("market data", None)
        else:
            self._down_since.setdefault("market data", now)
        since = self._down_since.get("market data")
        if self.link_lost_s is not None and since is not None and now - since >= self.link_lost_s:
            return f"market data down for over {self.link_lost_s:g} s"
        for symbol, b in sorted(h["books"].items()):
            age = b["age_s"]
            if self.book_stale_s is not None and age is not None and age > self.book_stale_s:
                return f"book {symbol} stale: no update for {age:.1f} s"
            if self.crossed and b["synced"]:
                bid, ask = md.book(symbol).best_bid_exact(), md.book(symbol).best_ask_exact()
                if bid is not None and ask is not None and bid[0] >= ask[0]:
                    return f"book {symbol} crossed: bid {bid[0]} >= ask {ask[0]}"
        return None

    def _memory(self) -> str | None:
        if self.max_rss_mb is None:
            return None
        rss = rss_mb()
        if rss is not None and rss > self.max_rss_mb:
            return f"resident memory {rss:.0f} MiB over {self.max_rss_mb:g} MiB"
        return None

    def _cpu_use(self, now: float) -> str | None:
        if self.max_cpu_pct is None:
            return None
        self._cpu.append((now, cpu_s()))
        while len(self._cpu) > 2 and now - self._cpu[1][0] >= self.cpu_window_s:
            self._cpu.pop(0)
        (t0, c0), (t1, c1) = self._cpu[0], self._cpu[-1]
        if t1 - t0 < self.cpu_window_s:
            return None  # not a full window yet
        pct = 100 * (c1 - c0) / (t1 - t0)
        if pct > self.max_cpu_pct:
            return f"CPU {pct:.0f}% over {self.max_cpu_pct:g}% for {t1 - t0:.0f} s"
        return None

    async def tick(self) -> KillReport | None:
        """One check; throws the kill switch when a threshold is crossed and trading is not halted.
        The kill runs in a task of its own (``killing``): stopping the monitor, or cancelling this
        call, does not cut it short — a kill cancelled half-way leaves the session halted with its
        orders still working — and its report reaches ``report`` and ``on_kill`` when it ends."""
        reason = self.check()
        if reason is None or self.session.halted is not None:
            return None
        log.error("%s: health monitor: %s; killing", self.session.venue, reason)
        kill = self.killing = asyncio.ensure_future(self.session.kill(f"health: {reason}"))
        kill.add_done_callback(self._killed)
        return await asyncio.shield(kill)

    def _killed(self, task: asyncio.Future[KillReport]) -> None:
        if task.cancelled():
            log.error("%s: health monitor: the kill was cancelled", self.session.venue)
            return
        e = task.exception()
        if e is not None:
            log.error("%s: health monitor: the kill raised %r", self.session.venue, e)
            return
        self.report = task.result()
        if self.on_kill is not None:
            try:
                self.on_kill(self.report)
            except Exception:
                log.exception("health monitor on_kill callback raised")

    async def round(self) -> KillReport | None:
        return await self.tick()
