"""Shared pieces of the gateway and remote-client tests: a real nats-server on loopback, the simulator
as the venue (Binance USDⓈ-M: amend, dead-man switch and order-count limits all simulated), a gateway
in this process or in its own, and what the simulator itself holds — its order list, fills and
limiters — as the truth every test compares with."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

import pytest
import tickwire
import tickwire.remote
from tickwire.bus.server import cluster
from tickwire.gateway.config import GatewayConfig
from tickwire.gateway.orders import OrderService
from tickwire.gateway.run import Gateway
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey

VENUE = "binance-usdm"
SYMBOLS = ("BTCUSDT", "ETHUSDT")
FUNDS = {"USDT": "100000000"}
HEARTBEAT = 0.2


@pytest.fixture(scope="session")
def nats_urls() -> Iterator[list[str]]:
    """One nats-server (JetStream on) for the whole run; tests keep apart by account name."""
    with cluster(1) as c:
        yield c.urls


class Venue:
    """The simulator with one funded key per account name (``key-<name>``), exported to the
    environment as ``<ENV>_API_KEY``/``_API_SECRET`` the way a gateway reads credentials."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def account(self, name: str, *, register: bool = True) -> dict[str, Any]:
        key, env = f"key-{name}", "TWGW_" + name.upper().replace("-", "_")
        os.environ[f"{env}_API_KEY"], os.environ[f"{env}_API_SECRET"] = key, f"secret-{name}"
        if register:
            self.sim.venue(VENUE).add_key(ApiKey(key, secret=f"secret-{name}".encode()))
            self.sim.fund(VENUE, key, FUNDS)
        return {"name": name, "venue": VENUE, "env": env, "options": {"endpoints": self.sim.urls()[VENUE]}}

    def orders(self, name: str) -> list[Any]:
        """The simulator's orders of the account (its matching engine's own list)."""
        return [o for o in self.sim.venue(VENUE).engine.orders.values() if o.account == f"key-{name}"]

    def open(self, name: str) -> list[Any]:
        return [o for o in self.orders(name) if o.open]

    def order_limiter(self, name: str) -> Any:
        """The venue's new-order counter of the account's short window."""
        return self.sim.venue(VENUE).orders.order_counts[f"key-{name}"][0]  # type: ignore[attr-defined]

    def dead_man(self) -> Any:
        """The venue's countdownCancelAll switch (``armed(key)``, ``fired``)."""
        return self.sim.venue(VENUE).futures_orders.dead_man  # type: ignore[attr-defined]

    def statuses(self) -> list[int]:
        return [status for _, _, status, _ in self.sim.endpoint(VENUE, 0).exchanges]


def config(urls: list[str], *accounts: dict[str, Any], name: str = "gw1") -> GatewayConfig:
    return GatewayConfig.from_dict(
        {"gateway": {"name": name, "nats": urls, "heartbeat": HEARTBEAT}, "account": list(accounts)}
    )


# Request weight the simulator announces for the tests whose dead-man countdown is a second: its
# refreshes (weight 10 a symbol, every quarter of it) must fit half the limit or the session refuses it.
FAST_COUNTDOWNS = {"weight_limit": 240_000}


@contextlib.asynccontextmanager
async def venue(profile: dict[str, Any] | None = None) -> AsyncIterator[Venue]:
    async with Simulator([VENUE], seed=41, rate=0, depth=20, profiles={VENUE: profile or {}}) as sim:
        yield Venue(sim)


