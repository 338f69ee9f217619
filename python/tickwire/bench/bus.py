"""``tickwire bench --stages bus``: the NATS hop of a gateway (README "Scaling out").

A simulator process is the venue; a ``tickwire gateway`` process serves its Binance book on a
loopback nats-server; 1, 4 and 16 consumer processes (``bench/bus_consumer.py``) each time one
message from the gateway's stamp (taken in its ``on_book``) to their own callback. Rounds alternate
the two kinds on the same gateway, the same subject and so the same bytes:

- ``floor``: a bare nats-py subscription that reads the stamp — the engine's own floor;
- ``tickwire``: ``tickwire.remote.connect`` — bus hop, decode and apply in Rust, ``on_book``.

Also reported: messages/s delivered to all consumers together and CPU µs per message, in each
consumer and in the gateway (its process CPU over the messages it published).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

from tickwire.bench.report import Progress, Result, add_ratios
from tickwire.sim.process import sim_process, url_process

STAGE = "gateway → remote callback (bus hop)"
VENUE, SYMBOL = "binance", "BTCUSDT"
KINDS = ("floor", "tickwire")


def _cpu_ns(pid: int) -> int:
    """utime + stime of a process, from /proc (Linux; 0 where unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0


def _gateway_config(nats: str, urls: dict[str, Any]) -> bytes:
    """A gateway config (JSON, which ``tickwire gateway`` reads too) serving the simulator's book."""
    return orjson.dumps(
        {
            "gateway": {"name": "bench", "nats": [nats], "heartbeat": 0.2},
            "market": [
                {
                    "venue": VENUE,
                    "symbols": [SYMBOL],
                    "channels": ["book"],
                    "options": {"endpoints": urls[VENUE]},
                }
            ],
        }
    )


class _Consumers:
    """``n`` consumer processes of one kind, started together and stopped together."""

    def __init__(self, kind: str, n: int, nats: str, base: int) -> None:
        self.kind = kind
        self.ids = [f"c{base + i}" for i in range(n)]
        self.procs = [
            subprocess.Popen(
                [sys.executable, "-m", "tickwire.bench.bus_consumer", kind, nats, i, VENUE, SYMBOL],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            for i in self.ids
        ]

    async def ready(self) -> None:
        for p in self.procs:
            assert p.stdout is not None
            line = await asyncio.to_thread(p.stdout.readline)
            if not line:
                raise RuntimeError(f"a {self.kind} bench consumer exited before it was ready")

    async def collect(self, nc: Any, stop: bool = False) -> list[dict[str, Any]]:
        got = []
        for i in self.ids:
            msg = await nc.request(f"tw.bench.{i}.report", b"stop" if stop else b"", timeout=30)
            got.append(orjson.loads(msg.data))
        return got

    def close(self) -> None:
        for p in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(5)
            if p.poll() is None:
                p.kill()
                p.wait()


async def measure_async(
    quick: bool, progress: Progress, *, rounds: int | None = None, rate: float | None = None
) -> list[Result]:
    from tickwire.bus.client import connect
    from tickwire.bus.server import Cluster

    fanouts = (1, 4) if quick else (1, 4, 16)
    rounds = rounds or (1 if quick else 3)
    window = 1.0 if quick else 3.0
    rate = rate or 500.0
    samples: dict[tuple[str, int], list[float]] = {(k, n): [] for k in KINDS for n in fanouts}
    delivered: dict[tuple[str, int], int] = dict.fromkeys(samples, 0)
    cpu: dict[tuple[str, int], int] = dict.fromkeys(samples, 0)
    elapsed: dict[tuple[str, int], float] = dict.fromkeys(samples, 0.0)
    gw_cpu: dict[tuple[str, int], int] = dict.fromkeys(samples, 0)
    published: dict[tuple[str, int], int] = dict.fromkeys(samples, 0)
    nats = Cluster(1).start()
    try:
        sim_args = ("--venue", VENUE, "--rate", str(rate), "--symbols", f"{VENUE}={SYMBOL}", "--depth", "20")
        with sim_process(*sim_args) as urls, tempfile.TemporaryDirectory() as tmp:
            cfg = Path(tmp) / "gateway.json"
            cfg.write_bytes(_gateway_config(nats.urls[0], urls))
            argv = ["tickwire.cli", "gateway", "--config", str(cfg)]
            with url_process(argv, "tickwire gateway") as gw:
                gw_pid = int(gw["pid"])
                nc = await connect(nats.urls[0], name="tickwire-bench-driver")
                published_now = _Published(nc)
                await published_now.start()
                base = 0
                try:
                    for r in range(rounds):
                        for n in fanouts:
                            kinds = KINDS if r % 2 == 0 else KINDS[::-1]
                            for kind in kinds:
                                progress(f"bus: round {r + 1}/{rounds}, {n} x {kind}")
                                group = _Consumers(kind, n, nats.urls[0], base)
                                base += n
                                try:
                                    await group.ready()
                                    await group.collect(nc)  # drop the warm-up
                                    c0, p0, t0 = _cpu_ns(gw_pid), published_now.count, _now()
                                    await asyncio.sleep(window)
                                    reports = await group.collect(nc, stop=True)
                                    key = (kind, n)
                                    elapsed[key] += _now() - t0
                                    gw_cpu[key] += _cpu_ns(gw_pid) - c0
                                    published[key] += published_now.count - p0
                                    for rep in reports:
                                        samples[key] += rep["ns"]
                                        delivered[key] += rep["messages"]
                                        cpu[key] += rep["cpu_ns"]
                                finally:
                                    group.close()
                finally:
                    await nc.close()
    finally:
        nats.stop()
    rows: list[Result] = []
    for n in fanouts:
        for kind in KINDS:
            key = (kind, n)
            extra = {
                "msgs/s delivered (all consumers)": delivered[key] / elapsed[key] if elapsed[key] else 0.0,
                "consumer CPU µs/msg": cpu[key] / delivered[key] / 1000 if delivered[key] else 0.0,
                "gateway CPU µs/msg published": gw_cpu[key] / published[key] / 1000
                if published[key]
                else 0.0,
            }
            name = "bare nats-py subscribe (floor)" if kind == "floor" else "tickwire.remote on_book"
            rows.append(
                Result.of(f"{STAGE}, {n} consumer{'s' if n > 1 else ''}", kind, name, samples[key],
                          stage_key=f"bus{n}", extra=extra)
            )  # fmt: skip
    add_ratios(rows, "floor")
    return rows


def _now() -> float:
    import time

    return time.monotonic()


class _Published:
    """The gateway's published-message count, from its heartbeats."""

    def __init__(self, nc: Any) -> None:
        self.nc = nc
        self.count = 0

    async def start(self) -> None:
        from tickwire.bus import subjects

        async def beat(msg: Any) -> None:
            body = orjson.loads(msg.data)
            self.count = int(body.get("markets", {}).get(VENUE, {}).get("published", self.count))

        await self.nc.subscribe(subjects.heartbeat("bench"), cb=beat)


def measure(quick: bool, progress: Progress) -> list[Result]:
    from tickwire.loop import run

    out: list[Result] = run(measure_async(quick, progress))
    return out
