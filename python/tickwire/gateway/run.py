""":class:`Gateway`: the market publishers, the order services and the heartbeat of one
``gateway.toml`` on one loop, over one NATS connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from tickwire.bus.client import connect as bus_connect
from tickwire.bus.client import drain_or_close
from tickwire.gateway.config import GatewayConfig
from tickwire.gateway.heartbeat import Heartbeat
from tickwire.gateway.market import MarketPublisher
from tickwire.gateway.orders import OrderService
from tickwire.trading.book_cost import any_book

log = logging.getLogger("tickwire.gateway")


class Gateway:
    """Owns the venue sessions a config names and serves them on NATS until :meth:`close`.

    ``async with Gateway(config) as gw: await gw.closed`` — or ``tickwire gateway --config``."""

    def __init__(self, config: GatewayConfig, *, session_options: dict[str, Any] | None = None) -> None:
        self.config = config
        self.session_options = session_options or {}
        self.nc: Any = None
        self.markets: list[MarketPublisher] = []
        self.accounts: list[OrderService] = []
        self.heartbeat: Heartbeat | None = None
        self.closed: asyncio.Future[None] | None = None

    async def start(self) -> Gateway:
        cfg = self.config
        self.closed = asyncio.get_running_loop().create_future()
        self.nc = await bus_connect(
            list(cfg.nats), name=f"tickwire-gateway-{cfg.name}",
            disconnected_cb=self._link_lost, reconnected_cb=self._link_back,
        )  # fmt: skip
        try:
            for m in cfg.markets:
                pub = MarketPublisher(self.nc, m, gateway=cfg.name)
                self.markets.append(pub)
                await pub.start()
            for a in cfg.accounts:
                # The venue's books this gateway keeps, if any — of every [[market]] of the venue:
                # they price its market orders.
                kept = [m.md.live_book for m in self.markets
                        if m.config.venue == a.venue and m.md.adapter.books_are_traded()]  # fmt: skip
                svc = await OrderService.open(self.nc, cfg.name, a, any_book(kept) if kept else None)
                self.accounts.append(svc)
            # A started gateway is one the server routes to: without the round trip its SUBs may
            # still sit in the client's buffer, and a second gateway asking "is this account
            # served?" would hear no responders (seen once in CI).
            await self.nc.flush()
            self.heartbeat = Heartbeat(self.nc, cfg.name, cfg.heartbeat, self.describe)
            self.heartbeat.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def _link_lost(self) -> None:
        for a in self.accounts:
            a.link_lost()

    async def _link_back(self) -> None:
        for a in self.accounts:
            await a.link_back()

    def describe(self) -> dict[str, Any]:
        """What the heartbeat says this gateway serves."""
        return {
            "markets": {m.config.venue: m.health() for m in self.markets},
            # Not one stepped down (another gateway serves it now): clients follow the one that does.
            "accounts": [
                f"{a.venue}/{a.account}" for a in self.accounts if not a.stepped_down and not a.closing
            ],
        }

    async def close(self) -> None:
        # The heartbeat goes on while the accounts close: their clients still ask the outcome of a
        # request in flight (answered until the session closed); a client that heard no beat would
        # not ask, and call the outcome unknown. A closing account is no longer named in it.
        for a in self.accounts:
            with contextlib.suppress(Exception):
                await a.close()
        if self.heartbeat is not None:
            await self.heartbeat.stop()
        for m in self.markets:
            with contextlib.suppress(Exception):
                await m.close()
        if self.nc is not None:
            await drain_or_close(self.nc)
        if self.closed is not None and not self.closed.done():
            self.closed.set_result(None)

    async def __aenter__(self) -> Gateway:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
