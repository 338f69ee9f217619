"""Order round trip (send → answer) against the simulator in a separate process, for the same orders
in the same run, rounds alternating:

- ``raw REST``: a kept-alive HTTP connection and a query signed with stdlib ``hmac`` in the loop — the
  floor of a signed REST order from Python (no checks, no tracking);
- ``tickwire REST``: ``tr.place_order`` with ``transport="rest"`` — rules checked, client id issued,
  tracked, signed in Rust, rate budget taken, the answer read into the tracker;
- ``tickwire REST, no stream``: the same without the private stream (``private_stream=False``): the
  venue then does not push each order's events to this process while it answers;
- ``tickwire WS API``: the same with ``transport="ws"`` (Binance WS API ``order.place``).

Each sample is one resting limit order placed (timed) and then cancelled (untimed). Ratios are to the
raw REST floor of the same round.

    python benches/bench_orders.py [--orders 300] [--rounds 3]

Under pytest it runs briefly as a smoke test.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import tickwire
from tickwire.transport.http import HttpClient
from tickwire.venues import binance

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "session"))
from simproc import control, sim_process

SYMBOL = "BTCUSDT"
KEY, SECRET = "bench-order-key", "bench-order-secret"
# Far more orders a window than a bench sends: the venue's order count is not what is measured.
PROFILE = '{"order_limit_10s": 1000000, "weight_limit": 100000000}'


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


async def _raw_rest(urls: dict[str, Any], n: int, price: Decimal, qty: Decimal) -> list[float]:
    out = []
    key = SECRET.encode()
    async with HttpClient(urls["rest"], timeout=5.0) as http:
        for i in range(n):
            q = urlencode(
                {"symbol": SYMBOL, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": str(qty),
                 "price": str(price), "newClientOrderId": f"raw{time.monotonic_ns()}{i}",
                 "timestamp": int(time.time() * 1000)}
            )  # fmt: skip
            q += "&signature=" + hmac.new(key, q.encode(), hashlib.sha256).hexdigest()
            t0 = time.perf_counter()
            r = await http.request("POST", "/api/v3/order", query=q, headers={"X-MBX-APIKEY": KEY})
            out.append((time.perf_counter() - t0) * 1e6)
            oid = r.raise_for_status().json()["orderId"]
            c = urlencode({"symbol": SYMBOL, "orderId": oid, "timestamp": int(time.time() * 1000)})
            c += "&signature=" + hmac.new(key, c.encode(), hashlib.sha256).hexdigest()
            await http.request("DELETE", "/api/v3/order", query=c, headers={"X-MBX-APIKEY": KEY})
    return out


async def _tickwire(
    urls: dict[str, Any], n: int, price: Decimal, qty: Decimal, transport: str, stream: bool = True
) -> list[float]:
    out = []
    signer = binance.Signer(KEY, SECRET)
    async with tickwire.trade(
        "binance", credentials=signer, endpoints=[urls], transport=transport, private_stream=stream
    ) as tr:
        for _ in range(n):
            t0 = time.perf_counter()
            o = await tr.place_order(SYMBOL, "buy", "limit", qty, price)
            out.append((time.perf_counter() - t0) * 1e6)
            await tr.cancel_order(SYMBOL, client_id=o.client_id)
    return out


async def run(orders: int, rounds: int) -> dict[str, list[float]]:
    with sim_process(
        "--venue", "binance", "--rate", "0", "--depth", "20", "--profile", f"binance={PROFILE}"
    ) as urls:
        await control(urls, "/keys", {"venue": "binance", "args": {"key": KEY, "secret": SECRET}})
        await control(urls, "/fund", {"venue": "binance", "account": KEY, "balances": {"USDT": "1e9"}})
        ep = urls["binance"][0]
        price, qty = Decimal("50000.00"), Decimal("0.01")  # well below the simulated touch: it rests
        samples: dict[str, list[float]] = {
            "raw REST": [], "tickwire REST, no stream": [], "tickwire REST": [], "tickwire WS API": [],
        }  # fmt: skip
        for r in range(rounds):
            print(f"round {r + 1}/{rounds} …", file=sys.stderr, flush=True)
            samples["raw REST"] += await _raw_rest(ep, orders, price, qty)
            samples["tickwire REST, no stream"] += await _tickwire(ep, orders, price, qty, "rest", False)
            samples["tickwire REST"] += await _tickwire(ep, orders, price, qty, "rest")
            samples["tickwire WS API"] += await _tickwire(ep, orders, price, qty, "ws")
        return samples


def report(samples: dict[str, list[float]]) -> None:
    floor = pct(samples["raw REST"], 50)
    print(f"{'order round trip':<26} {'p50 µs':>9} {'p99 µs':>9} {'p50 / raw REST':>15}")
    for name, xs in samples.items():
        print(f"{name:<26} {pct(xs, 50):>9.1f} {pct(xs, 99):>9.1f} {pct(xs, 50) / floor:>14.2f}x")


def test_order_round_trip_smoke() -> None:
    samples = asyncio.run(run(20, 1))
    assert all(len(xs) == 20 for xs in samples.values())


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orders", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    report(tickwire.run(run(a.orders, a.rounds)))
