"""A remote client's snapshot requests, without a gateway: they take the client's ``resync_timeout`` as
it is when they are made."""

from __future__ import annotations

import asyncio
from typing import Any

from tickwire.remote.market import RemoteMarketData


class NoGateway:
    """Stands in for the NATS connection: notes each snapshot request's time-out; none is served."""

    def __init__(self, md: RemoteMarketData) -> None:
        self.md = md
        self.timeouts: list[float] = []

    async def request(self, subject: str, payload: bytes, timeout: float) -> Any:
        self.timeouts.append(timeout)
        self.md.closing = True  # one request is enough: the loop ends
        raise TimeoutError


def test_snapshot_requests_take_the_resync_timeout_the_client_has_when_they_are_made() -> None:
    async def go() -> None:
        md = RemoteMarketData("nats://127.0.0.1:1", "binance", ["BTCUSDT"], gateway="gw-1")
        nc = md.nc = NoGateway(md)
        md.resync_timeout = 0.5  # made with the default, 5 s
        key = md.adapter.book_key("BTCUSDT")
        md.resync(key, "test")
        await asyncio.gather(*md._snapshots.tasks.values())
        assert nc.timeouts == [0.5]

    asyncio.run(go())
