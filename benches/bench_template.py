"""In-process cost of one order: ``tmpl.send(price, qty)`` (an order template: filled, checked and signed
in one Rust call) against ``tr.place_order(...)`` for the same order, same run, rounds alternating.

The network is removed: the session's HTTP client hands each request's bytes to a stub that answers at
once with the venue's ``NEW`` answer for that client id (as the simulator would), so what is measured
is the library's own work. The stub is also the idle kept-alive connection the template's one-call
path (``OrderTemplate.fire``) writes on, and the run checks every template send took that path. Two
numbers per path:

- ``to wire``: from the call to the request bytes handed to the transport (checks, client id, tracking,
  budget, signing, the request built) — what stands between a tick and the order on the wire;
- ``whole call``: the same plus the answer read and applied to the tracker (the stub's own work, the
  same for both paths, included).

The session is started against the in-process simulator (rules, clock), which is then not used. (The
round trip against the simulator in its own process: ``tickwire bench --stages roundtrip``.)

    python benches/bench_template.py [--orders 20000] [--rounds 5]

Under pytest it runs briefly as a smoke test.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import re
import sys
import time
from decimal import Decimal
from typing import Any

import orjson
import tickwire
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.transport.http_conn import HttpResponse, Written
from tickwire.venues import binance

SYMBOL = "BTCUSDT"
KEY, SECRET = "bench-tmpl-key", "bench-tmpl-secret"
_CID = re.compile(rb"newClientOrderId=([^& ]+)")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


class Stub:
    """Stands in for ``HttpClient._exchange``: notes when the bytes arrived, answers ``NEW``."""

    def __init__(self, price: Decimal, qty: Decimal) -> None:
        self.at = 0.0
        self.oid = 0
        self.one_call = 0  # requests written by OrderTemplate.fire
        self.answer = {
            "symbol": SYMBOL, "orderId": 0, "clientOrderId": "", "transactTime": 1, "price": str(price),
            "origQty": str(qty), "executedQty": "0", "cummulativeQuoteQty": "0", "status": "NEW",
            "timeInForce": "GTC", "type": "LIMIT", "side": "BUY", "fills": [],
        }  # fmt: skip

    def respond(self, data: bytes) -> HttpResponse:
        m = _CID.search(data)
        assert m is not None
        self.oid += 1
        self.answer["orderId"], self.answer["clientOrderId"] = self.oid, m.group(1).decode()
        return HttpResponse(200, {}, orjson.dumps(self.answer))

    async def __call__(
        self, loop: Any, method: str, data: bytes, deadline: float, seconds: float, sent: Any = None,
        written: Any = None, gate: Any = None,
    ) -> HttpResponse:  # fmt: skip
        if written is not None:  # a template's: written in send() itself (write_raw below)
            return await written.fut  # type: ignore[no-any-return]
        if gate is not None:  # the halt check right before the write, as the client runs it
            gate()
        self.at = time.perf_counter()
        if sent is not None:
            sent()
        return self.respond(data)

    def write_raw(self, data: bytes) -> Written:
        """Stands in for ``HttpClient.write_raw``: the bytes "written" now, the answer ready."""
        self.write(data)
        self.one_call -= 1  # not the one-call path: written() below counts it back
        return self.written(None)

    # The one-call path (``OrderTemplate.fire``) writes on an idle connection's transport itself:
    # the stub is that connection (``idle``/``keep``/``written``) and its transport (``write``).

    def write(self, data: bytes) -> None:
        self.at = time.perf_counter()
        self.data = data

    @property
    def transport(self) -> Stub:
        return self

    def idle(self) -> Stub:
        return self

    def keep(self, conn: Any) -> None:
        pass

    def written(self, conn: Any) -> Written:
        self.one_call += 1
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(self.respond(self.data))
        return Written(None, fut, self.at)  # type: ignore[arg-type]


# The third: a template send with the risk gate's check skipped (the gate's cost, by difference).
NO_GATE = "tmpl.send, no gate"
PATHS = ("place_order", "tmpl.send", NO_GATE)


async def run(orders: int, rounds: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {
        f"{path} {kind}": [] for kind in ("to wire", "whole call") for path in PATHS
    }  # fmt: skip
    # Every answer leaves the order open: the venue's announced open-order limit (MAX_NUM_ORDERS,
    # which the session's risk gate holds) is set out of reach; the gate's checks still run.
    profiles = {"binance": {"max_open_orders": 10**9}}
    async with Simulator(["binance"], seed=7, rate=0, depth=20, profiles=profiles) as sim:
        sim.venue("binance").add_key(ApiKey(KEY, secret=SECRET.encode()))
        async with tickwire.trade(
            "binance", credentials=binance.Signer(KEY, SECRET), endpoints=sim.urls()["binance"],
            private_stream=False,
        ) as tr:  # fmt: skip
            r = tr.rules[SYMBOL]
            price, qty = r.tick_size * 5_000_000, max(r.min_qty, r.lot_size) * 10
            stub = Stub(price, qty)
            http: Any = tr.wire.http
            http._exchange = stub
            for name in ("write_raw", "idle", "keep", "written"):
                setattr(http, name, getattr(stub, name))
            tmpl = tr.template(SYMBOL, "buy")
            pm, qm = int(price.scaleb(tmpl.price_scale)), int(qty.scaleb(tmpl.qty_scale))
            # The venue's windows are not what is measured (the budget's work is: same limits, huge).
            big = [dataclasses.replace(lim, limit=10**12) for lim in tr.budget.limits.values()]
            tr.budget.set_limits(big, replace=True)

            async def slow() -> Any:
                return await tr.place_order(SYMBOL, "buy", "limit", qty, price)

            async def fast() -> Any:
                return await tmpl.send(pm, qm)

            for rnd in range(rounds):
                print(f"round {rnd + 1}/{rounds} …", file=sys.stderr, flush=True)
                for name, fn in (("place_order", slow), ("tmpl.send", fast), (NO_GATE, fast)):
                    # The template's one check of the risk gate skipped: what it costs a send.
                    tr.risk.active = name != NO_GATE
                    wire, whole = samples[f"{name} to wire"], samples[f"{name} whole call"]
                    stub.one_call = 0
                    for _ in range(orders):
                        t0 = time.perf_counter()
                        o = await fn()
                        t1 = time.perf_counter()
                        wire.append((stub.at - t0) * 1e6)
                        whole.append((t1 - t0) * 1e6)
                        assert o.status == "new"
                    # What is measured is the path named: the template's sends all took the one call.
                    assert stub.one_call == (orders if name != "place_order" else 0), stub.one_call
                    # A fresh tracker for the next round (no one asked for events(): nothing queued),
                    # reporting to the same gate (which still counts the last round's orders).
                    tr.tracker.__init__(on_order=tr._on_order, on_fill=tr._on_fill, on_forget=tr._forgotten)  # type: ignore[misc]
                    tr.tracker.exposure = tr.risk
    return samples


def report(samples: dict[str, list[float]]) -> None:
    print(f"{'one order':<28} {'p50 µs':>8} {'p99 µs':>8} {'p50 ratio':>10}")
    kinds = [k for k in ("to wire", "whole call") if f"place_order {k}" in samples]
    for kind in kinds:
        base = pct(samples[f"place_order {kind}"], 50)
        for name in PATHS:
            xs = samples[f"{name} {kind}"]
            print(
                f"{name + ' ' + kind:<28} {pct(xs, 50):>8.2f} {pct(xs, 99):>8.2f} {pct(xs, 50) / base:>9.2f}x"
            )


def test_template_smoke() -> None:
    samples = asyncio.run(run(50, 1))
    assert {len(xs) for xs in samples.values()} == {50}
    report(samples)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orders", type=int, default=20000, help="orders per path per round")
    ap.add_argument("--rounds", type=int, default=5, help="rounds, the paths alternating")
    args = ap.parse_args(argv)
    samples = tickwire.run(run(args.orders, args.rounds))
    report(samples)


if __name__ == "__main__":
    main()
