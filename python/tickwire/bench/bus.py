"""``tickwire bench --stages bus``: the NATS hop of a gateway (README "Scaling out").

A simulator process is the venue; a ``tickwire gateway`` process serves its Binance book on a
loopback nats-server; 1, 4 and 16 consumer processes (``bench/bus_consumer.py``) each time one
message from the gateway's stamp (taken in its ``on_book``) to their own callback. Rounds alternate
the two kinds on the same gateway, the same subject and so the same bytes:

- ``floor``: a bare nats-py subscription that reads the stamp — the engine's own floor;
- ``tickwire``: ``tickwire.remote.connect`` on its default engine (the extension's async-nats
  subscriber) — bus hop, decode and apply in Rust, ``on_book``;
- ``tickwire-nats-py``: the same on ``engine="nats-py"`` (a nats-py subscription).

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
KINDS = ("floor", "tickwire", "tickwire-nats-py")
NAMES = {
    "floor": "bare nats-py subscribe (floor)",
    "tickwire": "tickwire.remote on_book (async-nats in the extension)",
    "tickwire-nats-py": "tickwire.remote on_book (engine nats-py)",
}


def _cpu_ns(pid: int) -> int:
    """utime + stime of a process, from /proc (Linux; 0 where unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0


def _gateway_config(name: str, nats: str, endpoints: list[Any], **options: Any) -> bytes:
    """A gateway config (JSON, which ``tickwire gateway`` reads too) serving one book."""
    opts = {"endpoints": endpoints, **options}
    market = {"venue": VENUE, "symbols": [SYMBOL], "channels": ["book"], "options": opts}
    return orjson.dumps({"gateway": {"name": name, "nats": [nats], "heartbeat": 0.2}, "market": [market]})


class _Consumers:
    """``n`` consumer processes of one kind, started together and stopped together."""

    def __init__(self, kind: str, n: int, nats: str, base: int, gateway: str = "bench") -> None:
        self.kind = kind
        self.ids = [f"c{base + i}" for i in range(n)]
        self.procs = [
            subprocess.Popen(
                [sys.executable, "-m", "tickwire.bench.bus_consumer", kind, nats, i, VENUE, SYMBOL, gateway],
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
                raise RuntimeError(
                    f"a {self.kind} bench consumer exited before it was ready (timed out syncing?)"
                )

    async def collect(self, nc: Any, stop: bool = False) -> list[dict[str, Any]]:
        got = []
        for i in self.ids:
            try:
                msg = await nc.request(f"tw.bench.{i}.report", b"stop" if stop else b"", timeout=30)
            except Exception as e:  # a consumer that died: its samples are lost, the run goes on
                raise RuntimeError(f"bench consumer {i} ({self.kind}) did not report: {e!r}") from e
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
            cfg.write_bytes(_gateway_config("bench", nats.urls[0], urls[VENUE]))
            argv = ["tickwire.cli", "gateway", "--config", str(cfg)]
            with url_process(argv, "tickwire gateway") as gw:
                gw_pid = int(gw["pid"])
                nc = await connect(nats.urls[0], name="tickwire-bench-driver")
                published_now = _Published(nc, "bench")
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
    fan, fan_delivered = await _fanout(quick, progress, rounds)
    delivered_by: dict[tuple[str, str], int] = {}
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
            name = NAMES[kind]
            rows.append(
                Result.of(f"{STAGE}, {n} consumer{'s' if n > 1 else ''}", kind, name, samples[key],
                          stage_key=f"bus{n}", extra=extra)
            )  # fmt: skip
            delivered_by[(f"bus{n}", kind)] = delivered[key]
    rows += fan
    delivered_by.update(fan_delivered)
    ratios(rows, delivered_by)
    return rows


# Fewer samples than this share of a row's messages and its samples are not per message.
PER_MESSAGE = 0.99


def ratios(rows: list[Result], delivered: dict[tuple[str, str], int]) -> None:
    """Ratios between the rows that sampled every message they were delivered (``delivered`` by
    (stage key, kind)). A tickwire kind coalescing (``on_book`` once per wake-up, for the last of the
    messages that came together) samples only the newest message of each batch, the one that queued
    least, where the floor samples each: its latency is not the same quantity, so it gets no ratio
    (to it or from it) and a note with how many messages a sample stood for."""
    comparable = []
    for r in rows:
        d = delivered.get((r.stage_key, r.key), 0)
        if r.samples and d and r.samples < PER_MESSAGE * d:
            r.extra["messages per sample"] = d / r.samples
            coalesced = f"{r.samples} samples for {d} messages: the newest of each batch, no ratio"
            r.note = "; ".join(x for x in (r.note, coalesced) if x)
        else:
            comparable.append(r)
    add_ratios(comparable, "floor", "tickwire-nats-py")


FANOUT = "gateway fan-out, 4 consumers, sustained (a message per venue update, sent as fast as it can)"


async def _fanout(
    quick: bool, progress: Progress, rounds: int
) -> tuple[list[Result], dict[tuple[str, str], int]]:
    """4 consumer processes of each kind behind a gateway fed as fast as the bench venue can send:
    messages/s delivered to all of them together, CPU per message in each and in the gateway; and
    the messages each row's kind was delivered, by (stage key, kind)."""
    from tickwire.bench.tick_order import venue_process
    from tickwire.bus.client import connect
    from tickwire.bus.server import Cluster

    n, frames = 4, (2_000 if quick else 10_000)
    stats = {k: {"delivered": 0, "seconds": 0.0, "cpu": 0, "gw_cpu": 0, "published": 0} for k in KINDS}
    lat: dict[str, list[float]] = {k: [] for k in KINDS}
    nats = Cluster(1).start()
    try:
        with venue_process() as urls, tempfile.TemporaryDirectory() as tmp:
            cfg = Path(tmp) / "gateway.json"
            cfg.write_bytes(_gateway_config("blast", nats.urls[0], [urls], coalesce=False))
            with url_process(["tickwire.cli", "gateway", "--config", str(cfg)], "tickwire gateway") as gw:
                gw_pid = int(gw["pid"])
                nc = await connect(nats.urls[0], name="tickwire-bench-driver")
                published = _Published(nc, "blast")
                await published.start()
                try:
                    await _warm_up(urls["rest"], published)
                    base = 100
                    for r in range(rounds):
                        for kind in KINDS if r % 2 == 0 else KINDS[::-1]:
                            progress(f"bus: fan-out round {r + 1}/{rounds}, {n} x {kind}")
                            # A blast may have cost the gateway its sync, which only a diff after its
                            # snapshot restores: consumers could not sync before the next blast.
                            await _warm_up(urls["rest"], published)
                            group = _Consumers(kind, n, nats.urls[0], base, gateway="blast")
                            base += n
                            try:
                                # Ticks keep coming while they start: a book syncs on a diff after a snapshot.
                                await _while_ticking(group.ready(), urls["rest"])
                                await group.collect(nc)
                                await asyncio.sleep(0.3)  # a heartbeat with the count before
                                c0, p0 = _cpu_ns(gw_pid), published.count
                                sent = await _post(
                                    urls["rest"] + "/bench/blast", {"symbol": SYMBOL, "frames": frames}
                                )
                                await _quiet(published)  # the gateway published all of it
                                reports = await group.collect(nc, stop=True)
                                st = stats[kind]
                                last = max(rep["last_ns"] for rep in reports)
                                st["seconds"] += (last - sent["t0_ns"]) / 1e9 if last else 0.0
                                st["gw_cpu"] += _cpu_ns(gw_pid) - c0
                                st["published"] += published.count - p0
                                for rep in reports:
                                    st["delivered"] += rep["messages"]
                                    st["cpu"] += rep["cpu_ns"]
                                    lat[kind] += rep["ns"]
                            finally:
                                group.close()
                finally:
                    await nc.close()
    finally:
        nats.stop()
    rows = []
    for kind in KINDS:
        st = stats[kind]
        d = st["delivered"]
        extra = {
            "msgs/s delivered (all consumers)": d / st["seconds"] if st["seconds"] else 0.0,
            "consumer CPU µs/msg": st["cpu"] / d / 1000 if d else 0.0,
            "gateway CPU µs/msg published": st["gw_cpu"] / st["published"] / 1000 if st["published"] else 0.0,
            "not delivered": float(max(st["published"] * n - d, 0)),
        }
        name = NAMES[kind]
        rows.append(Result.of(FANOUT, kind, name, lat[kind], stage_key="bus_fanout", extra=extra,
                              note="latency here includes queueing behind the burst"))  # fmt: skip
    return rows, {("bus_fanout", k): int(stats[k]["delivered"]) for k in KINDS}


async def _quiet(published: _Published, beats: int = 3, timeout: float = 60.0) -> None:
    """Until ``beats`` heartbeats in a row report the same published count: the gateway has worked
    through what it was sent (a busy gateway's beats come late, so time alone would not say)."""
    end = _now() + timeout
    count, seen = published.count, published.beats
    while _now() < end:
        await asyncio.sleep(0.05)
        if published.count != count:
            count, seen = published.count, published.beats
        elif published.beats - seen >= beats:
            return


async def _while_ticking(wait: Any, rest: str) -> None:
    """Awaits ``wait`` while the bench venue sends a few ticks every 0.1 s."""
    task = asyncio.ensure_future(wait)
    try:
        while not task.done():
            with contextlib.suppress(OSError):
                await _post(rest + "/bench/blast", {"symbol": SYMBOL, "frames": 3})
            await asyncio.wait([task], timeout=0.1)
        await task
    finally:
        task.cancel()


async def _warm_up(rest: str, published: _Published, timeout: float = 20.0) -> None:
    """Until the gateway has subscribed and its book is in sync (a diff after the snapshot)."""
    end = _now() + timeout
    while _now() < end:
        with contextlib.suppress(OSError):
            await _post(rest + "/bench/blast", {"symbol": SYMBOL, "frames": 5})
            if published.synced:
                return
        await asyncio.sleep(0.1)
    raise TimeoutError("the fan-out gateway never synced its book")


async def _post(url: str, body: Any) -> Any:
    import urllib.request

    def call() -> Any:
        req = urllib.request.Request(url, data=orjson.dumps(body), method="POST")
        with urllib.request.urlopen(req, timeout=120) as r:
            return orjson.loads(r.read())

    return await asyncio.to_thread(call)


def _now() -> float:
    import time

    return time.monotonic()


class _Published:
    """A gateway's published-message count, from its heartbeats."""

    def __init__(self, nc: Any, gateway: str) -> None:
        self.nc = nc
        self.gateway = gateway
        self.count = 0
        self.beats = 0
        self.synced = False

    async def start(self) -> None:
        from tickwire.bus import subjects

        async def beat(msg: Any) -> None:
            market = orjson.loads(msg.data).get("markets", {}).get(VENUE, {})
            self.count = int(market.get("published", self.count))
            self.synced = all(market.get("synced", {"": False}).values())
            self.beats += 1

        await self.nc.subscribe(subjects.heartbeat(self.gateway), cb=beat)


def measure(quick: bool, progress: Progress) -> list[Result]:
    from tickwire.loop import run

    out: list[Result] = run(measure_async(quick, progress))
    return out
