"""The accounts, symbols and helpers the kill-switch, dead-man and health-monitor tests share: one
simulator per test, the test account keyed and funded on it, a trading session opened against it."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import ROUND_CEILING, Decimal
from typing import Any

import tickwire
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.trading.session import TradingSession
from tickwire.venues import binance, kraken, okx

Body = Callable[[Simulator, TradingSession], Awaitable[None]]

KRAKEN_SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
FUNDS = {"USDT": "10000000", "USD": "10000000", "BTC": "100", "ETH": "1000"}

ACCOUNTS: dict[str, tuple[str, Any, Callable[[Any], None]]] = {
    "binance": (
        "kill-key",
        binance.Signer("kill-key", "kill-secret"),
        lambda v: v.add_key(ApiKey("kill-key", secret=b"kill-secret")),
    ),
    "binance-usdm": (
        "kill-usdm",
        binance.Signer("kill-usdm", "kill-secret"),
        lambda v: v.add_key(ApiKey("kill-usdm", secret=b"kill-secret")),
    ),
    "okx": (
        "kill-okx",
        okx.Signer("kill-okx", "kill-secret", "kill pass"),
        lambda v: v.add_key("kill-okx", "kill-secret", "kill pass"),
    ),
    "kraken": (
        "kill-kraken",
        kraken.Signer("kill-kraken", KRAKEN_SECRET),
        lambda v: v.add_key("kill-kraken", KRAKEN_SECRET),
    ),
}
SYMBOLS = {
    "binance": ("BTCUSDT", "ETHUSDT"),
    "binance-usdm": ("BTCUSDT", "ETHUSDT"),
    "okx": ("BTC-USDT", "ETH-USDT"),
    "kraken": ("BTC/USD", "ETH/USD"),
}


# The tests' dead-man countdowns are a second or two (so they end quickly), refreshed far faster than
# a venue's real limits allow, and a session refuses a countdown whose refreshes would take more than
# half a limit (``deadman.LOAD_SHARE``). The limit they count on is raised on both sides: the
# simulator's (USDⓈ-M announces its request weight to the session; Kraken's REST counter is in the
# profile) and, for Kraken, the session's (``trade``).
FAST_COUNTDOWNS: dict[str, dict[str, Any]] = {
    "binance-usdm": {"weight_limit": 240_000},
    "kraken": {"rest_limit": 2_000},
}


def trade(venue: str, **kw: Any) -> TradingSession:
    """``tickwire.trade``, with Kraken's REST counter as ``funded``'s simulator keeps it (a key's tier
    given as a user of a higher one would: ``budget.set_limits(..., replace=True)`` before start)."""
    tr = tickwire.trade(venue, **kw)
    if venue == "kraken":
        limits = dict(tr.budget.limits)
        limits["REST"] = dataclasses.replace(limits["REST"], limit=FAST_COUNTDOWNS["kraken"]["rest_limit"])
        tr.budget.set_limits(limits.values(), replace=True)
    return tr


@contextlib.asynccontextmanager
async def funded(
    venue: str, rate: float = 0, profile: dict[str, Any] | None = None
) -> AsyncIterator[Simulator]:
    """A simulator of ``venue`` with the test account keyed and funded on it."""
    key, _, register = ACCOUNTS[venue]
    profile = {**FAST_COUNTDOWNS.get(venue, {}), **(profile or {})}
    async with Simulator([venue], seed=41, rate=rate, depth=20, profiles={venue: profile}) as sim:
        register(sim.venue(venue))
        sim.fund(venue, key, FUNDS)
        yield sim


def run(venue: str, body: Body, profile: dict[str, Any] | None = None, **trade_kw: Any) -> None:
    signer = ACCOUNTS[venue][1]

    async def go() -> None:
        async with funded(venue, profile=profile) as sim:
            async with trade(venue, credentials=signer, endpoints=sim.urls()[venue], **trade_kw) as tr:
                await body(sim, tr)

    asyncio.run(go())


def open_at_venue(sim: Simulator, venue: str) -> list[Any]:
    """The simulator's open orders of the test account."""
    key = ACCOUNTS[venue][0]
    return [o for o in sim.venue(venue).engine.orders.values() if o.open and o.account == key]


def requests(sim: Simulator, venue: str) -> list[str]:
    return [op for _, op, _, _ in sim.endpoint(venue, 0).exchanges]


async def rest_buy(sim: Simulator, tr: TradingSession, symbol: str, ticks: int = 30) -> Any:
    """The smallest buy the rules allow, resting ``ticks`` below the best bid."""
    r = tr.rules[symbol]
    price = sim.book(tr.venue, symbol).bids[0][0] - ticks * r.tick_size
    lots = ((r.min_notional or Decimal(0)) / price / r.lot_size).to_integral_value(rounding=ROUND_CEILING)
    return await tr.place_order(symbol, "buy", "limit", max(r.min_qty, (lots + 1) * r.lot_size), price)


async def on_two_symbols(sim: Simulator, tr: TradingSession, each: int = 2) -> list[Any]:
    return [await rest_buy(sim, tr, s, 30 + i) for s in SYMBOLS[tr.venue] for i in range(each)]


def reduce_only_at_venue(sim: Simulator, venue: str = "binance-usdm") -> list[Any]:
    """The simulator's reduce-only orders of the test account (Binance USDⓈ-M: the kill switch's
    closing orders), oldest first — those it took; one it refused (-2022) is not recorded."""
    key, v = ACCOUNTS[venue][0], sim.venue(venue)
    ids: Any = v.futures_orders.reduce_only  # type: ignore[attr-defined]
    return sorted(
        (o for o in v.engine.orders.values() if o.account == key and o.id in ids), key=lambda o: o.id
    )
