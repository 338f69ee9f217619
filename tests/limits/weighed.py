"""What the address-weight tests start from: the simulator's Binance with a small request-weight
window, a key on it and a trading session there (nothing adopted, no private stream, ``rate_wait=0``:
a refusal raises at once), and another process on the address spending weight."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import tickwire
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.transport.http import HttpClient
from tickwire.venues import binance

BAN_S = 30.0


@contextlib.asynccontextmanager
async def weighed_binance(
    key: str, *, limit: int, window_s: float, **trade: Any
) -> AsyncIterator[tuple[Simulator, Any, Any]]:
    """``(sim, endpoint, session)``: ``limit`` weight per ``window_s`` at the venue (a ban 30 s), the
    session on key ``key`` (``trade``: more of ``tickwire.trade``'s options)."""
    profile: dict[str, Any] = {"weight_limit": limit}
    async with Simulator(
        ["binance"], seed=5, rate=0, depth=20, profiles={"binance": profile},
        timeouts={"weight_window": window_s, "ban": BAN_S},
    ) as sim:  # fmt: skip
        sim.venue("binance").add_key(ApiKey(key, secret=b"s3cret"))
        async with tickwire.trade(
            "binance", credentials=binance.Signer(key, "s3cret"), endpoints=sim.urls()["binance"],
            **{"adopt": False, "private_stream": False, "rate_wait": 0, **trade},
        ) as tr:  # fmt: skip
            yield sim, sim.endpoint("binance", 0), tr


async def spend(ep: Any, upto: int, window: str, path: str = "/api/v3/ping") -> int:
    """Another process on the address asks ``path`` until the venue's count for ``window`` (its
    ``x-mbx-used-weight-<window>`` header) reaches ``upto``; that count."""
    other = HttpClient(ep.rest_base, timeout=5.0)
    await other.connect()
    try:
        used = 0
        while used < upto:
            r = await other.request("GET", path)
            used = int(r.headers[f"x-mbx-used-weight-{window}"])
        return used
    finally:
        await other.close()


def sent_inside(ep: Any, at: float, retry_after: float) -> list[tuple[float, str, int]]:
    """What reached the endpoint within a refusal's ``Retry-After`` (refused at ``at``, the request
    log's clock): (seconds after the refusal, request, status) — nothing, for a client that obeys it."""
    return [(round(t - at, 3), op, st) for t, op, st, _ in ep.exchanges if at < t < at + retry_after]
