"""Order round trip (send → answer applied) against the simulator in its own process, for the same
orders in the same run, rounds alternating:

- ``raw``: a kept-alive HTTP connection and a query signed with stdlib ``hmac`` — the floor of a signed
  REST order from Python (no checks, no tracking);
- ``rest``: ``tr.place_order`` over REST without the private stream — rules checked, client id
  issued, tracked, signed in Rust, rate budget taken, the answer read into the tracker;
- ``rest_stream``: the same with the private stream (the venue pushes each order's events to this
  process while it answers);
- ``ws``: ``place_order`` over the Binance WS API (``order.place``);
- ``template_rest`` / ``template_ws``: ``tr.template(...).send`` over each.

Each sample is one resting limit order placed (timed) and then cancelled (untimed). Each contender's
first order of a round (its connection and session just opened, its caches cold) is placed and
cancelled untimed: a warm-up, excluded alike for all.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from tickwire.bench.report import Progress, Result, add_ratios

STAGE = "order round trip against the simulator (send → answer applied)"
SYMBOL = "BTCUSDT"
KEY, SECRET = "bench-order-key", "bench-order-secret"
# Far more orders a window than a bench sends: the venue's order count is not what is measured.
PROFILE = '{"order_limit_10s": 1000000, "weight_limit": 100000000}'
# Orders of each contender's round placed before the timed ones and not timed.
WARM_UP = 1
# Well below the simulated touch: every order rests until cancelled.
PRICE, QTY = Decimal("50000.00"), Decimal("0.01")

NAMES = {
    "raw": "raw REST: kept-alive socket + stdlib hmac, no checks",
    "rest": "place_order, REST, no private stream",
    "rest_stream": "place_order, REST, private stream on",
    "ws": "place_order, WS API",
    "template_rest": "template send, REST",
    "template_ws": "template send, WS API",
}


async def _raw(urls: dict[str, Any], n: int) -> list[float]:
    from tickwire.transport.http import HttpClient

    out: list[float] = []
    key = SECRET.encode()
    async with HttpClient(urls["rest"], timeout=5.0) as http:
        for i in range(WARM_UP + n):
            q = urlencode(
                {"symbol": SYMBOL, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": str(QTY),
                 "price": str(PRICE), "newClientOrderId": f"raw{time.monotonic_ns()}{i}",
                 "timestamp": int(time.time() * 1000)}
            )  # fmt: skip
            q += "&signature=" + hmac.new(key, q.encode(), hashlib.sha256).hexdigest()
            t0 = time.perf_counter_ns()
            r = await http.request("POST", "/api/v3/order", query=q, headers={"X-MBX-APIKEY": KEY})
            if i >= WARM_UP:
                out.append(time.perf_counter_ns() - t0)
            oid = r.raise_for_status().json()["orderId"]
            c = urlencode({"symbol": SYMBOL, "orderId": oid, "timestamp": int(time.time() * 1000)})
            c += "&signature=" + hmac.new(key, c.encode(), hashlib.sha256).hexdigest()
            await http.request("DELETE", "/api/v3/order", query=c, headers={"X-MBX-APIKEY": KEY})
    return out


async def _tickwire(urls: dict[str, Any], n: int, key: str) -> list[float]:
    import tickwire
    from tickwire.venues import binance

    out: list[float] = []
    transport = "ws" if key.endswith("ws") else "rest"
    stream = key in ("rest_stream", "ws", "template_ws")
    signer = binance.Signer(KEY, SECRET)
    async with tickwire.trade(
        "binance", credentials=signer, endpoints=[urls], transport=transport, private_stream=stream
    ) as tr:
        tmpl = tr.template(SYMBOL, "buy") if key.startswith("template") else None
        for i in range(WARM_UP + n):
            t0 = time.perf_counter_ns()
            if tmpl is not None:
                o = await tmpl.send(PRICE, QTY)
            else:
                o = await tr.place_order(SYMBOL, "buy", "limit", QTY, PRICE)
            if i >= WARM_UP:
                out.append(time.perf_counter_ns() - t0)
            await tr.cancel_order(SYMBOL, client_id=o.client_id)
    return out


async def measure_async(
    quick: bool, progress: Progress, *, orders: int | None = None, rounds: int | None = None
) -> list[Result]:
    from tickwire.sim.process import control, sim_process

    # Within Binance's documented 6,000 weight a minute, which every session of the process shares
    # for the simulator's address until it has read what the venue announces.
    orders = orders or (10 if quick else 100)
    rounds = min(rounds or (1 if quick else 2), 2)
    args = ("--venue", "binance", "--rate", "0", "--depth", "20", "--profile", f"binance={PROFILE}")
    samples: dict[str, list[float]] = {k: [] for k in NAMES}
    with sim_process(*args) as urls:
        await control(urls, "/keys", {"venue": "binance", "args": {"key": KEY, "secret": SECRET}})
        await control(urls, "/fund", {"venue": "binance", "account": KEY, "balances": {"USDT": "1e9"}})
        ep = urls["binance"][0]
        for r in range(rounds):
            keys = list(NAMES)
            keys = keys[r % len(keys) :] + keys[: r % len(keys)]
            for k in keys:
                progress(f"order round trip: round {r + 1}/{rounds}, {k}")
                samples[k] += await (_raw(ep, orders) if k == "raw" else _tickwire(ep, orders, k))
    rows = [Result.of(STAGE, k, NAMES[k], xs, stage_key="roundtrip") for k, xs in samples.items()]
    add_ratios(rows, "raw")
    return rows
