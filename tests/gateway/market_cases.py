"""What the gateway market-data tests share: a gateway's configuration on the simulator, the
consumer compared with a gateway's own book, and closing both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tickwire.gateway.config import GatewayConfig, MarketConfig
from tickwire.gateway.run import Gateway
from tickwire.sim import Simulator

FAST: dict[str, Any] = {"probe_interval": None, "ready_timeout": 5.0}
SYMS = ["BTCUSDT", "ETHUSDT"]
ENGINES = pytest.mark.parametrize("engine", ["rust", "nats-py"])
BUS_SNAPSHOT = 2  # a bus header's kind (rust/bus/wire.rs)


def gateway_config(name: str, nats: list[str], sim: Simulator, heartbeat: float = 0.1) -> GatewayConfig:
    market = MarketConfig(
        "binance", tuple(SYMS), ("book", "trades"), {"endpoints": sim.urls()["binance"], **FAST}
    )
    return GatewayConfig(name=name, nats=tuple(nats), markets=(market,), heartbeat=heartbeat)


def same_as_gateway(md: Any, gw: Gateway, symbol: str) -> Callable[[], bool]:
    """Whether the consumer is in sync and its book equals the gateway's (exact levels)."""
    gbook = gw.markets[0].feed.book(symbol)

    def same() -> bool:
        b = md.book(symbol)
        return bool(md.is_synced()) and all(
            b.levels_exact(s, 100) == gbook.levels_exact(s, 100) for s in ("bid", "ask")
        )

    return same


async def close_all(md: Any, *gateways: Gateway) -> None:
    """The consumer, then each gateway, closed."""
    await md.close()
    for gw in gateways:
        await gw.close()


def one_market(
    name: str, nats: list[str], sim: Simulator, symbols: list[str], endpoint: int = 0, channels: str = "book"
) -> GatewayConfig:
    endpoints = [sim.urls()["binance"][endpoint]]
    market = MarketConfig("binance", tuple(symbols), (channels,), {"endpoints": endpoints, **FAST})
    return GatewayConfig(name=name, nats=tuple(nats), markets=(market,), heartbeat=0.1)


def announced(md: Any, gateway: str, key: str) -> bool:
    """Whether the consumer heard a beat of ``gateway`` announce the venue id ``key``'s book reached."""
    st = md.watch.gateways.get(gateway) if md.watch is not None else None
    ids = (((st.body if st else {}).get("markets") or {}).get(md.venue) or {}).get("ids") or {}
    return isinstance(ids.get(key), int)
