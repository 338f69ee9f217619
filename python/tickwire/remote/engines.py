"""The two engines that receive a remote client's market-data subjects (``engine=``), each message put
through the client's ``Dispatcher``:

- ``"rust"`` (the default where the extension has it): ``BusSubscriber``, an async-nats client on its
  own thread in the extension (rust/bus/sub.rs, the engine benches/bench_nats_engine.py chose). The
  event loop watches its eventfd; each wake-up is one ``pump`` call that puts every message that came
  through the dispatcher in Rust and returns only what Python must act on;
- ``"nats-py"``: a nats-py subscription, one ``Dispatcher.on_frame`` call per message (the fallback).

Apart from :mod:`tickwire.remote.market` because receiving is the one part that differs by engine: a
:class:`Receiver` is given the dispatcher and two outlets, and the client never asks which engine ran.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from tickwire import _core
from tickwire._core import Dispatcher, Histogram, bus_header
from tickwire.bus import subjects
from tickwire.bus.client import servers as bus_servers
from tickwire.errors import BookError, DecodeError, ValueRangeError

log = logging.getLogger("tickwire.remote")

ENGINES = ("rust", "nats-py")
# What the dispatcher refuses a message with: an undecodable message, a book that could not take it.
REFUSALS = (DecodeError, ValueRangeError, BookError)


def default_engine() -> str:
    """``"rust"`` when the extension has the subscriber (Linux builds), else ``"nats-py"``."""
    return "rust" if hasattr(_core, "BusSubscriber") else "nats-py"


def engine_for(engine: str | None) -> str:
    """``engine``, or the default engine for None; ValueError for one this build cannot run."""
    engine = engine if engine is not None else default_engine()
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    if engine == "rust" and not hasattr(_core, "BusSubscriber"):
        raise ValueError('engine="rust": this build of the extension has no BusSubscriber')
    return engine


class Receiver:
    """The market-data subscriptions of one client on one engine. What needs Python goes to
    ``on_summary(summary, gateway)``; a message the dispatcher refused, to ``on_refused(error)``."""

    def __init__(
        self,
        engine: str,
        venue: str,
        dispatcher: Dispatcher,
        bus_hop: Histogram | None,
        counters: dict[str, int],
        on_summary: Callable[[Any, str | None], None],
        on_refused: Callable[[Exception], None],
        max_pending: int | None = None,
    ) -> None:
        self.engine = engine
        # engine="rust": the messages the subscriber keeps while the loop does not drain it (None: its
        # default); past it the oldest go and the client resyncs the books that lost one.
        self.max_pending = max_pending
        self.venue = venue
        self.dispatcher = dispatcher
        self.bus_hop = bus_hop
        self.counters = counters
        self.on_summary = on_summary
        self.on_refused = on_refused
        # engine="rust": the market-data subscription in the extension, and the loop watching it.
        self.sub: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subs: list[Any] = []
        self._last_stamp_ns = 0
        # engine "nats-py": the trades never heard, per subject (the rust engine's pump keeps its own).
        self._gaps = _core.TradeGaps()

    @property
    def last_stamp_ns(self) -> int:
        if self.sub is not None:
            return int(self.sub.last_stamp_ns)
        return self._last_stamp_ns

    async def start(self, nc: Any, servers: str | Sequence[str], market: list[str]) -> None:
        if self.engine == "rust":
            loop = asyncio.get_running_loop()
            # Connecting blocks (without the GIL) until the server has the subscriptions: off the loop.
            opts = {} if self.max_pending is None else {"max_pending": self.max_pending}
            start = functools.partial(_core.BusSubscriber, bus_servers(servers), market, **opts)
            self.sub = await loop.run_in_executor(None, start)
            self._loop = loop
            loop.add_reader(self.sub.fileno(), self._pump)
        else:
            for subject in market:
                self._subs.append(await nc.subscribe(subject, cb=self._on_msg))

    async def close(self) -> None:
        if self.sub is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self.sub.fileno())
            self.sub.close()
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _on_msg(self, msg: Any) -> None:
        t0 = time.monotonic_ns()
        data = msg.data
        self.counters["messages"] += 1
        hole = self._gaps.observe(msg.subject, data)
        if hole is not None:
            # Trades lost on the way (core NATS delivers at most once: a link or route down, a slow
            # consumer cut off): they cannot be fetched again, so they are told, not left silent.
            self.on_summary(("trades_lost", (), hole), subjects.last_token(msg.subject))
        try:
            if self.bus_hop is not None:
                stamp = self._last_stamp_ns = bus_header(data)[4]
                self.bus_hop.record(max(time.time_ns() - stamp, 0))
            summary = self.dispatcher.on_frame(data, t0, 1)
        except REFUSALS as e:
            self.on_refused(e)
            return
        if summary is not None:
            self.on_summary(summary, subjects.last_token(msg.subject))

    def _pump(self) -> None:
        # engine "rust": the eventfd is readable. One call takes every message that came; what comes
        # back is (gateway, summary) for what needs Python, (gateway, exception) for a refused message.
        try:
            out = self.sub.pump(self.dispatcher, self.bus_hop)
        except Exception:
            log.exception("remote %s: the bus subscriber's pump failed", self.venue)
            return
        self.counters["messages"] = self.sub.pumped
        if out is None:
            return
        for gateway, item in out:
            if isinstance(item, REFUSALS):
                self.on_refused(item)
            elif isinstance(item, BaseException):
                log.warning("remote %s: a bus message failed: %r", self.venue, item)
            else:
                self.on_summary(item, gateway)
