"""Several orders at once: ``tr.place_orders(orders)`` (the venue's batch request: OKX ``batch-orders``,
Binance USDⓈ-M ``batchOrders``) against the same orders each by ``tr.place_order`` all at once (the
peer: one request per order, as a bot without batches sends them), against the in-process simulator,
rounds alternating. Reported per ladder of ``--orders`` orders: the time until every order is
answered and applied, and the requests the venue received; the ratio is batch ÷ one by one. Each
round's orders are cancelled (untimed) before the next, and rounds are spaced so that neither path
waits for the rate budget the other used.

    python benches/bench_batch.py [--orders 10] [--rounds 5]

Under pytest it runs briefly as a smoke test.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from decimal import ROUND_CEILING, Decimal
from typing import Any

import tickwire
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.trading.orders import Order
from tickwire.venues import binance, okx

SYMBOL = {"okx": "BTC-USDT", "binance-usdm": "BTCUSDT"}
BATCH_OP = {"okx": "POST /api/v5/trade/batch-orders", "binance-usdm": "POST /fapi/v1/batchOrders"}
# OKX counts single places 60 per 2 s per instrument, and each answer's status query 60 more.
SPACING_S = 2.1


def _account(venue: str) -> tuple[Any, Any]:
    """(signer, what registers its key on the simulator's venue)."""
    if venue == "okx":
        return okx.Signer("bb-key", "bb-secret", "bb pass"), lambda v: v.add_key(
            "bb-key", "bb-secret", "bb pass"
        )
    return binance.Signer("bb-key", "bb-secret"), lambda v: v.add_key(ApiKey("bb-key", secret=b"bb-secret"))


def _ladder(tr: Any, sim: Simulator, venue: str, n: int) -> list[Order]:
    symbol = SYMBOL[venue]
    r = tr.rules[symbol]
    bid = sim.book(venue, symbol).bids[0][0]
    out = []
    for i in range(n):
        price = bid - (30 + i) * r.tick_size
        lots = ((r.min_notional or Decimal(0)) / price / r.lot_size).to_integral_value(rounding=ROUND_CEILING)
        out.append(tr.prepare(symbol, "buy", "limit", max(r.min_qty, (lots + 1) * r.lot_size), price))
    return out


async def measure(venue: str, orders: int, rounds: int, spacing_s: float = SPACING_S) -> dict[str, Any]:
    """Per path, the seconds each ladder took and the requests it made; every order checked resting
    at the simulator."""
    signer, register = _account(venue)
    times: dict[str, list[float]] = {"batch": [], "one by one": []}
    requests: dict[str, list[int]] = {"batch": [], "one by one": []}
    async with Simulator([venue], seed=5, rate=0, depth=20) as sim:
        register(sim.venue(venue))
        sim.fund(venue, "bb-key", {"USDT": "100000000", "BTC": "1000"})
        ep = sim.endpoint(venue, 0)
        async with tickwire.trade(venue, credentials=signer, endpoints=sim.urls()[venue]) as tr:
            for _ in range(rounds):
                for path in ("batch", "one by one"):
                    ladder = _ladder(tr, sim, venue, orders)
                    before = len(ep.exchanges)
                    t0 = time.perf_counter()
                    if path == "batch":
                        got: list[Any] = await tr.place_orders(ladder)
                    else:
                        got = list(await asyncio.gather(*(tr.place_order(
                            o.symbol, o.side, o.type, o.qty, o.price, client_id=o.client_id
                        ) for o in ladder)))  # fmt: skip
                    times[path].append(time.perf_counter() - t0)
                    requests[path].append(len(ep.exchanges) - before)
                    engine = sim.venue(venue).engine
                    resting = {o.client_id for o in engine.orders.values() if o.open}
                    assert all(isinstance(r, Order) for r in got), got
                    assert {o.client_id for o in ladder} <= resting, "an order is not resting at the venue"
                    await tr.cancel_all(SYMBOL[venue])
                    await asyncio.sleep(spacing_s)
    return {"times": times, "requests": requests}


def report(venue: str, orders: int, got: dict[str, Any]) -> str:
    med = {p: statistics.median(t) * 1e3 for p, t in got["times"].items()}
    reqs = {p: statistics.median(r) for p, r in got["requests"].items()}
    lines = [f"{venue}: a ladder of {orders} orders, p50 ms until every order is answered and applied"]
    for p in ("batch", "one by one"):
        lines.append(f"  {p:<12} {med[p]:8.2f} ms   requests at the venue {reqs[p]:.0f}")
    lines.append(f"  ratio batch / one by one: {med['batch'] / med['one by one']:.2f}x")
    return "\n".join(lines)


def test_batch_smoke() -> None:
    for venue in SYMBOL:
        got = tickwire.run(measure(venue, 3, 1, spacing_s=0.0))
        assert all(len(t) == 1 for t in got["times"].values())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orders", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args(argv)
    for venue in SYMBOL:
        print(report(venue, a.orders, tickwire.run(measure(venue, a.orders, a.rounds))), flush=True)


if __name__ == "__main__":
    main()
