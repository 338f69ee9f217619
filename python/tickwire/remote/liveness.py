"""Watching gateways' heartbeats (``tw.gw.*.hb``): a gateway whose beats stop for ``missed``
intervals is gone; its return (a new ``instance``) is a restart whose streams started over."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from tickwire.bus import subjects

log = logging.getLogger("tickwire.remote")

# How often the watch looks for gateways whose beats stopped; a look this many periods late is put off
# by one period (``_sweep``).
SWEEP_S = 0.05
LATE_WAKE = 3


@dataclass
class GatewayState:
    name: str
    instance: str
    interval: float
    last_ns: int
    alive: bool
    body: dict[str, Any]


class GatewayWatch:
    """Keeps the latest beat of every gateway. ``on_change(name, alive)`` runs on the loop when a
    gateway appears, disappears or restarts."""

    def __init__(
        self,
        nc: Any,
        *,
        missed: int = 3,
        on_change: Callable[[str, bool], None] | None = None,
        on_beat: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.nc = nc
        self.on_beat = on_beat
        self.missed = missed
        self.on_change = on_change
        self.gateways: dict[str, GatewayState] = {}
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None
        self.unreadable = 0  # beats dropped: not JSON, or not of a heartbeat's shape

    async def start(self) -> GatewayWatch:
        self._sub = await self.nc.subscribe(subjects.HEARTBEATS, cb=self._beat)
        self._task = asyncio.get_running_loop().create_task(self._sweep())
        return self

    async def _beat(self, msg: Any) -> None:
        try:
            body = orjson.loads(msg.data)
            name, instance, interval = str(body["gateway"]), str(body["instance"]), float(body["interval"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            self.unreadable += 1
            return
        if not isinstance(body.get("markets", {}), dict) or not isinstance(body.get("accounts", []), list):
            # Read as tables and lists by every consumer of the beat: one of another shape would raise
            # in them — in the sweep, ending it, so no gateway would ever be declared gone again.
            self.unreadable += 1
            return
        st = self.gateways.get(name)
        fresh = st is None or not st.alive or st.instance != instance
        self.gateways[name] = GatewayState(name, instance, interval, time.monotonic_ns(), True, body)
        if fresh and self.on_change is not None:
            self.on_change(name, True)
        if self.on_beat is not None:
            self.on_beat(name, body)

    async def _sweep(self) -> None:
        woke, skipped = time.monotonic_ns(), False
        while True:
            await asyncio.sleep(SWEEP_S)
            now = time.monotonic_ns()
            late, woke = now - woke > LATE_WAKE * SWEEP_S * 1e9, now
            if late and not skipped:
                # Woken late: the process stalled (a busy CPU, a GC pause, a long callback), and the
                # beats that came meanwhile are still on their way to ``_beat`` (their bytes read,
                # then a few of the client's task hops) — judged now, a live gateway read as gone
                # (requests failing "gone", every remote book reset). Judged on the next round, once.
                skipped = True
                continue
            skipped = False
            for st in self.gateways.values():
                if st.alive and now - st.last_ns > self.missed * st.interval * 1e9:
                    st.alive = False
                    if self.on_change is not None:
                        try:
                            self.on_change(st.name, False)
                        except Exception:  # the sweep goes on: the other gateways are still watched
                            log.exception("gateway %s down: its handler raised", st.name)

    def alive(self, name: str) -> bool:
        st = self.gateways.get(name)
        return st is not None and st.alive

    async def wait_for(self, pred: Callable[[GatewayState], bool], timeout: float = 10.0) -> GatewayState:
        """The first gateway state ``pred`` accepts (TimeoutError after ``timeout``)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for st in self.gateways.values():
                if st.alive and pred(st):
                    return st
            await asyncio.sleep(0.02)
        raise TimeoutError("no live gateway matched")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
