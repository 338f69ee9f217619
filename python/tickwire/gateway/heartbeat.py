"""The gateway's liveness subject: a JSON beat every ``interval`` seconds on ``tw.gw.<name>.hb``.
Remote clients treat three missed beats as the gateway gone (:mod:`tickwire.remote`); the accounts it
owned are then protected by their venue-side dead-man switches, not by anything on the bus."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from typing import Any

import orjson

from tickwire.bus import subjects


class Heartbeat:
    def __init__(
        self, nc: Any, gateway: str, interval: float, describe: Callable[[], dict[str, Any]]
    ) -> None:
        self.nc = nc
        self.gateway = gateway
        self.interval = interval
        self.describe = describe
        self.subject = subjects.heartbeat(gateway)
        self.seq = 0
        self._task: asyncio.Task[None] | None = None
        # A restarted gateway has a new instance id: clients know its streams started over.
        self.instance = f"{os.getpid()}-{time.time_ns()}"

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def beat(self) -> bytes:
        self.seq += 1
        body = {
            "gateway": self.gateway,
            "instance": self.instance,
            "seq": self.seq,
            "time_ns": time.time_ns(),
            "interval": self.interval,
            **self.describe(),
        }
        return orjson.dumps(body)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self.nc.publish(self.subject, self.beat())
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