def run(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(body())


def service(gw: Gateway, name: str) -> OrderService:
    return next(a for a in gw.accounts if a.account == name)


def slow_replies(svc: OrderService, op: str, seconds: float) -> Callable[[], None]:
    """The gateway's replies to ``op`` held ``seconds`` (past a client's time-out); returns what puts
    them back as they were."""
    respond = svc._respond

    async def slow(msg: Any, reply: dict[str, Any]) -> None:
        if msg.subject.endswith("." + op):
            await asyncio.sleep(seconds)
        await respond(msg, reply)

    svc._respond = slow  # type: ignore[method-assign]

    def restore() -> None:
        svc._respond = respond  # type: ignore[method-assign]

    return restore


def lose_next(svc: OrderService, op: str) -> list[Any]:
    """The next ``op`` request lost on its way (the gateway never sees it, for now): kept in the list
    returned, for the test to hand to ``svc._on_request`` later."""
    arrive = svc._on_request
    held: list[Any] = []

    async def drop(msg: Any) -> None:
        if msg.subject.endswith("." + op) and not held:
            held.append(msg)
            return
        await arrive(msg)

    svc._sub._cb = drop  # what the subscription calls for each request from now on
    return held


def remote(urls: list[str], account: str, strategy: str, **kw: Any) -> Any:
    return tickwire.remote.trade(urls, VENUE, account, strategy=strategy, **kw)


def resting_qty(tr: Any, symbol: str, price: Decimal, times: int = 1) -> Decimal:
    """The smallest quantity the rules accept at ``price`` (lot, minimum, notional), times ``times``."""
    r = tr.rules[symbol]
    lots = ((r.min_notional or Decimal(0)) / price / r.lot_size).to_integral_value(rounding=ROUND_CEILING)
    return max(r.min_qty, (lots + 1) * r.lot_size) * times


async def rest_buy(v: Venue, tr: Any, symbol: str = "BTCUSDT", ticks: int = 30, times: int = 1) -> Any:
    """A buy resting ``ticks`` below the simulator's best bid."""
    price = v.sim.book(VENUE, symbol).bids[0][0] - ticks * tr.rules[symbol].tick_size
    return await tr.place_order(symbol, "buy", "limit", resting_qty(tr, symbol, price, times), price)


async def outcome(call: Awaitable[Any]) -> Any:
    """What ``call`` returned, or the exception it raised."""
    try:
        return await call
    except Exception as e:
        return e


async def proxied(urls: list[str]) -> tuple[NatsProxy, str]:
    """A :class:`NatsProxy` to the first server of ``urls``, started, and the URL through it."""
    proxy = NatsProxy(int(urls[0].rsplit(":", 1)[1]))
    return proxy, await proxy.start()


class NatsProxy:
    """TCP on loopback to a nats-server's ``port``, to break a link on demand: ``dark`` drops what the
    server sends, ``refuse`` refuses new connections, ``cut()`` drops the ones open (the client
    reconnects through the proxy unless it refuses)."""

    def __init__(self, port: int) -> None:
        self.port, self.dark, self.refuse = port, False, False
        self.conns: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._conn, "127.0.0.1", 0)
        return f"nats://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _conn(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        if self.refuse:
            cw.transport.abort()
            return
        sr, sw = await asyncio.open_connection("127.0.0.1", self.port)
        self.conns += [cw, sw]

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter, down: bool) -> None:
            with contextlib.suppress(Exception):
                while data := await r.read(65536):
                    if not (down and self.dark):
                        w.write(data)
                        await w.drain()
            w.close()

        await asyncio.gather(pipe(cr, sw, False), pipe(sr, cw, True))

    def cut(self) -> None:
        for w in self.conns:
            w.transport.abort()
        self.conns = []


# a gateway in its own process ----------------------------------------------------------------------


def write_config(path: Path, urls: list[str], *accounts: dict[str, Any], name: str = "gw1") -> Path:
    """A gateway config as JSON (``tickwire gateway --config x.json``)."""
    gateway = {"name": name, "nats": urls, "heartbeat": HEARTBEAT}
    path.write_text(json.dumps({"gateway": gateway, "account": list(accounts)}))
    return path


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(Path(tickwire.__file__).parents[1])}


async def gateway_process(path: Path, *args: str) -> asyncio.subprocess.Process:
    """``tickwire gateway --config path [args]``, once it printed that it serves."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickwire.cli", "gateway", "--config", str(path), *args,
        env=child_env(), stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    assert json.loads(line)["gateway"], line
    return proc
