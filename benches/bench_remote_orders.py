"""Order round trip through the gateway against the local session, same simulator, same run: place →
answer in the caller's hands, for

- ``local``: ``tickwire.trade`` in this process, REST, private stream on (as the gateway's session);
- ``remote``: ``tickwire.remote.trade`` in this process → NATS → ``tickwire gateway`` in its own
  process (that same local session inside) → the venue, and the answer back;
- ``bus``: ``gateway_health()``, a request the gateway answers without the venue: the bus's share.

The simulator (Binance spot) and the gateway each run in their own process; one nats-server on
loopback. Each sample is one resting limit order placed (timed) and cancelled (untimed); rounds
alternate which path goes first; ratios are to ``local``.

    python benches/bench_remote_orders.py [--orders 300] [--rounds 3]

Under pytest it runs briefly as a smoke test.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import tickwire
import tickwire.remote
from tickwire.bench.report import Result, add_ratios, table
from tickwire.bus.server import cluster
from tickwire.sim.process import control, sim_process, url_process
from tickwire.venues import binance

STAGE = "order round trip, local session vs through the gateway (place → answer)"
SYMBOL = "BTCUSDT"
KEY, SECRET, ENV = "bench-remote-key", "bench-remote-secret", "TW_BENCH_REMOTE"
PROFILE = '{"order_limit_10s": 1000000, "weight_limit": 100000000}'
PRICE, QTY = Decimal("50000.00"), Decimal("0.01")
NAMES = {
    "local": "tickwire.trade, in process",
    "remote": "tickwire.remote.trade → NATS → gateway",
    "bus": "gateway request, no venue (health)",
}


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _config(path: Path, nats: list[str], endpoint: dict[str, Any]) -> Path:
    account = {"name": "bench", "venue": "binance", "env": ENV, "options": {"endpoints": [endpoint]}}
    path.write_bytes(orjson.dumps({"gateway": {"name": "bench", "nats": nats}, "account": [account]}))
    return path


async def _round(tr: Any, n: int, bus: bool = False) -> list[float]:
    out: list[float] = []
    for _ in range(n):
        if bus:
            t0 = time.perf_counter_ns()
            await tr.gateway_health()
            out.append(time.perf_counter_ns() - t0)
            continue
        t0 = time.perf_counter_ns()
        o = await tr.place_order(SYMBOL, "buy", "limit", QTY, PRICE)
        out.append(time.perf_counter_ns() - t0)
        await tr.cancel_order(SYMBOL, client_id=o.client_id)
    return out


async def measure(orders: int, rounds: int) -> list[Result]:
    samples: dict[str, list[float]] = {k: [] for k in NAMES}
    args = ("--venue", "binance", "--rate", "0", "--depth", "20", "--profile", f"binance={PROFILE}")
    os.environ[f"{ENV}_API_KEY"], os.environ[f"{ENV}_API_SECRET"] = KEY, SECRET
    with sim_process(*args) as urls, cluster(1) as nats, tempfile.TemporaryDirectory() as tmp:
        await control(urls, "/keys", {"venue": "binance", "args": {"key": KEY, "secret": SECRET}})
        await control(urls, "/fund", {"venue": "binance", "account": KEY, "balances": {"USDT": "1e9"}})
        ep = urls["binance"][0]
        cfg = _config(Path(tmp) / "gateway.json", nats.urls, ep)
        with url_process(["tickwire.cli", "gateway", "--config", str(cfg)], "tickwire gateway"):
            local_tr = tickwire.trade("binance", credentials=binance.Signer(KEY, SECRET), endpoints=[ep])
            remote_tr = tickwire.remote.trade(nats.urls, "binance", "bench", strategy="rb")
            async with local_tr as local, remote_tr as remote:
                paths = {"local": local, "remote": remote, "bus": remote}
                await _round(local, 3)  # warm both: connections, rules, first-call costs
                await _round(remote, 3)
                for r in range(rounds):
                    for k in list(NAMES)[::-1] if r % 2 else list(NAMES):
                        _progress(f"remote orders: round {r + 1}/{rounds}, {k}")
                        samples[k] += await _round(paths[k], orders, bus=k == "bus")
    rows = [Result.of(STAGE, k, NAMES[k], xs, stage_key="remote_orders") for k, xs in samples.items()]
    add_ratios(rows, "local")
    return rows


def test_remote_order_round_trip_smoke() -> None:
    rows = tickwire.run(measure(5, 1))
    assert {r.key for r in rows} == set(NAMES) and all(r.samples == 5 for r in rows)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orders", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    print(table(tickwire.run(measure(a.orders, a.rounds))))
